//! The values of the Action and Resource elements: action names against the catalogue, ARN
//! fields.

use rampart_policy::wildcard::Pattern;

use super::catalog;
use super::checker::{at, key, val, Checker, Target};
// The policy engine's own grammar lists.
use super::finding::{FindingType, Step};
use super::json::{Kind, Member, Span};
use super::variables::variables;
use rampart_policy::iam_grammar::PARTITIONS;

/// What an IAM resource starts with.
const IAM_TYPES: [&str; 15] = [
    "root",
    "user/",
    "federated-user/",
    "role/",
    "group/",
    "instance-profile/",
    "mfa/",
    "server-certificate/",
    "policy/",
    "sms-mfa/",
    "saml-provider/",
    "oidc-provider/",
    "report/",
    "access-report/",
    "assumed-role/",
];
/// S3 resource types whose ARNs carry a Region and an account.
const S3_REGIONAL: [&str; 6] = [
    "accesspoint/",
    "job/",
    "storage-lens/",
    "storage-lens-group/",
    "access-grants/",
    "async-request/",
];

fn wild(s: &str) -> bool {
    s.contains('*') || s.contains('?') || s.contains("${")
}

/// The one service whose actions and resources a resource type's policy may name.
fn resource_type_service(rt: Option<&str>) -> Option<&'static str> {
    Some(match rt? {
        "AWS::S3::Bucket" | "AWS::S3::AccessPoint" | "AWS::S3::MultiRegionAccessPoint" => "s3",
        "AWS::S3ObjectLambda::AccessPoint" => "s3-object-lambda",
        "AWS::IAM::AssumeRolePolicyDocument" => "sts",
        "AWS::DynamoDB::Table" => "dynamodb",
        _ => return None,
    })
}

/// The Action or NotAction element `m` of the statement at `path`.
pub fn actions(c: &mut Checker, m: &Member, path: &[Step], allow: Option<bool>) {
    let p = at(path, [val(&m.key)]);
    let negated = m.key == "NotAction";
    if c.target == Target::Rcp && negated {
        c.error(
            "RCP_SYNTAX_ERROR_NOTACTION",
            "Resource control policies do not support the NotAction element. Use Action.".into(),
            at(path, [key(&m.key)]),
            m.key_span,
        );
    }
    if c.target == Target::Scp && negated && allow == Some(true) {
        c.error(
            "SCP_SYNTAX_ERROR_ALLOW_NOTACTION",
            "Allow statements of service control policies do not support NotAction. Use Action."
                .into(),
            at(path, [key(&m.key)]),
            m.key_span,
        );
    }
    let Some(list) = c.strings(&m.value, &p) else {
        return;
    };
    if list.is_empty() && matches!(m.value.kind, Kind::Arr(_)) && !negated {
        c.add(
            FindingType::Suggestion,
            "EMPTY_ARRAY_ACTION",
            "This statement includes no actions and does not affect the policy. Specify actions."
                .into(),
            p,
            m.value.span,
        );
        return;
    }
    for (a, span, p) in list {
        action(c, a, span, p);
    }
}

fn action(c: &mut Checker, a: &str, span: Span, p: Vec<Step>) {
    if a.contains("${") {
        return unsupported_variable(c, "Action", span, p);
    }
    if a == "*" {
        return;
    }
    let mut parts = a.split(':');
    let vendor = parts.next().unwrap_or_default();
    let name = parts.next();
    let Some(name) = name.filter(|n| !n.is_empty() && parts.next().is_none()) else {
        return c.error(
            "INVALID_ACTION",
            format!("The action {a} does not exist. Use the form service:action."),
            p,
            span,
        );
    };
    let vendor_ok = |ch: char| ch.is_ascii_alphanumeric() || matches!(ch, '-' | '.' | '*' | '?');
    if vendor.is_empty() || !vendor.chars().all(vendor_ok) {
        return c.error(
            "INVALID_SERVICE_IN_ACTION",
            format!("The service {vendor} specified in the action {a} does not exist."),
            p,
            span,
        );
    }
    if c.target == Target::Scp {
        let star_inside = name.trim_end_matches('*').contains('*');
        if wild(vendor) || star_inside || name.contains('?') {
            c.error(
                "SCP_SYNTAX_ERROR_ACTION_WILDCARD",
                format!("Service control policies support a wildcard (*) only at the end of an action: {a}."),
                p.clone(),
                span,
            );
        }
    }
    if wild(vendor) {
        return c.add(
            FindingType::Suggestion,
            "WILDCARD_IN_SERVICE_NAME",
            format!("Avoid using wildcards (*, ?) in the service name of the action {a}: it may grant access to services you do not intend."),
            p,
            span,
        );
    }
    let vendor_lc = vendor.to_ascii_lowercase();
    if let Some(svc) = resource_type_service(c.resource_type) {
        if vendor_lc != svc {
            c.error(
                "UNSUPPORTED_ACTION_IN_POLICY",
                format!("The action {a} is not supported for the resource-based policy of {}: use {svc} actions.", c.resource_type.unwrap_or_default()),
                p.clone(),
                span,
            );
            return;
        }
    }
    let Some(known) = catalog::actions(&vendor_lc) else {
        return;
    };
    let exists = if wild(name) {
        let pat = Pattern::new(name, true);
        known.iter().any(|k| pat.matches(k))
    } else {
        known.iter().any(|k| k.eq_ignore_ascii_case(name))
    };
    if !exists {
        c.error(
            "INVALID_ACTION",
            format!("The action {a} does not exist."),
            p,
            span,
        );
    }
}

pub fn unsupported_variable(c: &mut Checker, element: &str, span: Span, p: Vec<Step>) {
    c.error(
        "VARIABLE_UNSUPPORTED_IN_ELEMENT",
        format!(
            "Policy variables are not supported in the {element} element. Remove the variable."
        ),
        p,
        span,
    );
}

/// The Resource or NotResource element `m` of the statement at `path`.
pub fn resources(c: &mut Checker, m: &Member, path: &[Step]) {
    let p = at(path, [val(&m.key)]);
    let Some(list) = c.strings(&m.value, &p) else {
        return;
    };
    if list.is_empty() && matches!(m.value.kind, Kind::Arr(_)) && m.key == "Resource" {
        c.add(
            FindingType::Suggestion,
            "EMPTY_ARRAY_RESOURCE",
            "This statement includes no resources and does not affect the policy. Specify resources.".into(),
            p,
            m.value.span,
        );
        return;
    }
    for (r, span, p) in list {
        resource(c, r, span, p);
    }
}

fn resource(c: &mut Checker, r: &str, span: Span, p: Vec<Step>) {
    if r == "*" || !variables(c, r, span, &p) {
        return;
    }
    if !r.starts_with("arn:") {
        return c.error(
            "INVALID_ARN_PREFIX",
            format!("Add the required prefix (arn) to the resource {r}."),
            p,
            span,
        );
    }
    let f: Vec<&str> = r.splitn(6, ':').collect();
    let [_, partition, service, region, account, res] = f.as_slice() else {
        return c.error(
            "MISSING_ARN_FIELD",
            format!("The resource {r} is missing fields: an ARN has six, arn:partition:service:region:account:resource."),
            p,
            span,
        );
    };
    let mut err = |code: &'static str, details: String| c.error(code, details, p.clone(), span);
    if !wild(partition) && !PARTITIONS.contains(partition) {
        err("INVALID_PARTITION", format!("The resource ARN {r} names the partition {partition}, which does not exist. Use one of: {}.", PARTITIONS.join(", ")));
    }
    if service.is_empty() {
        return err(
            "MISSING_ARN_FIELD",
            format!("The resource {r} has no service."),
        );
    }
    if service.chars().any(|ch| ch.is_ascii_uppercase()) {
        err("INVALID_ARN_SERVICE_CASE", format!("Update the service name {service} in the resource ARN to use all lowercase letters."));
    }
    if !region.is_empty() && !wild(region) && !region_syntax(region) {
        err(
            "INVALID_ARN_REGION",
            format!("The Region {region} in the resource ARN {r} is not valid."),
        );
    }
    let account_ok = account.is_empty()
        || wild(account)
        || *account == "aws"
        || (account.len() == 12 && account.bytes().all(|b| b.is_ascii_digit()));
    if !account_ok {
        err(
            "INVALID_ARN_ACCOUNT",
            format!(
                "The resource ARN account ID {account} is not valid. Use a 12-digit account ID."
            ),
        );
    }
    if res.is_empty() {
        return err(
            "INVALID_ARN_RESOURCE",
            format!("The resource ARN {r} names no resource."),
        );
    }
    let regional = !region.is_empty();
    match *service {
        "iam" | "sts" | "organizations" if regional => err(
            "ARN_REGION_NOT_ALLOWED",
            format!(
                "The service {service} does not support specifying a Region in the resource ARN."
            ),
        ),
        "iam" if !wild(res) && !IAM_TYPES.iter().any(|t| res.starts_with(t)) => err(
            "INVALID_ARN_RESOURCE",
            format!("The resource {res} in the ARN {r} is not an IAM resource type."),
        ),
        "s3" if !S3_REGIONAL.iter().any(|t| res.starts_with(t)) => {
            if regional {
                err("ARN_REGION_NOT_ALLOWED", "The service s3 does not support specifying a Region in bucket and object ARNs.".into());
            }
            if !account.is_empty() {
                err("ARN_ACCOUNT_NOT_ALLOWED", "The service s3 does not support specifying an account ID in bucket and object ARNs.".into());
            }
        }
        "kms" | "secretsmanager" if !regional => err(
            "MISSING_ARN_REGION",
            format!("Add a Region to the {service} resource ARN."),
        ),
        _ => {}
    }
    if let Some(svc) = resource_type_service(c.resource_type) {
        if !wild(service) && *service != svc {
            c.error(
                "UNSUPPORTED_RESOURCE_ARN_IN_POLICY",
                format!(
                    "The resource ARN {r} is not supported for the resource-based policy of {}.",
                    c.resource_type.unwrap_or_default()
                ),
                p,
                span,
            );
        }
    }
}

/// `us-east-1`, `us-gov-west-1`, `cn-north-1`: two letters, words, a number.
fn region_syntax(r: &str) -> bool {
    let parts: Vec<&str> = r.split('-').collect();
    let Some((last, first)) = parts.split_last() else {
        return false;
    };
    let letters = |s: &&str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_lowercase());
    first.len() >= 2
        && first.first().is_some_and(|f| f.len() == 2 && letters(f))
        && first.iter().all(letters)
        && !last.is_empty()
        && last.len() <= 2
        && last.bytes().all(|b| b.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regions() {
        for r in ["us-east-1", "us-gov-west-1", "cn-north-1", "ap-southeast-2"] {
            assert!(region_syntax(r), "{r}");
        }
        for r in ["us-east", "useast1", "US-EAST-1", "u-east-1", "us-east-123"] {
            assert!(!region_syntax(r), "{r}");
        }
    }
}
