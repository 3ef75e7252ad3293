//! Operators' own detections as Sigma rules (SigmaHQ's format, `logsource` `product: aws`,
//! `service: cloudtrail`), loaded from the folder named by the server's `--sigma-rules` and
//! run over the audit stream beside the built-in rules.
//!
//! A record that meets a rule's condition is a finding of type `Rampart:Custom/<rule id>` in
//! the detector watching the record, through the same machinery as built-in findings
//! ([`crate::finding::record`]): a repeat by the same principal updates one finding. With a
//! count aggregation (`| count() [by field] > N` and a `timeframe`), each match is counted
//! in a sliding window on the request clock (the record's `eventTime`), one per rule and
//! group value, kept as entities of kind [`WINDOWS`] under the detector; a match that brings
//! its window past the bound is a finding.
//!
//! - [`rule`]: a rule file read and checked; [`field`]: field tests and modifiers;
//!   [`condition`]: the condition and aggregation parser.

pub mod condition;
pub mod field;
pub mod rule;

use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use rampart_kit::{db::Db, entity, error::ServiceError};
use rampart_store::Entity;
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

use crate::{
    detect::Call,
    finding::Observation,
    model::{self, Detector},
};
pub use rule::{Level, Read, Rule};

/// The entity kind of a rule's count window.
pub const WINDOWS: &str = "guardduty:sigma-window";
/// The finding type prefix of custom detections.
pub const TYPE_PREFIX: &str = "Rampart:Custom/";

/// A rule file that cannot be loaded, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadError {
    /// The file (or folder).
    pub file: PathBuf,
    /// Why.
    pub reason: String,
}

impl std::fmt::Display for LoadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Sigma rule {}: {}", self.file.display(), self.reason)
    }
}

impl std::error::Error for LoadError {}

/// The loaded rules.
#[derive(Debug, Clone, Default)]
pub struct Rules {
    rules: Vec<Rule>,
}

impl Rules {
    /// The rules of the `.yml`/`.yaml` files directly in `dir`, in file-name order, and a
    /// warning for each rule of another log source (skipped). Any file that does not read
    /// as a supported rule, and any id used twice, is an error: the caller refuses to start.
    pub fn load(dir: &Path) -> Result<(Rules, Vec<String>), LoadError> {
        let fail = |file: &Path, reason: String| LoadError {
            file: file.to_path_buf(),
            reason,
        };
        let entries = std::fs::read_dir(dir).map_err(|e| fail(dir, e.to_string()))?;
        let mut files = Vec::new();
        for entry in entries {
            let path = entry.map_err(|e| fail(dir, e.to_string()))?.path();
            let yaml = path
                .extension()
                .and_then(|e| e.to_str())
                .is_some_and(|e| e == "yml" || e == "yaml");
            if yaml && path.is_file() {
                files.push(path);
            }
        }
        files.sort();
        let mut rules: Vec<Rule> = Vec::new();
        let mut warnings = Vec::new();
        for file in files {
            let text = std::fs::read_to_string(&file).map_err(|e| fail(&file, e.to_string()))?;
            match Rule::parse(&text).map_err(|e| fail(&file, e))? {
                Read::Rule(r) => {
                    if rules.iter().any(|o| o.id == r.id) {
                        return Err(fail(&file, format!("the id `{}` is used twice", r.id)));
                    }
                    rules.push(*r);
                }
                Read::OtherSource(s) => warnings.push(format!(
                    "Sigma rule {}: skipped: its log source ({s}) is not product aws, service cloudtrail",
                    file.display()
                )),
            }
        }
        Ok((Rules { rules }, warnings))
    }

    /// Rules already read (tests, embedding).
    pub fn of(rules: Vec<Rule>) -> Rules {
        Rules { rules }
    }

    /// How many rules are loaded.
    pub fn len(&self) -> usize {
        self.rules.len()
    }

    /// Whether no rule is loaded.
    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }
}

/// The match times (epoch milliseconds) of one rule and group within its timeframe, with
/// the counted field's value when the count is of distinct values.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Window {
    /// Matches, oldest first.
    pub hits: Vec<(i64, Option<String>)>,
}

impl Window {
    /// Counts a match at `t` (with `value` for distinct counts) within `secs`; keeps at most
    /// `keep` entries. Returns the count in the window.
    pub fn hit(&mut self, t: DateTime<Utc>, value: Option<String>, secs: i64, keep: usize) -> u64 {
        let now = t.timestamp_millis();
        let start = now - secs * 1000;
        self.hits.retain(|(at, _)| *at > start && *at <= now);
        if value.is_some() {
            // Distinct values: keep only the latest time of each.
            self.hits.retain(|(_, v)| *v != value);
        }
        self.hits.push((now, value));
        self.hits.sort_by_key(|(at, _)| *at);
        if self.hits.len() > keep {
            let extra = self.hits.len() - keep;
            self.hits.drain(..extra);
        }
        u64::try_from(self.hits.len()).unwrap_or(u64::MAX)
    }
}

/// The text of the first value at a dotted `path` of `record`.
fn field_text(record: &Value, path: &str) -> Option<String> {
    let mut v = record;
    for part in path.split('.') {
        v = v.as_object().and_then(|m| {
            m.get(part).or_else(|| {
                m.iter()
                    .find(|(k, _)| k.eq_ignore_ascii_case(part))
                    .map(|(_, v)| v)
            })
        })?;
    }
    match v {
        Value::Null => None,
        Value::String(s) => Some(s.clone()),
        other => Some(other.to_string()),
    }
}

/// What `call` shows under `rules`, for detector `d`; counts matches in the windows.
pub async fn observe(
    db: &mut Db<'_>,
    d: &Detector,
    rules: &Rules,
    call: &Call<'_>,
) -> Result<Vec<Observation>, ServiceError> {
    let mut out = Vec::new();
    let record = call.event();
    for rule in &rules.rules {
        if !rule.matches(record) {
            continue;
        }
        let mut info = Map::new();
        info.insert("sigmaRuleId".into(), json!(rule.id));
        info.insert("sigmaLevel".into(), json!(rule.level.name()));
        if let Some(count) = &rule.count {
            let group = count
                .by
                .as_deref()
                .map(|f| field_text(record, f).unwrap_or_default());
            let value = match &count.distinct {
                Some(f) => match field_text(record, f) {
                    Some(v) => Some(v),
                    // Sigma counts only the values a field has.
                    None => continue,
                },
                None => None,
            };
            let keep = usize::try_from(count.bound.saturating_add(1)).unwrap_or(usize::MAX);
            let n = count_hit(db, d, rule, group.as_deref(), value, call.time, keep).await?;
            if !count.passes(n) {
                continue;
            }
            info.insert("count".into(), json!(n));
            info.insert("timeframeSeconds".into(), json!(rule.timeframe_secs));
            if let (Some(by), Some(g)) = (&count.by, &group) {
                info.insert("groupBy".into(), json!({ by.as_str(): g }));
            }
        }
        let mut o = call.custom(
            format!("{TYPE_PREFIX}{}", rule.id),
            rule.level.severity(),
            rule.title.clone(),
            &rule.description,
        );
        o.additional_info = Some(json!({
            "Value": Value::Object(info).to_string(),
            "Type": "default",
        }));
        out.push(o);
    }
    Ok(out)
}

/// Counts a match of `rule` for `group` in its stored window; returns the count.
async fn count_hit(
    db: &mut Db<'_>,
    d: &Detector,
    rule: &Rule,
    group: Option<&str>,
    value: Option<String>,
    t: DateTime<Utc>,
    keep: usize,
) -> Result<u64, ServiceError> {
    // Group values are any text: the window is named by a digest of the group.
    let digest = aws_lc_rs::digest::digest(
        &aws_lc_rs::digest::SHA256,
        group.unwrap_or_default().as_bytes(),
    );
    let name = format!(
        "{}/{}",
        rule.id,
        hex::encode(digest.as_ref().get(..12).unwrap_or_default())
    );
    let name_key = format!("{}/{name}", d.id());
    let found = entity::load_doc::<Window>(db, d.account(), WINDOWS, &name_key).await?;
    let (found, mut w) = match found {
        Some((e, w)) => (Some(e), w),
        None => (None, Window::default()),
    };
    let n = w.hit(t, value, rule.timeframe_secs, keep);
    if let Some(e) = found {
        entity::save_doc(db, e, &w, t).await?;
        return Ok(n);
    }
    let mut e = Entity {
        account_id: d.account().to_string(),
        kind: WINDOWS.into(),
        name: name.clone(),
        name_key: name_key.clone(),
        id: format!("guardduty-sigma-{name_key}"),
        path: model::under(d.id()),
        arn: format!("{}/sigma/{name}", d.entity.arn),
        created_at: t,
        updated_at: t,
        doc: String::new(),
    };
    entity::write_doc(&mut e, &w, t)?;
    db.entities().create(&e).await?;
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at(secs: i64) -> DateTime<Utc> {
        Utc.timestamp_opt(1_800_000_000 + secs, 0).unwrap()
    }

    #[test]
    fn windows_count_matches_within_the_timeframe() {
        let mut w = Window::default();
        assert_eq!(w.hit(at(0), None, 60, 100), 1);
        assert_eq!(w.hit(at(30), None, 60, 100), 2);
        assert_eq!(w.hit(at(59), None, 60, 100), 3);
        // The first match has left the window.
        assert_eq!(w.hit(at(61), None, 60, 100), 3);
        assert_eq!(w.hit(at(200), None, 60, 100), 1);
        // Only `keep` entries are kept: counts saturate there.
        let mut w = Window::default();
        for i in 0..10 {
            w.hit(at(i), None, 60, 4);
        }
        assert_eq!(w.hits.len(), 4);
    }

    #[test]
    fn distinct_counts_count_values_once() {
        let mut w = Window::default();
        assert_eq!(w.hit(at(0), Some("a".into()), 60, 100), 1);
        assert_eq!(w.hit(at(1), Some("a".into()), 60, 100), 1);
        assert_eq!(w.hit(at(2), Some("b".into()), 60, 100), 2);
        assert_eq!(w.hit(at(61), Some("c".into()), 60, 100), 2);
    }

    #[test]
    fn group_fields_are_read_as_text() {
        let r = json!({ "sourceIPAddress": "1.2.3.4", "userIdentity": { "Type": "Root" }, "n": 3 });
        assert_eq!(
            field_text(&r, "sourceIPAddress").as_deref(),
            Some("1.2.3.4")
        );
        assert_eq!(field_text(&r, "userIdentity.type").as_deref(), Some("Root"));
        assert_eq!(field_text(&r, "n").as_deref(), Some("3"));
        assert_eq!(field_text(&r, "missing"), None);
    }

    #[test]
    fn folders_load_and_bad_files_name_themselves() {
        let dir = std::env::temp_dir().join(format!("sigma-load-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        let good = "title: T\nid: good\nlevel: low\nlogsource: {product: aws, service: cloudtrail}\ndetection: {s: {eventName: X}, condition: s}\n";
        std::fs::write(dir.join("a.yml"), good).unwrap();
        std::fs::write(
            dir.join("b.yaml"),
            good.replace("product: aws", "product: gcp"),
        )
        .unwrap();
        std::fs::write(dir.join("notes.txt"), "not a rule").unwrap();
        let (rules, warnings) = Rules::load(&dir).unwrap();
        assert_eq!(rules.len(), 1);
        assert_eq!(warnings.len(), 1);
        assert!(warnings[0].contains("b.yaml"));
        std::fs::write(
            dir.join("c.yml"),
            good.replace("condition: s", "condition: s and t"),
        )
        .unwrap();
        let err = Rules::load(&dir).unwrap_err();
        assert!(err.file.ends_with("c.yml"));
        assert!(err.to_string().contains("no selection is named `t`"));
        std::fs::write(dir.join("c.yml"), good).unwrap();
        assert!(Rules::load(&dir).unwrap_err().reason.contains("used twice"));
        std::fs::remove_dir_all(&dir).unwrap();
        assert!(Rules::load(&dir).is_err());
    }
}
