//! A web ACL's logging configuration, compiled for the listeners: where its log records go
//! (an S3 bucket named `aws-waf-logs-*`), which fields are redacted, and which records the
//! `LoggingFilter` keeps; and one request's record in AWS WAF's log format.

use serde_json::{json, Value};

use super::{compile::Invalid, fields::Request, Action, Body, Decision, WebAcl};

/// The prefix AWS requires of a logging destination's name.
pub const DESTINATION_PREFIX: &str = "aws-waf-logs-";
/// The most redacted fields a configuration takes (AWS's limit).
pub const MAX_REDACTED: usize = 100;
/// What a redacted field's value becomes, as in AWS's logs.
pub const REDACTED: &str = "REDACTED";

/// One condition of a filter.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Condition {
    /// `ActionCondition`: the record's action (`ALLOW`, `BLOCK`), or `COUNT` for a request
    /// a `Count` rule matched.
    Action(String),
    /// `LabelNameCondition`: a label the request carries (fully qualified).
    Label(String),
}

/// One filter of a `LoggingFilter`.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Filter {
    keep: bool,
    all: bool,
    conditions: Vec<Condition>,
}

/// A compiled logging configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogConfig {
    /// The destination bucket's name.
    pub bucket: String,
    /// Header names to redact (lowercase).
    headers: Vec<String>,
    uri: bool,
    query: bool,
    method: bool,
    /// The filters, in order, and the default behaviour (keep or not).
    filters: Vec<Filter>,
    default_keep: bool,
}

fn inv(field: &'static str, parameter: impl Into<String>, reason: &str) -> Invalid {
    Invalid {
        field,
        parameter: parameter.into(),
        reason: reason.into(),
    }
}

/// The bucket name of a destination ARN Rampart can deliver to: an S3 bucket ARN whose name
/// starts with `aws-waf-logs-`.
pub fn bucket_of(destination: &str) -> Result<String, Invalid> {
    let bucket = rampart_kit::Partition::of_arn(destination)
        .and_then(|p| p.strip_arn(destination, "s3"))
        .and_then(|rest| rest.strip_prefix("::"));
    let name = bucket.ok_or_else(|| {
        inv(
            "LOG_DESTINATION",
            destination,
            "Rampart delivers logs to Amazon S3 buckets only: the destination must be an S3 bucket ARN.",
        )
    })?;
    let valid = name.starts_with(DESTINATION_PREFIX)
        && name.len() <= 63
        && !name.contains('/')
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.');
    if !valid {
        return Err(inv(
            "LOG_DESTINATION",
            destination,
            "The name of the logging destination must start with aws-waf-logs-.",
        ));
    }
    Ok(name.to_string())
}

/// The one field a `RedactedFields` entry names: `SingleHeader`, `UriPath`, `QueryString` or
/// `Method`, the fields AWS lets one redact.
fn redacted_field(f: &Value) -> Result<(&str, Option<String>), Invalid> {
    let obj = f.as_object().filter(|o| o.len() == 1).ok_or_else(|| {
        inv(
            "REDACTED_FIELDS",
            f.to_string(),
            "A redacted field names exactly one field.",
        )
    })?;
    let Some((kind, inner)) = obj.iter().next() else {
        return Err(inv("REDACTED_FIELDS", "", "A redacted field is empty."));
    };
    match kind.as_str() {
        "SingleHeader" => {
            let name = inner
                .get("Name")
                .and_then(Value::as_str)
                .filter(|n| !n.is_empty())
                .ok_or_else(|| {
                    inv(
                        "REDACTED_FIELDS",
                        "SingleHeader",
                        "A SingleHeader needs a Name.",
                    )
                })?;
            Ok(("SingleHeader", Some(name.to_ascii_lowercase())))
        }
        "UriPath" | "QueryString" | "Method" => Ok((kind.as_str(), None)),
        other => Err(inv(
            "REDACTED_FIELDS",
            other,
            "Only SingleHeader, UriPath, QueryString and Method can be redacted.",
        )),
    }
}

fn behavior(v: Option<&Value>, field: &'static str) -> Result<bool, Invalid> {
    match v.and_then(Value::as_str) {
        Some("KEEP") => Ok(true),
        Some("DROP") => Ok(false),
        other => Err(inv(
            field,
            other.unwrap_or_default(),
            "The behavior must be KEEP or DROP.",
        )),
    }
}

fn condition(c: &Value) -> Result<Condition, Invalid> {
    if let Some(a) = c.get("ActionCondition") {
        let action = a.get("Action").and_then(Value::as_str).unwrap_or_default();
        return match action {
            "ALLOW" | "BLOCK" | "COUNT" | "CAPTCHA" | "CHALLENGE" | "EXCLUDED_AS_COUNT" => {
                Ok(Condition::Action(action.to_string()))
            }
            other => Err(inv(
                "FILTER_CONDITION",
                other,
                "The action condition's action is not valid.",
            )),
        };
    }
    if let Some(l) = c.get("LabelNameCondition") {
        let name = l
            .get("LabelName")
            .and_then(Value::as_str)
            .filter(|n| !n.is_empty())
            .ok_or_else(|| {
                inv(
                    "FILTER_CONDITION",
                    "LabelNameCondition",
                    "A label name condition needs a LabelName.",
                )
            })?;
        return Ok(Condition::Label(name.to_string()));
    }
    Err(inv(
        "FILTER_CONDITION",
        c.to_string(),
        "A condition is an ActionCondition or a LabelNameCondition.",
    ))
}

fn filters(v: &Value) -> Result<(Vec<Filter>, bool), Invalid> {
    let default_keep = behavior(v.get("DefaultBehavior"), "FILTER_DEFAULT_BEHAVIOR")?;
    let list = v.get("Filters").and_then(Value::as_array).ok_or_else(|| {
        inv(
            "LOGGING_FILTER",
            "Filters",
            "A logging filter needs Filters.",
        )
    })?;
    if list.is_empty() {
        return Err(inv(
            "LOGGING_FILTER",
            "Filters",
            "A logging filter needs at least one filter.",
        ));
    }
    let mut out = Vec::new();
    for f in list {
        let keep = behavior(f.get("Behavior"), "FILTER_BEHAVIOR")?;
        let all = match f.get("Requirement").and_then(Value::as_str) {
            Some("MEETS_ALL") => true,
            Some("MEETS_ANY") => false,
            other => {
                return Err(inv(
                    "FILTER_REQUIREMENT",
                    other.unwrap_or_default(),
                    "The requirement must be MEETS_ALL or MEETS_ANY.",
                ))
            }
        };
        let conditions = f
            .get("Conditions")
            .and_then(Value::as_array)
            .filter(|c| !c.is_empty())
            .ok_or_else(|| {
                inv(
                    "FILTER_CONDITION",
                    "Conditions",
                    "A filter needs at least one condition.",
                )
            })?
            .iter()
            .map(condition)
            .collect::<Result<Vec<_>, _>>()?;
        out.push(Filter {
            keep,
            all,
            conditions,
        });
    }
    Ok((out, default_keep))
}

impl LogConfig {
    /// Compiles a stored `LoggingConfiguration` (checked as `PutLoggingConfiguration`
    /// checks it).
    pub fn compile(v: &Value) -> Result<LogConfig, Invalid> {
        let destinations = v
            .get("LogDestinationConfigs")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        let [destination] = destinations.as_slice() else {
            return Err(inv(
                "LOG_DESTINATION",
                destinations.len().to_string(),
                "A logging configuration has exactly one destination.",
            ));
        };
        let bucket = bucket_of(destination.as_str().unwrap_or_default())?;
        let mut config = LogConfig {
            bucket,
            headers: Vec::new(),
            uri: false,
            query: false,
            method: false,
            filters: Vec::new(),
            default_keep: true,
        };
        let redacted = v
            .get("RedactedFields")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        if redacted.len() > MAX_REDACTED {
            return Err(inv(
                "REDACTED_FIELDS",
                redacted.len().to_string(),
                "At most 100 fields can be redacted.",
            ));
        }
        for f in &redacted {
            match redacted_field(f)? {
                ("SingleHeader", Some(name)) => config.headers.push(name),
                ("UriPath", _) => config.uri = true,
                ("QueryString", _) => config.query = true,
                _ => config.method = true,
            }
        }
        if let Some(filter) = v.get("LoggingFilter").filter(|f| !f.is_null()) {
            let (list, default_keep) = filters(filter)?;
            config.filters = list;
            config.default_keep = default_keep;
        }
        Ok(config)
    }

    /// Whether the filter keeps a record with `action` (`ALLOW`, `BLOCK`), whether a `Count`
    /// rule matched, and the request's labels: the first filter whose conditions hold
    /// decides, the default behaviour otherwise.
    pub fn keeps(&self, action: &str, counted: bool, labels: &[String]) -> bool {
        let holds = |c: &Condition| match c {
            Condition::Action(a) if a == "COUNT" => counted,
            Condition::Action(a) => a == action,
            Condition::Label(l) => labels.iter().any(|x| x == l),
        };
        for f in &self.filters {
            let met = if f.all {
                f.conditions.iter().all(holds)
            } else {
                f.conditions.iter().any(holds)
            };
            if met {
                return f.keep;
            }
        }
        self.default_keep
    }
}

/// What the listener knows of a request besides what the web ACL inspected.
#[derive(Debug, Clone)]
pub struct Seen<'a> {
    /// When it arrived, in epoch milliseconds (request clock).
    pub at_ms: u64,
    /// The client address.
    pub client_ip: String,
    /// Its country, when the geolocation database places it.
    pub country: Option<String>,
    /// `HTTP/1.1` and the like.
    pub http_version: &'a str,
    /// The request's id (ALB's trace id).
    pub request_id: &'a str,
    /// The load balancer, as AWS names it in `httpSourceId` (`ACCOUNT-app/NAME/ID`).
    pub source_id: &'a str,
}

/// AWS's `terminatingRuleType` of the rule named `name`.
fn rule_type(acl: &WebAcl, name: &str) -> &'static str {
    match acl.rules.iter().find(|r| r.name == name).map(|r| &r.body) {
        Some(Body::Statement(super::stmt::Stmt::Rate(..), _)) => "RATE_BASED",
        Some(Body::Group(g)) if g.managed => "MANAGED_RULE_GROUP",
        Some(Body::Group(_)) => "GROUP",
        _ => "REGULAR",
    }
}

/// The action's name in the log.
pub fn action_name(action: &Action) -> &'static str {
    match action {
        Action::Allow(_) => "ALLOW",
        Action::Block(_) => "BLOCK",
        Action::Count => "COUNT",
        Action::Captcha(_) => "CAPTCHA",
        Action::Challenge(_) => "CHALLENGE",
    }
}

/// One request's log record in AWS WAF's format, with `config`'s fields redacted.
pub fn record(
    acl: &WebAcl,
    config: &LogConfig,
    request: &Request,
    decision: &Decision,
    seen: &Seen<'_>,
) -> Value {
    let action = action_name(&decision.action);
    let (terminating, rule_type) = match &decision.rule {
        Some(name) => (name.clone(), rule_type(acl, name)),
        None => ("Default_Action".to_string(), "REGULAR"),
    };
    let rule_groups: Vec<Value> = match (&decision.rule, &decision.group_rule) {
        (Some(rule), Some(group_rule)) => vec![json!({
            "ruleGroupId": acl.rules.iter().find(|r| &r.name == rule)
                .and_then(|r| match &r.body { Body::Group(g) => Some(g.id.clone()), _ => None })
                .unwrap_or_else(|| rule.clone()),
            "terminatingRule": { "ruleId": group_rule, "action": action, "ruleMatchDetails": null },
            "nonTerminatingMatchingRules": [],
            "excludedRules": null,
            "customerConfig": null,
        })],
        _ => Vec::new(),
    };
    let headers: Vec<Value> = request
        .headers
        .iter()
        .map(|(name, value)| {
            let value = if config.headers.contains(&name.to_ascii_lowercase()) {
                REDACTED
            } else {
                value.as_str()
            };
            json!({ "name": name, "value": value })
        })
        .collect();
    let redact = |on: bool, v: &str| -> String {
        if on {
            REDACTED.to_string()
        } else {
            v.to_string()
        }
    };
    let response_code = match &decision.action {
        Action::Block(r) => json!(r.status),
        _ => Value::Null,
    };
    let labels: Vec<Value> = decision
        .labels
        .iter()
        .map(|l| json!({ "name": l }))
        .collect();
    json!({
        "timestamp": seen.at_ms,
        "formatVersion": 1,
        "webaclId": acl.arn,
        "terminatingRuleId": terminating,
        "terminatingRuleType": rule_type,
        "action": action,
        "terminatingRuleMatchDetails": [],
        "httpSourceName": "ALB",
        "httpSourceId": seen.source_id,
        "ruleGroupList": rule_groups,
        "rateBasedRuleList": [],
        "nonTerminatingMatchingRules": decision.counted.iter()
            .map(|r| json!({ "ruleId": r, "action": "COUNT", "ruleMatchDetails": [] }))
            .collect::<Vec<_>>(),
        "requestHeadersInserted": null,
        "responseCodeSent": response_code,
        "httpRequest": {
            "clientIp": seen.client_ip,
            "country": seen.country.as_deref().unwrap_or("-"),
            "headers": headers,
            "uri": redact(config.uri, &request.uri_path),
            "args": redact(config.query, &request.query),
            "httpVersion": seen.http_version,
            "httpMethod": redact(config.method, &request.method),
            "requestId": seen.request_id,
        },
        "labels": labels,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(v: Value) -> LogConfig {
        match LogConfig::compile(&v) {
            Ok(c) => c,
            Err(e) => panic!("{e:?}"),
        }
    }

    #[test]
    fn destinations_must_be_aws_waf_logs_buckets() {
        assert_eq!(
            bucket_of("arn:aws:s3:::aws-waf-logs-x").ok().as_deref(),
            Some("aws-waf-logs-x")
        );
        assert!(bucket_of("arn:aws:s3:::my-bucket").is_err());
        assert_eq!(
            bucket_of("arn:aws-cn:s3:::aws-waf-logs-x").ok().as_deref(),
            Some("aws-waf-logs-x")
        );
        assert!(bucket_of("arn:aws:logs:us-east-1:1:log-group:aws-waf-logs-x").is_err());
        let two = json!({ "LogDestinationConfigs": ["arn:aws:s3:::aws-waf-logs-a", "arn:aws:s3:::aws-waf-logs-b"] });
        assert!(LogConfig::compile(&two).is_err());
    }

    #[test]
    fn filters_decide_in_order_then_default() {
        let c = config(json!({
            "LogDestinationConfigs": ["arn:aws:s3:::aws-waf-logs-x"],
            "LoggingFilter": { "DefaultBehavior": "KEEP", "Filters": [
                { "Behavior": "KEEP", "Requirement": "MEETS_ALL", "Conditions": [
                    { "ActionCondition": { "Action": "ALLOW" } },
                    { "LabelNameCondition": { "LabelName": "awswaf:1:webacl:a:keep" } }] },
                { "Behavior": "DROP", "Requirement": "MEETS_ANY", "Conditions": [
                    { "ActionCondition": { "Action": "ALLOW" } },
                    { "ActionCondition": { "Action": "COUNT" } }] }] }
        }));
        assert!(c.keeps("BLOCK", false, &[]));
        assert!(!c.keeps("ALLOW", false, &[]));
        assert!(!c.keeps("BLOCK", true, &[]));
        assert!(c.keeps("ALLOW", false, &["awswaf:1:webacl:a:keep".into()]));
    }

    #[test]
    fn bad_filters_and_redactions_are_refused() {
        for bad in [
            json!({ "LoggingFilter": { "DefaultBehavior": "MAYBE", "Filters": [] } }),
            json!({ "LoggingFilter": { "DefaultBehavior": "KEEP", "Filters": [
                { "Behavior": "KEEP", "Requirement": "MEETS_ALL", "Conditions": [] }] } }),
            json!({ "RedactedFields": [{ "Body": {} }] }),
            json!({ "RedactedFields": [{ "SingleHeader": {} }] }),
        ] {
            let mut v = bad;
            v["LogDestinationConfigs"] = json!(["arn:aws:s3:::aws-waf-logs-x"]);
            assert!(LogConfig::compile(&v).is_err(), "{v}");
        }
    }

    #[test]
    fn records_are_redacted_as_aws_does() {
        let c = config(json!({
            "LogDestinationConfigs": ["arn:aws:s3:::aws-waf-logs-x"],
            "RedactedFields": [{ "SingleHeader": { "Name": "Authorization" } }, { "QueryString": {} }]
        }));
        let acl = WebAcl {
            arn: "arn:aws:wafv2:us-east-1:1:regional/webacl/a/id".into(),
            rules: Vec::new(),
            default: Action::Allow(Vec::new()),
            capacity: 0,
            sampled_metric: None,
            captcha_immunity: crate::engine::DEFAULT_IMMUNITY,
            challenge_immunity: crate::engine::DEFAULT_IMMUNITY,
            token_domains: Vec::new(),
            logging: None,
        };
        let req = Request {
            method: "GET".into(),
            uri_path: "/p".into(),
            query: "a=1".into(),
            headers: vec![
                ("authorization".into(), "secret".into()),
                ("host".into(), "h".into()),
            ],
            body: Vec::new(),
            body_oversize: false,
            source_ip: None,
            token: Default::default(),
        };
        let decision = Decision {
            action: Action::Allow(Vec::new()),
            rule: None,
            group_rule: None,
            labels: Vec::new(),
            counted: vec!["c".into()],
        };
        let seen = Seen {
            at_ms: 5,
            client_ip: "127.0.0.1".into(),
            country: None,
            http_version: "HTTP/1.1",
            request_id: "Root=1-a-b",
            source_id: "1-app/lb/x",
        };
        let r = record(&acl, &c, &req, &decision, &seen);
        assert_eq!(r["httpRequest"]["headers"][0]["value"], "REDACTED");
        assert_eq!(r["httpRequest"]["headers"][1]["value"], "h");
        assert_eq!(r["httpRequest"]["args"], "REDACTED");
        assert_eq!(r["httpRequest"]["uri"], "/p");
        assert_eq!(r["httpRequest"]["country"], "-");
        assert_eq!(r["terminatingRuleId"], "Default_Action");
        assert_eq!(r["nonTerminatingMatchingRules"][0]["ruleId"], "c");
    }
}
