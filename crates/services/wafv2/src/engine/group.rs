//! A web ACL rule that runs a managed rule group (`ManagedRuleGroupStatement`): the group's
//! rules compiled with the rule's `ExcludedRules` and `RuleActionOverrides`, its
//! `ScopeDownStatement`, and its `OverrideAction`; evaluated as AWS documents: the group runs
//! only on requests the scope-down matches, each matching rule adds its labels whatever its
//! action, a `Count` rule continues, and a `Block` or `Allow` ends the web ACL's evaluation
//! unless the override action is `Count`.

use serde_json::Value;

use super::{
    action_of,
    compile::{compile, Invalid, Refs},
    fields::Request,
    managed::{self, ManagedGroup},
    rate::RateCounters,
    stmt::{take_added, Env, Stmt},
    Action,
};

/// A compiled rule of a managed rule group.
#[derive(Debug, Clone)]
pub struct GroupRule {
    /// AWS's rule name.
    pub name: String,
    /// The statement.
    pub statement: Stmt,
    /// The action, after exclusions and overrides.
    pub action: Action,
    /// The labels it adds, fully qualified.
    pub labels: Vec<String>,
}

/// A compiled `ManagedRuleGroupStatement` with its rule's `OverrideAction`.
#[derive(Debug, Clone)]
pub struct Group {
    /// The group's rules, in order.
    pub rules: Vec<GroupRule>,
    /// `ScopeDownStatement`.
    pub scope_down: Option<Stmt>,
    /// `OverrideAction` `Count`: every rule's action becomes `Count`.
    pub count_only: bool,
    /// An AWS managed rule group (else a rule group of one's own).
    pub managed: bool,
    /// Its id in logs: `VENDOR#NAME` for a managed group, the ARN for one's own.
    pub id: String,
}

fn invalid(field: &'static str, parameter: impl Into<String>, reason: &str) -> Invalid {
    Invalid {
        field,
        parameter: parameter.into(),
        reason: reason.into(),
    }
}

fn names<'a>(v: &'a Value, list: &str) -> Vec<(&'a str, &'a Value)> {
    v.get(list)
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .map(|e| (e.get("Name").and_then(Value::as_str).unwrap_or_default(), e))
        .collect()
}

/// The group a statement names, with its version checked.
pub fn group_of(body: &Value) -> Result<&'static ManagedGroup, Invalid> {
    let vendor = body
        .get("VendorName")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let name = body.get("Name").and_then(Value::as_str).unwrap_or_default();
    let group = managed::find(vendor, name).ok_or_else(|| {
        invalid(
            "MANAGED_RULE_SET",
            format!("{vendor}/{name}"),
            "The managed rule group does not exist.",
        )
    })?;
    match body.get("Version").and_then(Value::as_str) {
        None => Ok(group),
        Some(v) if v == managed::VERSION => Ok(group),
        Some(v) => Err(invalid(
            "MANAGED_RULE_GROUP_VERSION",
            v,
            "The managed rule group version does not exist.",
        )),
    }
}

/// The `OverrideAction` of a rule group rule: `false` for `None`, `true` for `Count`.
pub fn override_count(v: Option<&Value>, rule: &str) -> Result<bool, Invalid> {
    let obj = v
        .and_then(Value::as_object)
        .filter(|o| o.len() == 1)
        .ok_or_else(|| {
            invalid(
                "OVERRIDE_ACTION",
                rule,
                "A rule group statement requires exactly one OverrideAction (None or Count).",
            )
        })?;
    match obj.keys().next().map(String::as_str) {
        Some("None") => Ok(false),
        Some("Count") => Ok(true),
        other => Err(invalid(
            "OVERRIDE_ACTION",
            other.unwrap_or_default(),
            "Not a valid override action.",
        )),
    }
}

/// True when an action shape is `Captcha` or `Challenge`.
pub fn is_token_action(action: Option<&Value>) -> bool {
    action
        .and_then(Value::as_object)
        .is_some_and(|o| o.contains_key("Captcha") || o.contains_key("Challenge"))
}

/// Applies a rule group statement's `ExcludedRules` (the rule counts) and
/// `RuleActionOverrides` (`ActionToUse`, whose custom response bodies are the web ACL's) to
/// the group's rules; a name the group does not have is refused with `unknown`.
pub fn apply_overrides(
    rules: &mut [GroupRule],
    body: &Value,
    bodies: Option<&Value>,
    unknown: &str,
) -> Result<(), Invalid> {
    let excluded = names(body, "ExcludedRules");
    let overrides = names(body, "RuleActionOverrides");
    for (n, _) in excluded.iter().chain(&overrides) {
        if !rules.iter().any(|r| r.name == *n) {
            return Err(invalid("RULE", *n, unknown));
        }
    }
    for r in rules.iter_mut() {
        if excluded.iter().any(|(n, _)| *n == r.name) {
            r.action = Action::Count;
        }
        if let Some((_, o)) = overrides.iter().find(|(n, _)| *n == r.name) {
            let to_use = o.get("ActionToUse").ok_or_else(|| {
                invalid(
                    "RULE_ACTION_OVERRIDE",
                    r.name.clone(),
                    "An ActionToUse is required.",
                )
            })?;
            if is_token_action(Some(to_use)) {
                return Err(invalid(
                    "RULE_ACTION_OVERRIDE",
                    r.name.clone(),
                    "Rampart runs CAPTCHA and Challenge in web ACL rules only, not in rule groups.",
                ));
            }
            r.action = action_of(to_use, bodies, false)?;
        }
    }
    Ok(())
}

/// Compiles a `ManagedRuleGroupStatement` with its WCUs: the group's capacity plus the
/// scope-down statement's.
pub fn compile_group(
    body: &Value,
    count_only: bool,
    bodies: Option<&Value>,
    refs: &Refs,
) -> Result<(Group, u64), Invalid> {
    let group = group_of(body)?;
    if body.get("ManagedRuleGroupConfigs").is_some() {
        return Err(invalid(
            "MANAGED_RULE_GROUP_CONFIG",
            group.name,
            "This managed rule group takes no configuration.",
        ));
    }
    let rules = (group.rules)();
    let namespace = group.label_namespace();
    let mut out = Vec::new();
    for r in rules {
        let (statement, _) = compile(&r.statement, &Refs::default()).inspect_err(|e| {
            tracing::error!(rule = r.name, reason = %e.reason, "wafv2: a managed rule does not compile");
        })?;
        out.push(GroupRule {
            name: r.name.to_string(),
            statement,
            action: Action::Block(super::Response::forbidden()),
            labels: vec![format!("{namespace}{}", r.label)],
        });
    }
    apply_overrides(
        &mut out,
        body,
        bodies,
        "The managed rule group has no rule of this name.",
    )?;
    let (scope_down, extra) = match body.get("ScopeDownStatement") {
        Some(st) => {
            let (c, w) = compile(st, refs)?;
            (Some(c), w)
        }
        None => (None, 0),
    };
    Ok((
        Group {
            rules: out,
            scope_down,
            count_only,
            managed: true,
            id: format!("AWS#{}", group.name),
        },
        group.capacity + extra,
    ))
}

impl Group {
    /// Runs the group on a request: adds the labels of the rules that match to `labels`, and
    /// gives the action and rule name that end the web ACL's evaluation, if one does.
    pub fn evaluate(
        &self,
        req: &Request,
        rates: &RateCounters,
        now: u64,
        labels: &mut Vec<String>,
    ) -> Option<(Action, String)> {
        let added = std::cell::RefCell::new(Vec::new());
        if let Some(scope) = &self.scope_down {
            let env = Env {
                labels,
                rates,
                now,
                added: &added,
            };
            let in_scope = scope.matches(req, &env);
            take_added(&added, labels);
            if !in_scope {
                return None;
            }
        }
        for rule in &self.rules {
            let env = Env {
                labels,
                rates,
                now,
                added: &added,
            };
            let matched = rule.statement.matches(req, &env);
            take_added(&added, labels);
            if !matched {
                continue;
            }
            labels.extend(rule.labels.iter().cloned());
            if !self.count_only && rule.action != Action::Count {
                return Some((rule.action.clone(), rule.name.clone()));
            }
        }
        None
    }
}
