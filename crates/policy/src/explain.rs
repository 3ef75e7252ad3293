//! Human explanations of decisions ("no SCP at OU ou-xxxx allows kms:CreateKey").

use crate::evaluate::{AllowBasis, Decision, Layer, Outcome};
use crate::request::Request;

fn target_name(t: &str) -> String {
    if t.starts_with("r-") {
        format!("the organization root {t}")
    } else if t.starts_with("ou-") {
        format!("OU {t}")
    } else {
        format!("account {t}")
    }
}

fn refs(d: &Decision) -> String {
    d.statement_refs().join(", ")
}

impl Decision {
    /// One or two sentences saying why the request was allowed or denied.
    pub fn explain(&self, req: &Request) -> String {
        let action = &req.action;
        let on = if req.resource == "*" {
            String::new()
        } else {
            format!(" on {}", req.resource)
        };
        let mut text = match self.outcome {
            Outcome::ExplicitDeny if self.refusal.is_some() => format!(
                "refused by AWS whatever the policies say: {}",
                self.refusal.as_ref().map_or("", |r| r.rule)
            ),
            Outcome::ExplicitDeny => format!(
                "explicitly denied: {action}{on} matches Deny statement(s) {}",
                refs(self)
            ),
            Outcome::Allow => {
                let why = match self.basis {
                    Some(AllowBasis::Identity) => "identity-based policies allow it",
                    Some(AllowBasis::ResourceDirect) => {
                        "the resource-based policy names the caller directly"
                    }
                    Some(AllowBasis::ResourceRole) => {
                        "the resource-based policy names the caller's role, within its boundary and session policies"
                    }
                    Some(AllowBasis::ResourceDelegated) => {
                        "the resource policy allows the account and identity-based policies allow it"
                    }
                    Some(AllowBasis::CrossAccount) => {
                        "both the caller's account (identity-based policies) and the resource-based policy allow it"
                    }
                    Some(AllowBasis::RootUser) => {
                        "the account root user is not limited by identity-based policies"
                    }
                    Some(AllowBasis::ResourcePublic) => "the resource-based policy allows the caller",
                    Some(AllowBasis::AwsRule) => "AWS allows it whatever the policies say",
                    None => "allowed",
                };
                if self.statements.is_empty() {
                    format!("allowed: {why}")
                } else {
                    format!("allowed: {why} ({})", refs(self))
                }
            }
            Outcome::ImplicitDeny => match &self.layer {
                Some(Layer::Scp(t)) => format!("implicitly denied: no SCP at {} allows {action}", target_name(t)),
                Some(Layer::Rcp(t)) => format!("implicitly denied: no RCP at {} allows {action}{on}", target_name(t)),
                Some(Layer::Identity) => format!("implicitly denied: no identity-based policy allows {action}{on}"),
                Some(Layer::Boundary) => format!("implicitly denied: the permissions boundary does not allow {action}{on}"),
                Some(Layer::Session) => format!("implicitly denied: no session policy allows {action}{on}"),
                Some(Layer::Resource) if !self.resource_policy_present => format!(
                    "implicitly denied: there is no resource-based policy to allow {action}{on}"
                ),
                Some(Layer::Resource) => format!("implicitly denied: the resource-based policy does not allow {action}{on} for {}", req.principal.arn),
                None => format!("implicitly denied: nothing allows {action}{on}"),
            },
        };
        if !self.missing_context_keys.is_empty() {
            text.push_str(&format!(
                " (context keys not supplied: {})",
                self.missing_context_keys.join(", ")
            ));
        }
        text
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use crate::*;

    fn layer(doc: &str, kind: PolicyKind, name: &str) -> PolicyLayer {
        let p = Policy::parse(doc, kind).map(|p| p.with_name(name));
        PolicyLayer::new(p.into_iter().map(Arc::new).collect())
    }

    #[test]
    fn explains_scp_and_deny() {
        let allow_all = r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"*","Resource":"*"}}"#;
        let only_s3 = r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:*","Resource":"*"}}"#;
        let set = PolicySet {
            identity: layer(allow_all, PolicyKind::Identity, "Admin"),
            scp: vec![
                OrgLevel {
                    target: "r-ab12".into(),
                    layer: layer(allow_all, PolicyKind::Scp, "Full"),
                },
                OrgLevel {
                    target: "ou-ab12-xxxx".into(),
                    layer: layer(only_s3, PolicyKind::Scp, "S3"),
                },
            ],
            ..Default::default()
        };
        let req = Request::new(
            Principal::from_arn("arn:aws:iam::111122223333:user/a"),
            "kms:CreateKey",
            "*",
            None,
            Context::new(),
        );
        let d = evaluate(&req, &set);
        assert_eq!(d.outcome, Outcome::ImplicitDeny);
        assert_eq!(d.layer, Some(Layer::Scp("ou-ab12-xxxx".into())));
        assert_eq!(
            d.explain(&req),
            "implicitly denied: no SCP at OU ou-ab12-xxxx allows kms:CreateKey"
        );

        let deny = r#"{"Version":"2012-10-17","Statement":{"Sid":"NoKms","Effect":"Deny","Action":"kms:*","Resource":"*","Condition":{"Bool":{"aws:MultiFactorAuthPresent":"false"}}}}"#;
        let set = PolicySet {
            identity: PolicyLayer::new(
                [(allow_all, "Admin"), (deny, "Guard")]
                    .iter()
                    .filter_map(|(d, n)| {
                        Policy::parse(d, PolicyKind::Identity)
                            .ok()
                            .map(|p| Arc::new(p.with_name(*n)))
                    })
                    .collect(),
            ),
            ..Default::default()
        };
        let mut ctx = Context::new();
        ctx.set("aws:MultiFactorAuthPresent", "false");
        let req = Request::new(
            Principal::from_arn("arn:aws:iam::111122223333:user/a"),
            "kms:CreateKey",
            "*",
            None,
            ctx,
        );
        let d = evaluate(&req, &set);
        assert_eq!(d.outcome, Outcome::ExplicitDeny);
        assert_eq!(d.statement_refs(), vec!["Guard#NoKms"]);
        assert!(d.explain(&req).contains("Guard#NoKms"));

        let req = Request::new(
            Principal::from_arn("arn:aws:iam::111122223333:user/a"),
            "kms:CreateKey",
            "*",
            None,
            Context::new(),
        );
        let d = evaluate(&req, &set);
        assert_eq!(d.outcome, Outcome::Allow);
        assert_eq!(d.missing_context_keys, vec!["aws:MultiFactorAuthPresent"]);
    }
}
