//! Rule groups of one's own: their rules compiled in the group's label namespace
//! (`awswaf:ACCOUNT:rulegroup:NAME:`) with the group's custom response bodies, for
//! `CreateRuleGroup`/`UpdateRuleGroup` (to check them and count their WCUs) and for a web ACL
//! rule's `RuleGroupReferenceStatement`, which runs them as a [`Group`] with the statement's
//! `ExcludedRules` and `RuleActionOverrides`. In a web ACL the group costs the `Capacity`
//! fixed at its creation, whatever its rules cost now, as AWS counts it.

use serde_json::Value;

use super::{
    compile::{Invalid, Refs},
    group::{apply_overrides, Group, GroupRule},
    Body, WebAcl,
};

/// The label namespace of a rule group.
pub fn namespace(account: &str, name: &str) -> String {
    format!("awswaf:{account}:rulegroup:{name}:")
}

fn invalid(field: &'static str, parameter: impl Into<String>, reason: &str) -> Invalid {
    Invalid {
        field,
        parameter: parameter.into(),
        reason: reason.into(),
    }
}

/// Compiles a rule group's `Rules` (with its `CustomResponseBodies`), refs' namespace being
/// the group's; rate counters are keyed under `counter`. Gives the rules and their WCUs. A
/// rule group statement in a rule group is refused, as AWS refuses it.
pub fn compile_rules(
    counter: &str,
    rules: &[Value],
    bodies: &Value,
    refs: &Refs,
) -> Result<(Vec<GroupRule>, u64), Invalid> {
    for r in rules {
        if super::group::is_token_action(r.get("Action")) {
            return Err(invalid(
                "RULE_ACTION",
                r.get("Name").and_then(Value::as_str).unwrap_or_default(),
                "Rampart runs CAPTCHA and Challenge in web ACL rules only, not in rule groups.",
            ));
        }
        let statement = r.get("Statement");
        for nested in ["ManagedRuleGroupStatement", "RuleGroupReferenceStatement"] {
            if statement.and_then(|s| s.get(nested)).is_some() {
                return Err(invalid(
                    "STATEMENT",
                    nested,
                    "A rule group cannot contain a rule group statement.",
                ));
            }
        }
    }
    let acl = WebAcl::compile_with(
        counter,
        rules,
        &serde_json::json!({"Allow": {}}),
        Some(bodies),
        refs,
    )?;
    let out = acl
        .rules
        .into_iter()
        .filter_map(|r| match r.body {
            Body::Statement(statement, action) => Some(GroupRule {
                name: r.name,
                statement,
                action,
                labels: r.labels,
            }),
            Body::Group(_) => None,
        })
        .collect();
    Ok((out, acl.capacity))
}

/// Compiles a `RuleGroupReferenceStatement` of the web ACL rule whose counters are keyed
/// `counter`, with its WCUs (the group's `Capacity`). `bodies` are the web ACL's (for
/// `RuleActionOverrides`).
pub fn compile_reference(
    body: &Value,
    count_only: bool,
    counter: &str,
    bodies: Option<&Value>,
    refs: &Refs,
) -> Result<(Group, u64), Invalid> {
    let arn = body.get("ARN").and_then(Value::as_str).unwrap_or_default();
    let def = refs
        .rule_groups
        .get(arn)
        .ok_or_else(|| invalid("RULE_GROUP", arn, "The rule group does not exist."))?;
    let group_refs = Refs {
        namespace: namespace(&def.account, &def.name),
        ..refs.clone()
    };
    let (mut rules, _) = compile_rules(counter, &def.rules, &def.bodies, &group_refs)?;
    apply_overrides(
        &mut rules,
        body,
        bodies,
        "The rule group has no rule of this name.",
    )?;
    Ok((
        Group {
            rules,
            scope_down: None,
            count_only,
            managed: false,
            id: arn.to_string(),
        },
        def.capacity,
    ))
}
