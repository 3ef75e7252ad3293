//! The values of the Principal and NotPrincipal elements: keys, account and ARN formats,
//! service principals, wildcards.

use rampart_policy::principal::parse_aws;

use super::checker::{at, key, val, Checker, Target};
use super::elements::unsupported_variable;
use super::finding::{FindingType, Step};
use super::json::{Kind, Member, Node, Span};

/// The value of a Principal or NotPrincipal element at `path`.
pub fn principal(c: &mut Checker, node: &Node, path: &[Step]) {
    match &node.kind {
        Kind::Str(s) if s == "*" => {}
        Kind::Str(s) => c.error(
            "INVALID_PRINCIPAL_FORMAT",
            format!("The principal {s} is not valid: use \"*\" or an object such as {{\"AWS\": ...}}."),
            path.to_vec(),
            node.span,
        ),
        Kind::Obj(members) if members.is_empty() => c.add(
            FindingType::Suggestion,
            "EMPTY_OBJECT_PRINCIPAL",
            "The Principal element is an empty object and matches no principal. Specify principals.".into(),
            path.to_vec(),
            node.span,
        ),
        Kind::Obj(members) => {
            for m in members {
                principal_member(c, m, path);
            }
        }
        _ => c.mismatch(node, "string or object", path.to_vec()),
    }
}

fn principal_member(c: &mut Checker, m: &Member, path: &[Step]) {
    if !["AWS", "Service", "Federated", "CanonicalUser"].contains(&m.key.as_str()) {
        return c.error(
            "INVALID_PRINCIPAL_KEY",
            format!(
                "The principal key {} is not valid. Use AWS, Service, Federated or CanonicalUser.",
                m.key
            ),
            at(path, [key(&m.key)]),
            m.key_span,
        );
    }
    let p = at(path, [val(&m.key)]);
    let Some(list) = c.strings(&m.value, &p) else {
        return;
    };
    if list.is_empty() {
        return c.add(
            FindingType::Suggestion,
            "EMPTY_ARRAY_PRINCIPAL",
            format!(
                "The principal {} is an empty array and matches no principal.",
                m.key
            ),
            p,
            m.value.span,
        );
    }
    for (v, span, p) in list {
        principal_value(c, &m.key, v, span, p);
    }
}

fn principal_value(c: &mut Checker, kind: &str, v: &str, span: Span, p: Vec<Step>) {
    if v.contains("${") {
        return unsupported_variable(c, "Principal", span, p);
    }
    if v == "*" && (kind == "AWS" || kind == "Service") {
        return;
    }
    if v.contains('*') || v.contains('?') {
        let code = if c.target == Target::Trust {
            "ROLE_TRUST_POLICY_UNSUPPORTED_WILDCARD_IN_PRINCIPAL"
        } else {
            "UNSUPPORTED_WILDCARD_IN_PRINCIPAL"
        };
        return c.error(code, format!("Wildcards (*, ?) are not supported with the principal key {kind} except as \"*\": {v}. Use the aws:PrincipalArn condition key to match principals with wildcards."), p, span);
    }
    let valid = match kind {
        "AWS" => parse_aws(v).is_ok(),
        "Service" => service_principal(v),
        "Federated" => {
            !v.starts_with("arn:")
                || v.split(':').nth(5).is_some_and(|r| {
                    r.starts_with("saml-provider/") || r.starts_with("oidc-provider/")
                })
        }
        _ => v.len() == 64 && v.bytes().all(|b| b.is_ascii_hexdigit()),
    };
    if !valid {
        let code = if kind == "Service" {
            "INVALID_SERVICE_PRINCIPAL_FORMAT"
        } else {
            "INVALID_PRINCIPAL_FORMAT"
        };
        c.error(
            code,
            format!("The {kind} principal {v} is not valid."),
            p,
            span,
        );
    }
}

/// `name.amazonaws.com` (or `.amazonaws.com.cn`), lowercase.
fn service_principal(v: &str) -> bool {
    let name = v
        .strip_suffix(".amazonaws.com")
        .or_else(|| v.strip_suffix(".amazonaws.com.cn"));
    name.is_some_and(|n| {
        !n.is_empty()
            && n.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.')
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn service_principals() {
        assert!(service_principal("ec2.amazonaws.com"));
        assert!(service_principal("logs.us-east-1.amazonaws.com"));
        assert!(!service_principal("ec2"));
        assert!(!service_principal("EC2.amazonaws.com"));
    }
}
