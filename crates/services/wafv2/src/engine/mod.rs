//! The web ACL engine: a web ACL compiled once per change ([`WebAcl::compile`]) and evaluated
//! on each request ([`WebAcl::evaluate`]) as AWS documents: rules in priority order, a
//! matching rule's labels added, `Count` continuing, `Allow` and `Block` ending evaluation,
//! the default action when no rule ends it. No HTTP types: the listener builds a
//! [`fields::Request`].

pub mod compile;
pub mod fields;
pub mod geo;
pub mod group;
pub mod injection;
pub mod json_body;
pub mod logging;
pub mod managed;
pub mod rate;
pub mod rule_group;
pub mod samples;
pub mod stmt;
pub mod token;
pub mod transform;

use std::collections::{HashMap, HashSet};

use serde_json::Value;

use compile::{compile, Invalid, Refs};
use fields::Request;
use rate::RateCounters;
use stmt::{Env, Stmt};
use token::TokenState;

/// AWS's largest web ACL capacity (WCUs); above 1,500 AWS bills extra.
pub const MAX_CAPACITY: u64 = 5000;
/// The CAPTCHA and challenge immunity time when neither the rule nor the web ACL sets one.
pub const DEFAULT_IMMUNITY: u64 = 300;

/// A custom or default block response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    /// The status code.
    pub status: u16,
    /// Headers (custom ones prefixed `x-amzn-waf-`, as AWS does).
    pub headers: Vec<(String, String)>,
    /// The content type and body.
    pub body: Option<(String, String)>,
}

impl Response {
    /// AWS's default block: 403 with an empty-looking page.
    pub fn forbidden() -> Response {
        Response {
            status: 403,
            headers: Vec::new(),
            body: Some((
                "text/html".into(),
                "<html>\r\n<head><title>403 Forbidden</title></head>\r\n<body>\r\n<center><h1>403 Forbidden</h1></center>\r\n</body>\r\n</html>\r\n".into(),
            )),
        }
    }
}

/// A rule's or the default action.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// `Allow` (with headers to insert into the forwarded request).
    Allow(Vec<(String, String)>),
    /// `Block`.
    Block(Response),
    /// `Count`.
    Count,
    /// `Captcha` (with headers to insert when the token is valid). As a decision: the
    /// request needs a CAPTCHA (405 and the puzzle).
    Captcha(Vec<(String, String)>),
    /// `Challenge` (with headers to insert when the token is valid). As a decision: the
    /// request needs a challenge (202 and the proof of work).
    Challenge(Vec<(String, String)>),
}

/// What a rule runs.
#[derive(Debug, Clone)]
pub enum Body {
    /// A statement and the rule's `Action`.
    Statement(Stmt, Action),
    /// A managed rule group (with the rule's `OverrideAction`).
    Group(group::Group),
}

/// A compiled rule.
#[derive(Debug, Clone)]
pub struct Rule {
    /// `Name`.
    pub name: String,
    /// `Priority`.
    pub priority: i64,
    /// The statement or rule group it runs.
    pub body: Body,
    /// `RuleLabels`, fully qualified.
    pub labels: Vec<String>,
    /// `VisibilityConfig.MetricName` when `SampledRequestsEnabled`, else `None`.
    pub sampled_metric: Option<String>,
    /// The rule's `CaptchaConfig` immunity time, if it sets one.
    pub captcha_immunity: Option<u64>,
    /// The rule's `ChallengeConfig` immunity time, if it sets one.
    pub challenge_immunity: Option<u64>,
}

/// A compiled web ACL.
#[derive(Debug, Clone)]
pub struct WebAcl {
    /// Its ARN.
    pub arn: String,
    /// Rules by priority.
    pub rules: Vec<Rule>,
    /// The default action (`Allow` or `Block`).
    pub default: Action,
    /// Its capacity.
    pub capacity: u64,
    /// Its `VisibilityConfig.MetricName` when `SampledRequestsEnabled` (the default
    /// action's samples), else `None`.
    pub sampled_metric: Option<String>,
    /// Its `CaptchaConfig` immunity time (seconds).
    pub captcha_immunity: u64,
    /// Its `ChallengeConfig` immunity time (seconds).
    pub challenge_immunity: u64,
    /// Its `TokenDomains`.
    pub token_domains: Vec<String>,
    /// Its logging configuration, when one is put.
    pub logging: Option<std::sync::Arc<logging::LogConfig>>,
}

/// What the web ACL decided for a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    /// `Allow` or `Block` (never `Count`).
    pub action: Action,
    /// The rule that ended evaluation (none: the default action).
    pub rule: Option<String>,
    /// When that rule runs a managed rule group: the group's rule that ended it.
    pub group_rule: Option<String>,
    /// Labels added.
    pub labels: Vec<String>,
    /// The web ACL's `Count` rules that matched (AWS's `nonTerminatingMatchingRules`).
    pub counted: Vec<String>,
}

fn inv(field: &'static str, parameter: impl Into<String>, reason: &str) -> Invalid {
    Invalid {
        field,
        parameter: parameter.into(),
        reason: reason.into(),
    }
}

fn content_type(t: &str) -> Option<&'static str> {
    match t {
        "TEXT_PLAIN" => Some("text/plain"),
        "TEXT_HTML" => Some("text/html"),
        "APPLICATION_JSON" => Some("application/json"),
        _ => None,
    }
}

fn headers_of(v: Option<&Value>) -> Vec<(String, String)> {
    v.and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|h| {
            Some((
                format!("x-amzn-waf-{}", h.get("Name")?.as_str()?),
                h.get("Value")?.as_str()?.to_string(),
            ))
        })
        .collect()
}

/// An `Action`/`DefaultAction` shape.
/// `bodies` is `None` when only capacity is asked (`CheckCapacity` has no bodies).
pub(crate) fn action_of(
    v: &Value,
    bodies: Option<&Value>,
    default: bool,
) -> Result<Action, Invalid> {
    let obj = v
        .as_object()
        .filter(|o| o.len() == 1)
        .ok_or_else(|| inv("RULE_ACTION", "", "Exactly one action is required."))?;
    let (kind, spec) = obj
        .iter()
        .next()
        .ok_or_else(|| inv("RULE_ACTION", "", "An action is required."))?;
    match kind.as_str() {
        "Allow" => Ok(Action::Allow(headers_of(
            spec.get("CustomRequestHandling")
                .and_then(|c| c.get("InsertHeaders")),
        ))),
        "Count" if !default => Ok(Action::Count),
        "Captcha" | "Challenge" if !default => {
            let headers = headers_of(
                spec.get("CustomRequestHandling")
                    .and_then(|c| c.get("InsertHeaders")),
            );
            Ok(if kind == "Captcha" {
                Action::Captcha(headers)
            } else {
                Action::Challenge(headers)
            })
        }
        "Block" => {
            let Some(custom) = spec.get("CustomResponse") else {
                return Ok(Action::Block(Response::forbidden()));
            };
            let status = custom
                .get("ResponseCode")
                .and_then(Value::as_u64)
                .unwrap_or(403);
            let status = u16::try_from(status)
                .ok()
                .filter(|s| (200..=599).contains(s))
                .ok_or_else(|| {
                    inv(
                        "CUSTOM_RESPONSE",
                        status.to_string(),
                        "The response code must be from 200 to 599.",
                    )
                })?;
            let body = match custom.get("CustomResponseBodyKey").and_then(Value::as_str) {
                None => None,
                Some(_) if bodies.is_none() => None,
                Some(key) => {
                    let b = bodies.and_then(|b| b.get(key)).ok_or_else(|| {
                        inv(
                            "CUSTOM_RESPONSE_BODY_KEY",
                            key,
                            "The custom response body key does not exist.",
                        )
                    })?;
                    let ct = b
                        .get("ContentType")
                        .and_then(Value::as_str)
                        .and_then(content_type)
                        .unwrap_or("text/plain");
                    let content = b.get("Content").and_then(Value::as_str).unwrap_or_default();
                    Some((ct.to_string(), content.to_string()))
                }
            };
            Ok(Action::Block(Response {
                status,
                headers: headers_of(custom.get("ResponseHeaders")),
                body,
            }))
        }
        other => Err(inv(
            "RULE_ACTION",
            other,
            "This action is not supported by Rampart.",
        )),
    }
}

impl WebAcl {
    /// Compiles a web ACL's `Rules` and `DefaultAction`. `refs` holds its sets and namespace;
    /// each rule's rate counter is keyed by the ARN and the rule name.
    pub fn compile(
        arn: &str,
        rules: &[Value],
        default_action: &Value,
        bodies: &Value,
        refs: &Refs,
    ) -> Result<WebAcl, Invalid> {
        WebAcl::compile_with(arn, rules, default_action, Some(bodies), refs)
    }

    pub(crate) fn compile_with(
        arn: &str,
        rules: &[Value],
        default_action: &Value,
        bodies: Option<&Value>,
        refs: &Refs,
    ) -> Result<WebAcl, Invalid> {
        let mut out = Vec::new();
        let mut names = HashSet::new();
        let mut priorities = HashSet::new();
        let mut capacity = 0;
        for r in rules {
            let name = r
                .get("Name")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string();
            let priority = r.get("Priority").and_then(Value::as_i64).unwrap_or(0);
            if !names.insert(name.clone()) {
                return Err(inv("RULE", name, "A rule name is used twice."));
            }
            if !priorities.insert(priority) {
                return Err(inv(
                    "RULE",
                    priority.to_string(),
                    "A rule priority is used twice.",
                ));
            }
            let (body, labels, wcu) = compile_rule(r, &name, arn, bodies, refs)?;
            capacity += wcu;
            out.push(Rule {
                name,
                priority,
                body,
                labels,
                sampled_metric: samples::metric_of(r.get("VisibilityConfig")),
                captcha_immunity: immunity_of(r.get("CaptchaConfig"), false)?,
                challenge_immunity: immunity_of(r.get("ChallengeConfig"), true)?,
            });
        }
        out.sort_by_key(|r| r.priority);
        Ok(WebAcl {
            arn: arn.to_string(),
            rules: out,
            default: action_of(default_action, bodies, true)?,
            capacity,
            sampled_metric: None,
            captcha_immunity: DEFAULT_IMMUNITY,
            challenge_immunity: DEFAULT_IMMUNITY,
            token_domains: Vec::new(),
            logging: None,
        })
    }

    /// Sets the web ACL's `CaptchaConfig`, `ChallengeConfig` and `TokenDomains`.
    pub fn set_token_config(
        &mut self,
        captcha: Option<&Value>,
        challenge: Option<&Value>,
        token_domains: &[String],
    ) -> Result<(), Invalid> {
        self.captcha_immunity = immunity_of(captcha, false)?.unwrap_or(DEFAULT_IMMUNITY);
        self.challenge_immunity = immunity_of(challenge, true)?.unwrap_or(DEFAULT_IMMUNITY);
        for d in token_domains {
            let ok = !d.is_empty()
                && d.len() <= 253
                && d.split('.').all(|l| {
                    !l.is_empty()
                        && l.len() <= 63
                        && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
                });
            if !ok {
                return Err(inv(
                    "TOKEN_DOMAIN",
                    d.clone(),
                    "The token domain is not valid.",
                ));
            }
        }
        self.token_domains = token_domains.to_vec();
        Ok(())
    }

    /// True when the request's token holds a CAPTCHA (`captcha`) or challenge solution solved
    /// within the immunity time, for a domain that covers the request's host.
    fn token_fresh(&self, req: &Request, captcha: bool, immunity: u64, now: u64) -> bool {
        let TokenState::Valid(t) = &req.token else {
            return false;
        };
        let solved = if captcha {
            t.captcha_at
        } else {
            t.challenge_at
        };
        solved != 0
            && solved <= now
            && now - solved <= immunity
            && token::domain_covers(&t.domain, &req.host(), &self.token_domains)
    }

    /// Evaluates the web ACL on a request at second `now`.
    pub fn evaluate(&self, req: &Request, rates: &RateCounters, now: u64) -> Decision {
        let mut labels: Vec<String> = Vec::new();
        let mut inserted: Vec<(String, String)> = Vec::new();
        let mut counted: Vec<String> = Vec::new();
        let added = std::cell::RefCell::new(Vec::new());
        for rule in &self.rules {
            let ended = match &rule.body {
                Body::Statement(statement, action) => {
                    let env = Env {
                        labels: &labels,
                        rates,
                        now,
                        added: &added,
                    };
                    let matched = statement.matches(req, &env);
                    stmt::take_added(&added, &mut labels);
                    if !matched {
                        continue;
                    }
                    labels.extend(rule.labels.iter().cloned());
                    // A valid, unexpired token makes CAPTCHA and Challenge act as Count, with
                    // their request headers kept for the request if it is allowed.
                    let passed = match action {
                        Action::Captcha(h) => self
                            .token_fresh(
                                req,
                                true,
                                rule.captcha_immunity.unwrap_or(self.captcha_immunity),
                                now,
                            )
                            .then_some(h),
                        Action::Challenge(h) => self
                            .token_fresh(
                                req,
                                false,
                                rule.challenge_immunity.unwrap_or(self.challenge_immunity),
                                now,
                            )
                            .then_some(h),
                        _ => None,
                    };
                    if let Some(h) = passed {
                        inserted.extend(h.iter().cloned());
                        continue;
                    }
                    if *action == Action::Count {
                        counted.push(rule.name.clone());
                    }
                    (*action != Action::Count).then(|| (action.clone(), None))
                }
                Body::Group(group) => group
                    .evaluate(req, rates, now, &mut labels)
                    .map(|(action, name)| (action, Some(name))),
            };
            if let Some((action, group_rule)) = ended {
                return Decision {
                    action: with_inserted(action, inserted),
                    rule: Some(rule.name.clone()),
                    group_rule,
                    labels,
                    counted,
                };
            }
        }
        Decision {
            action: with_inserted(self.default.clone(), inserted),
            rule: None,
            group_rule: None,
            labels,
            counted,
        }
    }
}

/// An `Allow` with the headers that passed CAPTCHA and Challenge rules asked for (before
/// the allowing action's own); any other action as it is.
fn with_inserted(action: Action, mut inserted: Vec<(String, String)>) -> Action {
    match action {
        Action::Allow(own) if !inserted.is_empty() => {
            inserted.extend(own);
            Action::Allow(inserted)
        }
        other => other,
    }
}

/// A `CaptchaConfig`/`ChallengeConfig`'s immunity time: 60 (300 for a challenge) to 259,200
/// seconds, as AWS bounds it.
fn immunity_of(config: Option<&Value>, challenge: bool) -> Result<Option<u64>, Invalid> {
    let Some(time) = config
        .and_then(|c| c.get("ImmunityTimeProperty"))
        .and_then(|p| p.get("ImmunityTime"))
    else {
        return Ok(None);
    };
    let min = if challenge { 300 } else { 60 };
    let field = if challenge {
        "CHALLENGE_CONFIG"
    } else {
        "CAPTCHA_CONFIG"
    };
    time.as_u64()
        .filter(|t| (min..=259_200).contains(t))
        .map(Some)
        .ok_or_else(|| {
            inv(
                field,
                time.to_string(),
                &format!("The immunity time must be from {min} to 259200 seconds."),
            )
        })
}

/// Compiles one rule's statement or rule group, with its labels and WCUs.
fn compile_rule(
    r: &Value,
    name: &str,
    arn: &str,
    bodies: Option<&Value>,
    refs: &Refs,
) -> Result<(Body, Vec<String>, u64), Invalid> {
    let refs = Refs {
        counter: format!("{arn}#{name}"),
        ..refs.clone()
    };
    let statement = r
        .get("Statement")
        .ok_or_else(|| inv("STATEMENT", name, "A statement is required."))?;
    let labels: Vec<String> = r
        .get("RuleLabels")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|l| l.get("Name").and_then(Value::as_str))
        .map(|l| format!("{}{l}", refs.namespace))
        .collect();
    let managed = statement.get("ManagedRuleGroupStatement");
    let own = statement.get("RuleGroupReferenceStatement");
    let (body, wcu) = match managed.or(own) {
        Some(group_statement) => {
            if r.get("Action").is_some() {
                return Err(inv(
                    "RULE_ACTION",
                    name.to_string(),
                    "A rule group statement takes an OverrideAction, not an Action.",
                ));
            }
            if !labels.is_empty() {
                return Err(inv(
                    "RULE_LABELS",
                    name.to_string(),
                    "Rampart does not add RuleLabels to a rule group statement's rule.",
                ));
            }
            let count_only = group::override_count(r.get("OverrideAction"), name)?;
            let (g, wcu) = if managed.is_some() {
                group::compile_group(group_statement, count_only, bodies, &refs)?
            } else {
                rule_group::compile_reference(
                    group_statement,
                    count_only,
                    &refs.counter,
                    bodies,
                    &refs,
                )?
            };
            (Body::Group(g), wcu)
        }
        None => {
            if r.get("OverrideAction").is_some() {
                return Err(inv(
                    "RULE",
                    name.to_string(),
                    "OverrideAction applies to rule group statements only.",
                ));
            }
            let (statement, wcu) = compile(statement, &refs)?;
            let action = action_of(
                r.get("Action")
                    .ok_or_else(|| inv("RULE_ACTION", name, "An action is required."))?,
                bodies,
                false,
            )?;
            (Body::Statement(statement, action), wcu)
        }
    };
    Ok((body, labels, wcu))
}

/// The WCUs of a list of rules (`CheckCapacity`).
pub fn capacity(rules: &[Value], refs: &Refs) -> Result<u64, Invalid> {
    let acl = WebAcl::compile_with(
        "check",
        rules,
        &serde_json::json!({"Allow": {}}),
        None,
        refs,
    )?;
    Ok(acl.capacity)
}

/// The sets a list of rules references: (IP set ARNs, regex pattern set ARNs).
pub fn references(rules: &[Value]) -> (Vec<String>, Vec<String>) {
    fn walk(v: &Value, ips: &mut Vec<String>, res: &mut Vec<String>) {
        match v {
            Value::Object(m) => {
                for (k, x) in m {
                    let arn = || x.get("ARN").and_then(Value::as_str).map(str::to_string);
                    if k == "IPSetReferenceStatement" {
                        ips.extend(arn());
                    } else if k == "RegexPatternSetReferenceStatement" {
                        res.extend(arn());
                    }
                    walk(x, ips, res);
                }
            }
            Value::Array(a) => a.iter().for_each(|x| walk(x, ips, res)),
            _ => {}
        }
    }
    let (mut ips, mut res) = (Vec::new(), Vec::new());
    for r in rules {
        walk(r, &mut ips, &mut res);
    }
    ips.sort();
    ips.dedup();
    res.sort();
    res.dedup();
    (ips, res)
}

/// The ARNs of the rule groups a list of rules references (`RuleGroupReferenceStatement`s
/// are never nested).
pub fn rule_group_references(rules: &[Value]) -> Vec<String> {
    let mut out: Vec<String> = rules
        .iter()
        .filter_map(|r| {
            let st = r.get("Statement")?.get("RuleGroupReferenceStatement")?;
            Some(st.get("ARN")?.as_str()?.to_string())
        })
        .collect();
    out.sort();
    out.dedup();
    out
}

/// The `ManagedRuleGroupStatement`s of a list of rules (they are never nested).
pub fn managed_statements(rules: &[Value]) -> Vec<&Value> {
    rules
        .iter()
        .filter_map(|r| r.get("Statement")?.get("ManagedRuleGroupStatement"))
        .collect()
}

/// Every set a compile needs, by ARN, for [`Refs`].
pub type Sets = HashMap<String, Vec<String>>;

#[cfg(test)]
mod rule_group_tests;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod token_tests;
