//! The identity and key services (IAM, STS, KMS, Organizations) answer every operation their
//! models list: an operation the registry does not find answers `NotImplemented` (501) on the
//! request path, so this test walks each generated operation table and fails for any such
//! operation that is not on the short list below, each entry with the reason Rampart cannot
//! serve it. A new operation in a regenerated model fails here until it is built or listed.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use rampart_services::Registry;

const PARTNER: &str = "AWS Partner delegation: partner onboarding and SNS, which Rampart has not";

/// Operations these services model but Rampart does not serve, each with its reason.
const NOT_SERVED: &[(&str, &str, &str)] = &[
    // IAM temporary delegation: AWS documents these as "not available for general use", for
    // AWS Partners after AWS's partner onboarding, notifying through an SNS topic; Rampart
    // has neither a partner registry nor SNS.
    ("iam", "CreateDelegationRequest", PARTNER),
    ("iam", "GetDelegationRequest", PARTNER),
    ("iam", "ListDelegationRequests", PARTNER),
    ("iam", "AcceptDelegationRequest", PARTNER),
    ("iam", "AssociateDelegationRequest", PARTNER),
    ("iam", "RejectDelegationRequest", PARTNER),
    ("iam", "UpdateDelegationRequest", PARTNER),
    ("iam", "SendDelegationToken", PARTNER),
    ("sts", "GetDelegatedAccessToken", PARTNER),
    // A prose summary of a role's or policy's permissions, written by AWS's generative model
    // (`SummaryState` tracks its generation); Rampart has no such model to write it.
    (
        "iam",
        "GetHumanReadableSummary",
        "the summary is written by AWS's generative model",
    ),
    // Billing transfer between organizations: AWS Billing's invoicing responsibility.
    (
        "organizations",
        "InviteOrganizationToTransferResponsibility",
        "AWS Billing transfer",
    ),
    (
        "organizations",
        "DescribeResponsibilityTransfer",
        "AWS Billing transfer",
    ),
    (
        "organizations",
        "ListInboundResponsibilityTransfers",
        "AWS Billing transfer",
    ),
    (
        "organizations",
        "ListOutboundResponsibilityTransfers",
        "AWS Billing transfer",
    ),
    (
        "organizations",
        "TerminateResponsibilityTransfer",
        "AWS Billing transfer",
    ),
    (
        "organizations",
        "UpdateResponsibilityTransfer",
        "AWS Billing transfer",
    ),
];

const SERVICES: &[&str] = &["iam", "sts", "kms", "organizations"];

#[test]
fn every_modelled_operation_of_the_identity_and_key_services_is_served_or_explained() {
    let mut unexplained = Vec::new();
    for service in SERVICES {
        let model = rampart_model::service(service).expect("modelled service");
        for op in model.operations {
            let listed = NOT_SERVED
                .iter()
                .any(|(s, name, _)| s == service && *name == op.name);
            if Registry.lookup(service, op.name).is_none() && !listed {
                unexplained.push(format!("{service}:{}", op.name));
            }
        }
    }
    assert!(
        unexplained.is_empty(),
        "answer NotImplemented without a reason: {unexplained:?}"
    );
}

#[test]
fn the_list_names_only_modelled_operations_that_are_still_not_served() {
    for (service, name, reason) in NOT_SERVED {
        assert!(SERVICES.contains(service), "{service}");
        let model = rampart_model::service(service).unwrap();
        assert!(
            model.operation(name).is_some(),
            "{service}:{name} is not modelled"
        );
        assert!(
            Registry.lookup(service, name).is_none(),
            "{service}:{name} is served now: take it off the list"
        );
        assert!(!reason.is_empty());
    }
}
