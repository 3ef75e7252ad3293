//! The security score as AWS computes it: over the controls that have results, the share
//! that passed. A control fails when any of its active findings fails, and passes when all
//! of them pass; controls without results (no data, disabled) do not count. A standard's
//! score counts the control findings associated with that standard
//! (`Compliance.AssociatedStandards`), as AWS scores each enabled standard.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::catalog;

/// One failed control.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FailedControl {
    /// Its id (`IAM.2`).
    pub id: String,
    /// Its title.
    pub title: String,
    /// Its severity.
    pub severity: String,
    /// How many resources fail it.
    pub failed_resources: usize,
}

/// An account's posture in one region.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Posture {
    /// Controls that passed.
    pub passed: usize,
    /// Controls that failed, most severe first.
    pub failed: Vec<FailedControl>,
}

impl Posture {
    /// The score in whole percent (rounded down, as AWS shows it), `None` without results.
    pub fn score(&self) -> Option<usize> {
        let total = self.passed + self.failed.len();
        (total > 0).then(|| self.passed * 100 / total)
    }
}

/// The rank of a severity, most severe first.
fn rank(severity: &str) -> usize {
    ["CRITICAL", "HIGH", "MEDIUM", "LOW", "INFORMATIONAL"]
        .iter()
        .position(|s| *s == severity)
        .unwrap_or(5)
}

/// The posture of a set of control findings (active ones count; others are ignored).
pub fn of(findings: &[Value]) -> Posture {
    let mut by_control: BTreeMap<String, (usize, usize, String, String)> = BTreeMap::new();
    for f in findings {
        if f.get("RecordState").and_then(Value::as_str) != Some("ACTIVE") {
            continue;
        }
        let Some(id) = f
            .pointer("/Compliance/SecurityControlId")
            .and_then(Value::as_str)
        else {
            continue;
        };
        let status = f
            .pointer("/Compliance/Status")
            .and_then(Value::as_str)
            .unwrap_or("");
        let title = f
            .get("Title")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
        let severity = catalog::control(id).map_or_else(
            || {
                f.pointer("/Severity/Label")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_string()
            },
            |c| c.severity.to_string(),
        );
        let e = by_control
            .entry(id.to_string())
            .or_insert((0, 0, title, severity));
        match status {
            "PASSED" => e.0 += 1,
            "FAILED" => e.1 += 1,
            _ => {}
        }
    }
    let mut p = Posture::default();
    for (id, (passed, failed, title, severity)) in by_control {
        if failed > 0 {
            p.failed.push(FailedControl {
                id,
                title,
                severity,
                failed_resources: failed,
            });
        } else if passed > 0 {
            p.passed += 1;
        }
    }
    p.failed.sort_by(|a, b| {
        rank(&a.severity)
            .cmp(&rank(&b.severity))
            .then_with(|| a.id.cmp(&b.id))
    });
    p
}

/// Whether a control finding is associated with the standard `key`.
fn in_standard(f: &Value, key: &str) -> bool {
    let id = format!("standards/{key}");
    f.pointer("/Compliance/AssociatedStandards")
        .and_then(Value::as_array)
        .is_some_and(|a| {
            a.iter()
                .any(|s| s.get("StandardsId").and_then(Value::as_str) == Some(id.as_str()))
        })
}

/// The posture of one standard: [`of`] over the findings associated with it.
pub fn of_standard(findings: &[Value], key: &str) -> Posture {
    let mine: Vec<Value> = findings
        .iter()
        .filter(|f| in_standard(f, key))
        .cloned()
        .collect();
    of(&mine)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn f(control: &str, status: &str, state: &str) -> Value {
        json!({"RecordState": state, "Title": format!("{control} title"),
               "Compliance": {"SecurityControlId": control, "Status": status}})
    }

    #[test]
    fn a_control_fails_when_any_resource_fails_and_archived_results_do_not_count() {
        let p = of(&[
            f("IAM.2", "PASSED", "ACTIVE"),
            f("IAM.2", "FAILED", "ACTIVE"),
            f("S3.2", "FAILED", "ACTIVE"),
            f("S3.5", "PASSED", "ACTIVE"),
            f("S3.5", "PASSED", "ACTIVE"),
            f("KMS.3", "FAILED", "ARCHIVED"),
            f("IAM.4", "NOT_AVAILABLE", "ACTIVE"),
        ]);
        assert_eq!(p.passed, 1);
        let failed: Vec<(&str, &str, usize)> = p
            .failed
            .iter()
            .map(|c| (c.id.as_str(), c.severity.as_str(), c.failed_resources))
            .collect();
        assert_eq!(failed, [("S3.2", "CRITICAL", 1), ("IAM.2", "LOW", 1)]);
        assert_eq!(p.score(), Some(33));
        assert_eq!(of(&[]).score(), None);
    }

    #[test]
    fn a_standard_counts_only_its_associated_findings() {
        let with = |control: &str, status: &str, standards: &[&str]| {
            let mut v = f(control, status, "ACTIVE");
            let ids: Vec<Value> = standards
                .iter()
                .map(|s| json!({"StandardsId": format!("standards/{s}")}))
                .collect();
            crate::set(
                &mut v,
                "Compliance",
                json!({"SecurityControlId": control, "Status": status, "AssociatedStandards": ids}),
            );
            v
        };
        let all = [
            with("IAM.2", "FAILED", &[catalog::FSBP, catalog::CIS]),
            with("IAM.15", "PASSED", &[catalog::CIS]),
            with("S3.2", "PASSED", &[catalog::FSBP]),
        ];
        let cis = of_standard(&all, catalog::CIS);
        assert_eq!(
            (cis.passed, cis.failed.len(), cis.score()),
            (1, 1, Some(50))
        );
        let fsbp = of_standard(&all, catalog::FSBP);
        assert_eq!(fsbp.score(), Some(50));
        assert_eq!(of_standard(&all, catalog::NIST).score(), None);
    }
}
