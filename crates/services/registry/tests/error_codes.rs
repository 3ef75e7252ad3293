//! Every error a service can raise is one of its model's errors (or one of AWS's common
//! errors), converted with the fault the model gives it; codes built from literals are listed.

#![allow(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    reason = "test code, not the request path"
)]

use rampart_services::{
    accessanalyzer::AnalyzerError,
    cloudtrail::CloudTrailError,
    config::ConfigError,
    detective::DetectiveError,
    elbv2::ElbError,
    error::{not_implemented, ServiceError, LITERAL_CODES},
    events::EventsError,
    guardduty::GuardDutyError,
    iam::common::IamError,
    kms::error::KmsError,
    organizations::common::OrgError,
    organizations::root_access::RootAccessError,
    s3::S3Error,
    s3control::S3ControlError,
    secretsmanager::SmError,
    securityhub::SecurityHubError,
    shield::ShieldError,
    sts::StsError,
    wafv2::WafError,
};

/// Every service enum: its model, its codes, and one conversion of every variant.
fn enums() -> Vec<(&'static str, &'static [&'static str], Vec<ServiceError>)> {
    fn converted<E: Into<ServiceError>>(all: Vec<E>) -> Vec<ServiceError> {
        all.into_iter().map(Into::into).collect()
    }
    vec![
        (
            AnalyzerError::SERVICE,
            AnalyzerError::CODES,
            converted(AnalyzerError::every_variant()),
        ),
        (
            ConfigError::SERVICE,
            ConfigError::CODES,
            converted(ConfigError::every_variant()),
        ),
        (
            KmsError::SERVICE,
            KmsError::CODES,
            converted(KmsError::every_variant()),
        ),
        (
            IamError::SERVICE,
            IamError::CODES,
            converted(IamError::every_variant()),
        ),
        (
            OrgError::SERVICE,
            OrgError::CODES,
            converted(OrgError::every_variant()),
        ),
        (
            RootAccessError::SERVICE,
            RootAccessError::CODES,
            converted(RootAccessError::every_variant()),
        ),
        (
            StsError::SERVICE,
            StsError::CODES,
            converted(StsError::every_variant()),
        ),
        (
            CloudTrailError::SERVICE,
            CloudTrailError::CODES,
            converted(CloudTrailError::every_variant()),
        ),
        (
            SmError::SERVICE,
            SmError::CODES,
            converted(SmError::every_variant()),
        ),
        (
            S3Error::SERVICE,
            S3Error::CODES,
            converted(S3Error::every_variant()),
        ),
        (
            S3ControlError::SERVICE,
            S3ControlError::CODES,
            converted(S3ControlError::every_variant()),
        ),
        (
            EventsError::SERVICE,
            EventsError::CODES,
            converted(EventsError::every_variant()),
        ),
        (
            DetectiveError::SERVICE,
            DetectiveError::CODES,
            converted(DetectiveError::every_variant()),
        ),
        (
            GuardDutyError::SERVICE,
            GuardDutyError::CODES,
            converted(GuardDutyError::every_variant()),
        ),
        (
            SecurityHubError::SERVICE,
            SecurityHubError::CODES,
            converted(SecurityHubError::every_variant()),
        ),
        (
            ElbError::SERVICE,
            ElbError::CODES,
            converted(ElbError::every_variant()),
        ),
        (
            WafError::SERVICE,
            WafError::CODES,
            converted(WafError::every_variant()),
        ),
        (
            ShieldError::SERVICE,
            ShieldError::CODES,
            converted(ShieldError::every_variant()),
        ),
    ]
}

#[test]
fn every_enum_code_is_a_model_or_common_error_with_the_models_fault() {
    let mut wrong = Vec::new();
    for (service, codes, errors) in enums() {
        let model = rampart_model::service(service).unwrap();
        let emitted: Vec<&str> = errors.iter().map(|e| e.code).collect();
        assert_eq!(emitted, codes, "{service}: CODES and code() disagree");
        for e in &errors {
            match model.error_status(e.code) {
                None => wrong.push(format!(
                    "{service}: {} is neither in the model nor a common error",
                    e.code
                )),
                Some((status, fault)) if fault != e.sender_fault => wrong.push(format!(
                    "{service}: {} converts with sender_fault {} but the model says {status}/{fault}",
                    e.code, e.sender_fault
                )),
                Some(_) => {}
            }
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn literal_codes_are_common_errors_with_their_fault() {
    let built = [
        ServiceError::internal(),
        ServiceError::validation("m"),
        not_implemented("iam", "CreateUser"),
        ServiceError::sender("InvalidClientTokenId", "m"),
    ];
    for e in &built {
        assert!(LITERAL_CODES.contains(&e.code), "{} is not listed", e.code);
        assert_eq!(
            rampart_model::default_status(e.code).map(|(_, fault)| fault),
            Some(e.sender_fault),
            "{}",
            e.code
        );
    }
    for code in LITERAL_CODES {
        assert!(rampart_model::default_status(code).is_some(), "{code}");
    }
}

#[test]
fn conversions_keep_code_message_fault_and_reason() {
    let e = ServiceError::from(KmsError::NotFoundException("no key".into()));
    assert_eq!(
        (e.code, e.message.as_str()),
        ("NotFoundException", "no key")
    );
    assert!(e.sender_fault && e.reason.is_none());
    assert!(!ServiceError::from(KmsError::KMSInternalException("x".into())).sender_fault);
    let e = ServiceError::from(OrgError::invalid("INPUT_REQUIRED", "You must specify X."));
    assert_eq!(
        (e.code, e.message.as_str(), e.reason),
        (
            "InvalidInputException",
            "You must specify X.",
            Some("INPUT_REQUIRED")
        )
    );
    let e = ServiceError::from(OrgError::constraint("ACCOUNT_NUMBER_LIMIT_EXCEEDED", "m"));
    assert_eq!(e.reason, Some("ACCOUNT_NUMBER_LIMIT_EXCEEDED"));
    let e = ServiceError::from(OrgError::HandshakeConstraintViolationException(
        "m".into(),
        "ALREADY_IN_AN_ORGANIZATION",
    ));
    assert_eq!(e.reason, Some("ALREADY_IN_AN_ORGANIZATION"));
    let e = ServiceError::from(OrgError::PolicyNotFoundException);
    assert_eq!(
        (e.message.as_str(), e.reason),
        (
            "We can't find a policy with the PolicyId that you specified.",
            None
        )
    );
    let e = ServiceError::from(CloudTrailError::InvalidEventCategoryException("x".into()));
    assert_eq!(e.message, "Invalid EventCategory: x");
}
