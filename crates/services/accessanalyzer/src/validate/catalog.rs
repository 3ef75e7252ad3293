//! The action catalogue: the IAM actions of the services whose every action Rampart knows.
//!
//! For these services the actions are the operations of the generated AWS model plus the
//! permission-only actions that have no operation (`iam:PassRole`, `sts:TagSession`, ...; the
//! list is IAM's tracked-action catalogue, `rampart_iam::action_access`), so
//! an action outside the list does not exist. Other services' actions are not listed: their
//! names are taken as written (no `INVALID_ACTION` is possible for them).

/// The catalogued services' prefixes.
pub const CATALOGUED: [&str; 5] = rampart_iam::action_access::TRACKED;

/// The lowercased actions of `service` (its prefix, lowercased), when it is catalogued.
pub fn actions(service: &str) -> Option<Vec<String>> {
    Some(
        rampart_iam::action_access::actions_of(service)?
            .into_iter()
            .map(str::to_ascii_lowercase)
            .collect(),
    )
}

/// Prefixes of every AWS service that Rampart implements, so an action of theirs is known to
/// name a real service. (`s3` also covers S3 Control's actions.)
pub const KNOWN_SERVICES: [&str; 21] = [
    "access-analyzer",
    "acm",
    "acm-pca",
    "artifact",
    "cloudtrail",
    "config",
    "detective",
    "elasticloadbalancing",
    "events",
    "guardduty",
    "iam",
    "inspector2",
    "kms",
    "macie2",
    "organizations",
    "s3",
    "secretsmanager",
    "securityhub",
    "shield",
    "sts",
    "wafv2",
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn catalogued_services_list_their_actions() {
        let iam = actions("iam").unwrap();
        assert!(iam.contains(&"passrole".to_string()));
        assert!(iam.contains(&"createrole".to_string()));
        assert!(actions("kms")
            .unwrap()
            .contains(&"generatedatakey".to_string()));
        assert!(actions("sts").unwrap().contains(&"tagsession".to_string()));
        assert!(actions("s3").is_none());
        for s in CATALOGUED {
            assert!(KNOWN_SERVICES.contains(&s));
        }
    }
}
