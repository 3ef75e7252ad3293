//! One Sigma rule file read into a [`Rule`]: its identity, level, selections, condition and
//! aggregation window. Anything the matcher does not support is refused here, with the
//! reason, so a rule never loads into something that silently matches less than it says.

use serde_json::Value;
use serde_yaml::{Mapping, Value as Yaml};

use super::{
    condition::{self, Count, Expr},
    field::FieldTest,
};

/// A rule's `level`: its findings' severity.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    /// `informational`.
    Informational,
    /// `low`.
    Low,
    /// `medium`.
    Medium,
    /// `high`.
    High,
    /// `critical`.
    Critical,
}

impl Level {
    fn parse(s: &str) -> Option<Level> {
        Some(match s {
            "informational" => Level::Informational,
            "low" => Level::Low,
            "medium" => Level::Medium,
            "high" => Level::High,
            "critical" => Level::Critical,
            _ => return None,
        })
    }

    /// GuardDuty's numeric severity: the value GuardDuty gives its own findings of the band
    /// (Low 2.0, Medium 5.0, High 8.0), the floor of the Low band for `informational`
    /// (GuardDuty has no lower band) and 9.0, the floor of the Critical band, for `critical`.
    pub fn severity(self) -> f64 {
        match self {
            Level::Informational => 1.0,
            Level::Low => 2.0,
            Level::Medium => 5.0,
            Level::High => 8.0,
            Level::Critical => 9.0,
        }
    }

    /// The level's name.
    pub fn name(self) -> &'static str {
        match self {
            Level::Informational => "informational",
            Level::Low => "low",
            Level::Medium => "medium",
            Level::High => "high",
            Level::Critical => "critical",
        }
    }
}

/// A named selection: any of its maps, each a conjunction of field tests.
#[derive(Debug, Clone)]
pub struct Selection(Vec<Vec<FieldTest>>);

impl Selection {
    fn matches(&self, record: &Value) -> bool {
        self.0
            .iter()
            .any(|tests| tests.iter().all(|t| t.matches(record)))
    }
}

/// A loaded rule.
#[derive(Debug, Clone)]
pub struct Rule {
    /// `id`.
    pub id: String,
    /// `title`.
    pub title: String,
    /// `description` (the title when the rule has none).
    pub description: String,
    /// `level`.
    pub level: Level,
    /// The selections, by name.
    selections: Vec<(String, Selection)>,
    condition: Expr,
    /// The count aggregation, when the condition has one.
    pub count: Option<Count>,
    /// `timeframe`, in seconds (with a count).
    pub timeframe_secs: i64,
}

/// What reading a rule gives: the rule, or a rule for another log source (skipped).
#[derive(Debug)]
pub enum Read {
    /// A CloudTrail rule.
    Rule(Box<Rule>),
    /// A rule for another log source: `product`/`service` as written.
    OtherSource(String),
}

/// Longest `timeframe`: a week.
const MAX_TIMEFRAME_SECS: i64 = 7 * 86_400;

impl Rule {
    /// Reads one rule from YAML `text`.
    pub fn parse(text: &str) -> Result<Read, String> {
        let doc: Yaml = serde_yaml::from_str(text).map_err(|e| format!("not YAML: {e}"))?;
        let Yaml::Mapping(doc) = doc else {
            return Err("a rule is a YAML mapping".into());
        };
        if doc.get("action").is_some() {
            return Err("rule collections (`action`) are not supported: one rule per file".into());
        }
        let logsource = get_map(&doc, "logsource")?;
        let product = opt_text(logsource, "product")?;
        let service = opt_text(logsource, "service")?;
        if product.as_deref() != Some("aws") || service.as_deref() != Some("cloudtrail") {
            return Ok(Read::OtherSource(format!(
                "product {}, service {}",
                product.as_deref().unwrap_or("(none)"),
                service.as_deref().unwrap_or("(none)")
            )));
        }
        let id = text_of(&doc, "id")?;
        if id.is_empty()
            || id.len() > 128
            || !id
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        {
            return Err(format!(
                "`id` `{id}` must be 1-128 letters, digits, `-`, `_` or `.`"
            ));
        }
        let title = text_of(&doc, "title")?;
        let description = opt_text(&doc, "description")?.unwrap_or_else(|| title.clone());
        let level_text = text_of(&doc, "level")?;
        let level = Level::parse(&level_text).ok_or_else(|| {
            format!("`level` `{level_text}` is not informational, low, medium, high or critical")
        })?;
        let detection = get_map(&doc, "detection")?;
        let mut selections = Vec::new();
        let mut condition_text = None;
        for (k, v) in detection {
            let Yaml::String(name) = k else {
                return Err("detection: names must be text".into());
            };
            match name.as_str() {
                "condition" => condition_text = Some(v),
                "timeframe" => {}
                _ => selections.push((name.clone(), selection(name, v)?)),
            }
        }
        let condition_text = match condition_text {
            Some(Yaml::String(s)) => s.clone(),
            Some(Yaml::Sequence(_)) => return Err(
                "detection.condition: a list of conditions is not supported; join them with `or`"
                    .into(),
            ),
            Some(_) => return Err("detection.condition must be text".into()),
            None => return Err("detection.condition is required".into()),
        };
        let names: Vec<String> = selections.iter().map(|(n, _)| n.clone()).collect();
        let (condition, count) = condition::parse(&condition_text, &names)?;
        let timeframe = match detection.get("timeframe").or_else(|| doc.get("timeframe")) {
            None => None,
            Some(Yaml::String(s)) => Some(timeframe(s)?),
            Some(_) => return Err("`timeframe` must be text such as `5m`".into()),
        };
        let timeframe_secs = match (&count, timeframe) {
            (Some(_), Some(t)) => t,
            (Some(_), None) => {
                return Err("a count aggregation needs a `timeframe` (such as `5m`)".into())
            }
            (None, Some(_)) => {
                return Err("`timeframe` needs a count aggregation in the condition".into())
            }
            (None, None) => 0,
        };
        Ok(Read::Rule(Box::new(Rule {
            id,
            title,
            description,
            level,
            selections,
            condition,
            count,
            timeframe_secs,
        })))
    }

    /// Whether `record` meets the condition (before any count).
    pub fn matches(&self, record: &Value) -> bool {
        let mut cache: Vec<Option<bool>> = vec![None; self.selections.len()];
        let selections = &self.selections;
        self.condition.eval(&mut |name| {
            let Some(i) = selections.iter().position(|(n, _)| n == name) else {
                return false;
            };
            match cache.get(i).copied().flatten() {
                Some(v) => v,
                None => {
                    let v = selections.get(i).is_some_and(|(_, s)| s.matches(record));
                    if let Some(slot) = cache.get_mut(i) {
                        *slot = Some(v);
                    }
                    v
                }
            }
        })
    }
}

fn get_map<'a>(m: &'a Mapping, key: &str) -> Result<&'a Mapping, String> {
    match m.get(key) {
        Some(Yaml::Mapping(v)) => Ok(v),
        Some(_) => Err(format!("`{key}` must be a mapping")),
        None => Err(format!("`{key}` is required")),
    }
}

fn opt_text(m: &Mapping, key: &str) -> Result<Option<String>, String> {
    match m.get(key) {
        None | Some(Yaml::Null) => Ok(None),
        Some(Yaml::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(format!("`{key}` must be text")),
    }
}

fn text_of(m: &Mapping, key: &str) -> Result<String, String> {
    opt_text(m, key)?.ok_or_else(|| format!("`{key}` is required"))
}

/// A selection: a mapping of field tests, or a list of such mappings.
fn selection(name: &str, v: &Yaml) -> Result<Selection, String> {
    let map_tests = |m: &Mapping| -> Result<Vec<FieldTest>, String> {
        if m.is_empty() {
            return Err(format!("selection `{name}` is empty"));
        }
        m.iter()
            .map(|(k, v)| match k {
                Yaml::String(key) => {
                    FieldTest::parse(key, v).map_err(|e| format!("selection `{name}`: {e}"))
                }
                _ => Err(format!("selection `{name}`: field names must be text")),
            })
            .collect()
    };
    match v {
        Yaml::Mapping(m) => Ok(Selection(vec![map_tests(m)?])),
        Yaml::Sequence(items) if !items.is_empty() => items
            .iter()
            .map(|item| match item {
                Yaml::Mapping(m) => map_tests(m),
                _ => Err(format!(
                    "selection `{name}`: keyword lists (plain values) are not supported; name the field"
                )),
            })
            .collect::<Result<Vec<_>, _>>()
            .map(Selection),
        _ => Err(format!(
            "selection `{name}` must be a mapping of fields or a list of mappings"
        )),
    }
}

/// `timeframe` (`30s`, `5m`, `1h`, `1d`) in seconds.
fn timeframe(s: &str) -> Result<i64, String> {
    let bad = || format!("`timeframe` `{s}` is not a number and s, m, h or d, up to a week");
    let s = s.trim();
    let unit = s.chars().last().ok_or_else(bad)?;
    let n: i64 = s
        .get(..s.len() - unit.len_utf8())
        .and_then(|n| n.parse().ok())
        .filter(|n| *n > 0)
        .ok_or_else(bad)?;
    let mult = match unit {
        's' => 1,
        'm' => 60,
        'h' => 3_600,
        'd' => 86_400,
        _ => return Err(bad()),
    };
    n.checked_mul(mult)
        .filter(|t| *t <= MAX_TIMEFRAME_SECS)
        .ok_or_else(bad)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn rule(text: &str) -> Rule {
        match Rule::parse(text).unwrap() {
            Read::Rule(r) => *r,
            Read::OtherSource(s) => panic!("other source {s}"),
        }
    }

    const HEAD: &str =
        "title: T\nid: r-1\nlevel: high\nlogsource:\n  product: aws\n  service: cloudtrail\n";

    #[test]
    fn selections_combine_fields_with_and_and_lists_with_or() {
        let r = rule(&format!(
            "{HEAD}detection:\n  selection:\n    eventName: [DeleteTrail, StopLogging]\n    userAgent|contains: kali\n  condition: selection\n"
        ));
        assert_eq!(r.level.severity(), 8.0);
        assert_eq!(r.description, "T");
        let e = |name: &str, agent: &str| json!({ "eventName": name, "userAgent": agent });
        assert!(r.matches(&e("StopLogging", "aws-cli kali")));
        assert!(r.matches(&e("DeleteTrail", "x.KALI")));
        assert!(!r.matches(&e("StopLogging", "boto3")));
        assert!(!r.matches(&e("StartLogging", "kali")));
        let r = rule(&format!(
            "{HEAD}detection:\n  selection:\n    - eventName: A\n    - userAgent: B\n  filter:\n    errorCode: null\n  condition: selection and filter\n"
        ));
        assert!(r.matches(&json!({ "eventName": "A" })));
        assert!(r.matches(&json!({ "userAgent": "b" })));
        assert!(!r.matches(&json!({ "userAgent": "b", "errorCode": "AccessDenied" })));
    }

    #[test]
    fn a_rule_in_sigmahq_layout_loads() {
        let r = rule(
            r#"title: AWS CloudTrail Important Change
id: 4db60cc0-36fb-42b7-9b58-a5b53019fb74
status: test
description: Detects disabling, deleting and updating of a Trail
references:
    - https://docs.aws.amazon.com/awscloudtrail/latest/userguide/best-practices-security.html
author: vitaliy0x1
date: 2020-01-21
modified: 2022-10-09
tags:
    - attack.defense-evasion
    - attack.t1562.001
logsource:
    product: aws
    service: cloudtrail
detection:
    selection_source:
        eventSource: cloudtrail.amazonaws.com
        eventName:
            - StopLogging
            - UpdateTrail
            - DeleteTrail
    condition: selection_source
falsepositives:
    - Valid change in a Trail
level: medium
"#,
        );
        assert_eq!(r.id, "4db60cc0-36fb-42b7-9b58-a5b53019fb74");
        assert_eq!(r.level, Level::Medium);
        let e = json!({ "eventSource": "cloudtrail.amazonaws.com", "eventName": "StopLogging" });
        assert!(r.matches(&e));
        let e = json!({ "eventSource": "cloudtrail.amazonaws.com", "eventName": "StartLogging" });
        assert!(!r.matches(&e));
    }

    #[test]
    fn other_log_sources_are_skipped_and_timeframes_read() {
        let text = "title: T\nid: x\nlevel: low\nlogsource:\n  product: windows\ndetection:\n  s:\n    a: b\n  condition: s\n";
        assert!(matches!(Rule::parse(text).unwrap(), Read::OtherSource(_)));
        let r = rule(&format!(
            "{HEAD}detection:\n  s:\n    errorCode: AccessDenied\n  timeframe: 5m\n  condition: s | count() by sourceIPAddress > 3\n"
        ));
        assert_eq!(r.timeframe_secs, 300);
        assert_eq!(r.count.unwrap().bound, 3);
    }

    #[test]
    fn malformed_rules_are_refused_with_the_reason() {
        let err =
            |detection: &str| Rule::parse(&format!("{HEAD}detection:\n{detection}")).unwrap_err();
        assert!(err("  s:\n    a: b\n").contains("condition is required"));
        assert!(
            err("  s:\n    a|base64: b\n  condition: s\n").contains("`base64` is not supported")
        );
        assert!(err("  s:\n    - a\n    - b\n  condition: s\n").contains("keyword lists"));
        assert!(
            err("  s:\n    a: b\n  condition: s | count() > 2\n").contains("needs a `timeframe`")
        );
        assert!(err("  s:\n    a: b\n  timeframe: 5m\n  condition: s\n").contains("needs a count"));
        assert!(
            err("  s:\n    a: b\n  timeframe: 5 minutes\n  condition: s | count() > 1\n")
                .contains("`timeframe`")
        );
        assert!(err("  s:\n    a: b\n  condition: t\n").contains("no selection is named `t`"));
        assert!(err("  s:\n    a: b\n  condition: [s, s]\n").contains("list of conditions"));
        assert!(Rule::parse("title: T\nid: 'a b'\nlevel: high\nlogsource: {product: aws, service: cloudtrail}\ndetection: {s: {a: b}, condition: s}\n")
            .unwrap_err()
            .contains("`id`"));
        assert!(Rule::parse("title: T\nid: a\nlevel: severe\nlogsource: {product: aws, service: cloudtrail}\ndetection: {s: {a: b}, condition: s}\n")
            .unwrap_err()
            .contains("`level` `severe`"));
        assert!(Rule::parse("title: [\n").unwrap_err().contains("not YAML"));
    }

    proptest::proptest! {
        #[test]
        fn reading_any_detection_never_panics(
            key in "[a-zA-Z.|*?]{0,24}",
            value in "[ a-z0-9*?\\\\\\[\\],.:/|()-]{0,24}",
            condition in proptest::prop_oneof![
                proptest::strategy::Just("sel".to_string()),
                proptest::strategy::Just("sel | count() > 2".to_string()),
                "[ a-z_*()|0-9<>=]{0,40}",
            ],
        ) {
            let text = format!(
                "{HEAD}detection:\n  sel:\n    '{key}': '{value}'\n  timeframe: 1m\n  condition: '{condition}'\n"
            );
            if let Ok(Read::Rule(r)) = Rule::parse(&text) {
                let _ = r.matches(&json!({ "eventName": value, "a": { "b": [value] } }));
            }
        }
    }
}
