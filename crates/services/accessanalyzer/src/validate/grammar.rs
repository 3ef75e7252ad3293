//! The policy grammar: the document's and each statement's elements, their JSON types, the
//! elements each policy type requires or refuses, and the Principal element. Values inside
//! Action, Resource and Condition are checked by [`super::elements`] and
//! [`super::conditions`].

use super::checker::{at, key, val, Checker, Target};
// The policy engine's own grammar lists.
use super::finding::{FindingType, Step};
use super::json::{Kind, Member, Node};
use super::{advice, conditions, elements, principals};
use rampart_policy::iam_grammar::{STMT_KEYS, TOP_KEYS};

/// The size quota of a service control policy, in characters without whitespace.
const SCP_MAX_CHARS: usize = 5120;

/// Checks a parsed document; `text` is what the caller sent (for the size quotas).
pub fn check_document(c: &mut Checker, root: &Node, text: &str) {
    let Some(members) = root.members() else {
        c.mismatch(root, "object", Vec::new());
        return;
    };
    for m in members {
        if !TOP_KEYS.contains(&m.key.as_str()) {
            invalid_element(c, m, &[]);
        }
    }
    version(c, root);
    if let Some(id) = root.get("Id") {
        if id.value.as_str().is_none() {
            c.mismatch(&id.value, "string", vec![val("Id")]);
        }
    }
    if c.target == Target::Scp {
        let size = text.chars().filter(|ch| !ch.is_whitespace()).count();
        if size > SCP_MAX_CHARS {
            c.error(
                "POLICY_SIZE_EXCEEDS_SCP_QUOTA",
                format!("The {size} characters in the service control policy (SCP) exceed the {SCP_MAX_CHARS} character maximum for SCPs. Reduce the size of the policy."),
                Vec::new(),
                root.span,
            );
        }
    }
    let Some(stmt) = root.get("Statement") else {
        c.error(
            "MISSING_STATEMENT",
            "Add a statement to the policy.".into(),
            Vec::new(),
            root.span,
        );
        return;
    };
    let statements: Vec<(&Node, Vec<Step>)> = match &stmt.value.kind {
        Kind::Obj(_) => vec![(&stmt.value, vec![val("Statement")])],
        Kind::Arr(items) if items.is_empty() => {
            c.error(
                "MISSING_STATEMENT",
                "Add a statement to the policy.".into(),
                vec![val("Statement")],
                stmt.value.span,
            );
            Vec::new()
        }
        Kind::Arr(items) => items
            .iter()
            .enumerate()
            .map(|(i, s)| (s, vec![val("Statement"), Step::Index(i)]))
            .collect(),
        _ => {
            c.mismatch(&stmt.value, "object or array", vec![val("Statement")]);
            Vec::new()
        }
    };
    let mut sids: Vec<String> = Vec::new();
    let mut objects = Vec::with_capacity(statements.len());
    for (s, path) in statements {
        if s.members().is_none() {
            c.mismatch(s, "object", path);
            continue;
        }
        statement(c, s, &path, &mut sids);
        objects.push((s, path));
    }
    advice::check(c, &objects);
}

fn invalid_element(c: &mut Checker, m: &Member, path: &[Step]) {
    c.error(
        "INVALID_POLICY_ELEMENT",
        format!("The policy element {} is not valid.", m.key),
        at(path, [key(&m.key)]),
        m.key_span,
    );
}

fn version(c: &mut Checker, root: &Node) {
    let Some(v) = root.get("Version") else {
        c.vars_ok = false;
        c.add(
            FindingType::Warning,
            "MISSING_VERSION",
            "We recommend that you specify the Version element to help you with debugging permission issues.".into(),
            Vec::new(),
            root.span,
        );
        return;
    };
    match v.value.as_str() {
        Some("2012-10-17") => c.vars_ok = true,
        Some("2008-10-17") => c.vars_ok = false,
        Some(other) => {
            c.vars_ok = true;
            c.error(
                "INVALID_VERSION",
                format!("The {other} version is not valid. Use one of the following versions: 2012-10-17, 2008-10-17."),
                vec![val("Version")],
                v.value.span,
            );
        }
        None => c.mismatch(&v.value, "string", vec![val("Version")]),
    }
}

fn statement(c: &mut Checker, s: &Node, path: &[Step], sids: &mut Vec<String>) {
    let members = s.members().unwrap_or_default();
    for m in members {
        if !STMT_KEYS.contains(&m.key.as_str()) {
            invalid_element(c, m, path);
        }
    }
    sid(c, s, path, sids);
    let allow = effect(c, s, path);
    let action = exclusive(c, s, path, "Action", "NotAction");
    let both = s.get("Action").is_some() && s.get("NotAction").is_some();
    match action {
        None if both => {}
        None => c.error(
            "MISSING_ACTION",
            "Add an Action or NotAction element to the policy statement.".into(),
            path.to_vec(),
            s.span,
        ),
        Some(m) => elements::actions(c, m, path, allow),
    }
    let resource = exclusive(c, s, path, "Resource", "NotResource");
    resource_rules(c, s, path, resource, allow);
    if let Some(m) = resource {
        elements::resources(c, m, path);
    }
    let principal = exclusive(c, s, path, "Principal", "NotPrincipal");
    principal_rules(c, s, path, principal, allow);
    if let Some(m) = s.get("Condition") {
        if c.target == Target::Scp && allow == Some(true) {
            scp_error(
                c,
                "SCP_SYNTAX_ERROR_ALLOW_CONDITION",
                "Conditions are not supported in Allow statements of service control policies.",
                at(path, [key("Condition")]),
                m,
            );
        }
        conditions::check(c, &m.value, &at(path, [val("Condition")]), allow);
    }
}

fn scp_error(c: &mut Checker, code: &'static str, details: &str, path: Vec<Step>, m: &Member) {
    c.error(code, details.to_string(), path, m.key_span);
}

fn sid(c: &mut Checker, s: &Node, path: &[Step], sids: &mut Vec<String>) {
    let Some(m) = s.get("Sid") else { return };
    let p = at(path, [val("Sid")]);
    let Some(sid) = m.value.as_str() else {
        c.mismatch(&m.value, "string", p);
        return;
    };
    if sid.is_empty() {
        c.add(
            FindingType::Suggestion,
            "EMPTY_SID_VALUE",
            "Add a value to the empty string in the Sid element.".into(),
            p,
            m.value.span,
        );
        return;
    }
    let strict = matches!(c.target, Target::Identity | Target::Scp | Target::Trust);
    if strict && !sid.chars().all(|ch| ch.is_ascii_alphanumeric()) {
        c.error(
            "UNSUPPORTED_SID",
            format!("Update the characters in the Sid element \"{sid}\" to use one of the following character types: [a-z, A-Z, 0-9]."),
            p.clone(),
            m.value.span,
        );
    }
    if sids.iter().any(|x| x == sid) {
        c.error(
            "UNIQUE_SIDS_REQUIRED",
            format!("Duplicate Sid \"{sid}\": use a unique Sid for each statement."),
            p,
            m.value.span,
        );
    } else {
        sids.push(sid.to_string());
    }
}

/// The Effect: `Some(true)` for Allow, `Some(false)` for Deny, `None` when missing or invalid.
fn effect(c: &mut Checker, s: &Node, path: &[Step]) -> Option<bool> {
    let Some(m) = s.get("Effect") else {
        c.error(
            "MISSING_EFFECT",
            "Add an Effect element to the policy statement with a value of Allow or Deny.".into(),
            path.to_vec(),
            s.span,
        );
        return None;
    };
    let p = at(path, [val("Effect")]);
    match m.value.as_str() {
        Some("Allow") => Some(true),
        Some("Deny") => Some(false),
        Some(other) => {
            c.error(
                "INVALID_EFFECT",
                format!("The effect \"{other}\" is not valid. Use Allow or Deny."),
                p,
                m.value.span,
            );
            None
        }
        None => {
            c.mismatch(&m.value, "string", p);
            None
        }
    }
}

/// The member of `a` or `b`; both is `UNSUPPORTED_ELEMENT_COMBINATION` (and `None`).
fn exclusive<'n>(
    c: &mut Checker,
    s: &'n Node,
    path: &[Step],
    a: &str,
    b: &str,
) -> Option<&'n Member> {
    match (s.get(a), s.get(b)) {
        (Some(_), Some(mb)) => {
            c.error(
                "UNSUPPORTED_ELEMENT_COMBINATION",
                format!("The policy elements {a} and {b} can not be used in the same statement. Remove one of these elements."),
                at(path, [key(b)]),
                mb.key_span,
            );
            None
        }
        (Some(m), None) | (None, Some(m)) => Some(m),
        (None, None) => None,
    }
}

fn resource_rules(
    c: &mut Checker,
    s: &Node,
    path: &[Step],
    resource: Option<&Member>,
    allow: Option<bool>,
) {
    let both = s.get("Resource").is_some() && s.get("NotResource").is_some();
    match (c.target, resource) {
        (Target::Trust, Some(m)) => c.error(
            "ROLE_TRUST_POLICY_SYNTAX_ERROR_RESOURCE",
            format!(
                "Role trust policies do not support the {} element. Remove it.",
                m.key
            ),
            at(path, [key(&m.key)]),
            m.key_span,
        ),
        (Target::Trust | Target::Scp, None) => {}
        (_, None) if !both => c.error(
            "MISSING_RESOURCE",
            "Add a Resource or NotResource element to the policy statement.".into(),
            path.to_vec(),
            s.span,
        ),
        (Target::Scp, Some(m)) if m.key == "NotResource" => scp_error(
            c,
            "SCP_SYNTAX_ERROR_NOTRESOURCE",
            "Service control policies do not support the NotResource element. Use Resource.",
            at(path, [key("NotResource")]),
            m,
        ),
        (Target::Scp, Some(m)) if allow == Some(true) && m.value.as_str() != Some("*") => c.error(
            "SCP_SYNTAX_ERROR_ALLOW_RESOURCE",
            "Allow statements of service control policies support only \"Resource\": \"*\".".into(),
            at(path, [val("Resource")]),
            m.value.span,
        ),
        _ => {}
    }
}

fn principal_rules(
    c: &mut Checker,
    s: &Node,
    path: &[Step],
    principal: Option<&Member>,
    allow: Option<bool>,
) {
    let both = s.get("Principal").is_some() && s.get("NotPrincipal").is_some();
    let Some(m) = principal else {
        if c.target.has_principal() && !both {
            c.error(
                "MISSING_PRINCIPAL",
                "Add a Principal element to the policy statement.".into(),
                path.to_vec(),
                s.span,
            );
        }
        return;
    };
    let kpath = at(path, [key(&m.key)]);
    match c.target {
        Target::Identity => {
            return c.error(
                "UNSUPPORTED_PRINCIPAL",
                format!("The {} element is not supported in identity policies. Remove it.", m.key),
                kpath,
                m.key_span,
            )
        }
        Target::Scp => {
            return scp_error(c, "SCP_SYNTAX_ERROR_PRINCIPAL", "Service control policies do not support the Principal or NotPrincipal element. Remove it.", kpath, m)
        }
        Target::Trust if m.key == "NotPrincipal" => {
            return c.error(
                "ROLE_TRUST_POLICY_SYNTAX_ERROR_NOTPRINCIPAL",
                "Role trust policies do not support the NotPrincipal element. Use Principal.".into(),
                kpath,
                m.key_span,
            )
        }
        Target::Rcp if m.key == "NotPrincipal" || m.value.as_str() != Some("*") => {
            return c.error(
                "RCP_SYNTAX_ERROR_PRINCIPAL",
                "Resource control policies support only \"Principal\": \"*\"; use conditions to narrow the principals.".into(),
                kpath,
                m.key_span,
            )
        }
        _ => {}
    }
    if m.key == "NotPrincipal" && allow == Some(true) {
        c.add(
            FindingType::SecurityWarning,
            "ALLOW_WITH_NOT_PRINCIPAL",
            "Using Allow with NotPrincipal can be overly permissive: it allows every principal not listed. We recommend that you use Principal instead.".into(),
            kpath,
            m.key_span,
        );
    }
    principals::principal(c, &m.value, &at(path, [val(&m.key)]));
}
