//! Action / NotAction: `service:Operation` patterns matched case-insensitively with `*` and `?`.

use crate::wildcard::Pattern;

/// One compiled action pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ActionPattern {
    /// `*`: every action of every service.
    All,
    /// `service:name`, both parts lowercased.
    Service {
        /// Pattern over the lowercased service prefix.
        service: Pattern,
        /// Pattern over the lowercased operation name.
        name: Pattern,
    },
}

impl ActionPattern {
    /// Compiles one action string; `Err` says why it is invalid.
    pub fn parse(text: &str) -> Result<ActionPattern, String> {
        if text == "*" {
            return Ok(ActionPattern::All);
        }
        let Some((svc, name)) = text.split_once(':') else {
            return Err(format!(
                "Action \"{text}\" must be prefaced by a vendor, e.g., iam, sdb, ec2, etc."
            ));
        };
        if svc.is_empty()
            || !svc
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '*' | '?'))
        {
            return Err(format!(
                "Action \"{text}\" has an invalid vendor \"{svc}\"."
            ));
        }
        if name.is_empty() {
            return Err(format!("Action \"{text}\" has an empty operation name."));
        }
        Ok(ActionPattern::Service {
            service: Pattern::new(svc, true),
            name: Pattern::new(name, true),
        })
    }

    /// True when the lowercased request action (`service`, `name`) matches.
    pub fn matches(&self, service: &str, name: &str) -> bool {
        match self {
            ActionPattern::All => true,
            ActionPattern::Service {
                service: s,
                name: n,
            } => s.matches(service) && n.matches(name),
        }
    }
}

/// The Action or NotAction element of a statement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActionSpec {
    /// True for NotAction.
    pub negated: bool,
    /// The compiled patterns.
    pub patterns: Vec<ActionPattern>,
    /// The original strings, for printing.
    pub raw: Vec<String>,
    /// True when the element was a single string rather than an array.
    pub single: bool,
}

impl ActionSpec {
    /// True when the statement applies to the action (NotAction inverts the match).
    pub fn matches(&self, service: &str, name: &str) -> bool {
        self.patterns.iter().any(|p| p.matches(service, name)) != self.negated
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn case_insensitive_wildcards() {
        let p = ActionPattern::parse("S3:Get*").unwrap();
        assert!(p.matches("s3", "getobject"));
        assert!(!p.matches("s3", "putobject"));
        let p = ActionPattern::parse("iam:?etUser").unwrap();
        assert!(p.matches("iam", "getuser"));
        assert!(ActionPattern::parse("nocolon").is_err());
        assert!(ActionPattern::parse("s3:").is_err());
        assert!(ActionPattern::parse("*")
            .unwrap()
            .matches("kms", "createkey"));
    }
}
