//! AWS Managed Rules rule groups Rampart provides (vendor `AWS`): their names, capacities,
//! label namespaces and rules, each rule an ordinary statement in AWS's JSON shape that
//! [`super::compile::compile`] turns into the engine's statements (no separate matcher).
//!
//! AWS does not publish its patterns; the ones here are Rampart's own, written to what AWS's
//! description of each rule says it inspects, and listed in docs/WAF.md. Rule names, actions,
//! labels and capacities are AWS's. Groups that need data Rampart does not have (IP
//! reputation, anonymous IP, Bot Control, account takeover and creation fraud) are not offered.

mod apps;
mod common;
mod known_bad;
mod more;
mod sqli;

use serde_json::{json, Value};

/// The only vendor Rampart offers.
pub const VENDOR: &str = "AWS";

/// The version of Rampart's patterns every group offers (and its default).
pub const VERSION: &str = "Version_1.0";

/// When [`VERSION`] was published (epoch seconds), for `ListAvailableManagedRuleGroupVersions`.
pub const VERSION_PUBLISHED: i64 = 1_796_601_600;

/// A managed rule group.
#[derive(Debug)]
pub struct ManagedGroup {
    /// `Name` (`AWSManagedRulesCommonRuleSet`, ...).
    pub name: &'static str,
    /// `Description` in `ListAvailableManagedRuleGroups`.
    pub description: &'static str,
    /// AWS's capacity in WCUs.
    pub capacity: u64,
    /// The label namespace segment (`core-rule-set`).
    pub namespace: &'static str,
    /// The rules, in evaluation order.
    pub rules: fn() -> Vec<ManagedRule>,
}

/// A rule of a managed rule group; its action is `Block`, as for every rule Rampart offers.
#[derive(Debug, Clone)]
pub struct ManagedRule {
    /// AWS's rule name (`NoUserAgent_HEADER`).
    pub name: &'static str,
    /// The label's last part (`NoUserAgent_Header`).
    pub label: &'static str,
    /// The statement, in AWS's JSON shape.
    pub statement: Value,
}

impl ManagedGroup {
    /// `awswaf:managed:aws:<namespace>:`.
    pub fn label_namespace(&self) -> String {
        format!("awswaf:managed:aws:{}:", self.namespace)
    }
}

/// The groups, sorted by name (`NextMarker` is the last name of a page).
static GROUPS: &[ManagedGroup] = &[
    ManagedGroup {
        name: "AWSManagedRulesAdminProtectionRuleSet",
        description: "Contains rules that allow you to block external access to exposed administrative pages.",
        capacity: 100,
        namespace: "admin-protection",
        rules: more::admin,
    },
    ManagedGroup {
        name: "AWSManagedRulesCommonRuleSet",
        description: "Contains rules that are generally applicable to web applications. This provides protection against exploitation of a wide range of vulnerabilities, including those described in OWASP publications.",
        capacity: 700,
        namespace: "core-rule-set",
        rules: common::rules,
    },
    ManagedGroup {
        name: "AWSManagedRulesKnownBadInputsRuleSet",
        description: "Contains rules that allow you to block request patterns that are known to be invalid and are associated with exploitation or discovery of vulnerabilities.",
        capacity: 200,
        namespace: "known-bad-inputs",
        rules: known_bad::rules,
    },
    ManagedGroup {
        name: "AWSManagedRulesLinuxRuleSet",
        description: "Contains rules that block request patterns associated with exploitation of vulnerabilities specific to Linux, including LFI attacks.",
        capacity: 200,
        namespace: "linux-os",
        rules: more::linux,
    },
    ManagedGroup {
        name: "AWSManagedRulesPHPRuleSet",
        description: "Contains rules that block request patterns associated with exploiting vulnerabilities specific to the use of the PHP, including injection of unsafe PHP functions.",
        capacity: 100,
        namespace: "php-app",
        rules: more::php,
    },
    ManagedGroup {
        name: "AWSManagedRulesSQLiRuleSet",
        description: "Contains rules that allow you to block request patterns associated with exploitation of SQL databases, like SQL injection attacks.",
        capacity: 200,
        namespace: "sql-database",
        rules: sqli::rules,
    },
    ManagedGroup {
        name: "AWSManagedRulesUnixRuleSet",
        description: "Contains rules that block request patterns associated with exploiting vulnerabilities specific to POSIX/POSIX-like OS, including LFI attacks.",
        capacity: 100,
        namespace: "posix-os",
        rules: more::unix,
    },
    ManagedGroup {
        name: "AWSManagedRulesWindowsRuleSet",
        description: "Contains rules that block request patterns associated with exploiting vulnerabilities specific to Windows, like remote execution of PowerShell commands.",
        capacity: 200,
        namespace: "windows-os",
        rules: apps::windows,
    },
    ManagedGroup {
        name: "AWSManagedRulesWordPressRuleSet",
        description: "The WordPress Applications group contains rules that block request patterns associated with the exploitation of vulnerabilities specific to WordPress sites.",
        capacity: 100,
        namespace: "wordpress-app",
        rules: apps::wordpress,
    },
];

/// Every group, by name.
pub fn groups() -> &'static [ManagedGroup] {
    GROUPS
}

/// The group a vendor and name designate.
pub fn find(vendor: &str, name: &str) -> Option<&'static ManagedGroup> {
    (vendor == VENDOR)
        .then(|| GROUPS.iter().find(|g| g.name == name))
        .flatten()
}

// Statement builders in AWS's JSON shape, for the rule lists.

fn transforms(types: &[&str]) -> Value {
    Value::Array(
        types
            .iter()
            .enumerate()
            .map(|(i, t)| json!({"Priority": i, "Type": t}))
            .collect(),
    )
}

fn regex(field: Value, pattern: &str, t: &[&str]) -> Value {
    json!({"RegexMatchStatement": {"FieldToMatch": field, "RegexString": pattern,
        "TextTransformations": transforms(t)}})
}

fn size(field: Value, op: &str, n: u64) -> Value {
    json!({"SizeConstraintStatement": {"FieldToMatch": field, "ComparisonOperator": op,
        "Size": n, "TextTransformations": transforms(&["NONE"])}})
}

fn sqli(field: Value, t: &[&str]) -> Value {
    json!({"SqliMatchStatement": {"FieldToMatch": field, "SensitivityLevel": "LOW",
        "TextTransformations": transforms(t)}})
}

fn xss(field: Value, t: &[&str]) -> Value {
    json!({"XssMatchStatement": {"FieldToMatch": field, "TextTransformations": transforms(t)}})
}

fn not(st: Value) -> Value {
    json!({"NotStatement": {"Statement": st}})
}

fn uri() -> Value {
    json!({"UriPath": {}})
}

fn query_string() -> Value {
    json!({"QueryString": {}})
}

fn query_args() -> Value {
    json!({"AllQueryArguments": {}})
}

fn body() -> Value {
    json!({"Body": {"OversizeHandling": "CONTINUE"}})
}

fn cookies() -> Value {
    json!({"Cookies": {"MatchPattern": {"All": {}}, "MatchScope": "VALUE",
        "OversizeHandling": "CONTINUE"}})
}

fn headers() -> Value {
    json!({"Headers": {"MatchPattern": {"All": {}}, "MatchScope": "ALL",
        "OversizeHandling": "CONTINUE"}})
}

fn header(name: &str) -> Value {
    json!({"SingleHeader": {"Name": name}})
}

fn method() -> Value {
    json!({"Method": {}})
}

/// URL decoding (with `%uXXXX`), then HTML entities: what most rules inspect.
const DECODED: &[&str] = &["URL_DECODE_UNI", "HTML_ENTITY_DECODE"];

fn rule(name: &'static str, label: &'static str, statement: Value) -> ManagedRule {
    ManagedRule {
        name,
        label,
        statement,
    }
}

#[cfg(test)]
mod tests;
