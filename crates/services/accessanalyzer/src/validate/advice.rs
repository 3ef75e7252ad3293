//! Checks over whole statements: redundant actions, resources and statements, and
//! `iam:PassRole` granted too widely.
//!
//! Redundancy rests on pattern containment: `a` covers `b` when every text `b` matches, `a`
//! matches too. For the `*`/`?` patterns of actions and ARN segments this is decided exactly
//! by matching `a` against `b`'s text, where a `*` of `a` may swallow `b`'s wildcards and a
//! `?` of `a` any single character of `b` but a `*`.

use rampart_policy::action::ActionPattern;

use super::checker::{at, key, val, Checker, Target};
use super::finding::{FindingType, Step};
use super::json::{Node, Span};

/// Lists longer than this (actions or resources of a statement, statements of a policy) are
/// not compared pairwise: the comparisons grow with the square of the length, and a request
/// must not buy unbounded work. AWS's largest policies hold far fewer.
const MAX_COMPARED: usize = 200;

/// Patterns whose comparison table would exceed this many cells are compared for equality
/// only (the same bound on work, for very long strings).
const MAX_CELLS: usize = 1 << 20;

/// A string of an element, with where it is.
type Item<'n> = (&'n str, Span, Vec<Step>);

/// True when pattern `a` matches everything pattern `b` matches (`fold`: ignore ASCII case).
pub fn covers(a: &str, b: &str, fold: bool) -> bool {
    let norm = |s: &str| -> Vec<char> {
        if fold {
            s.to_ascii_lowercase().chars().collect()
        } else {
            s.chars().collect()
        }
    };
    let (a, b) = (norm(a), norm(b));
    if a.len().saturating_mul(b.len()) > MAX_CELLS {
        return a == b;
    }
    let width = b.len() + 1;
    // dp[i * width + j]: a[i..] covers b[j..]; filled from the ends.
    let mut dp = vec![false; (a.len() + 1) * width];
    let cell = |dp: &Vec<bool>, i: usize, j: usize| dp.get(i * width + j).copied().unwrap_or(false);
    if let Some(last) = dp.get_mut(a.len() * width + b.len()) {
        *last = true;
    }
    for i in (0..a.len()).rev() {
        for j in (0..=b.len()).rev() {
            let bj = b.get(j).copied();
            let v = match a.get(i).copied() {
                Some('*') => cell(&dp, i + 1, j) || (bj.is_some() && cell(&dp, i, j + 1)),
                Some('?') => bj.is_some_and(|x| x != '*') && cell(&dp, i + 1, j + 1),
                Some(ch) => bj == Some(ch) && cell(&dp, i + 1, j + 1),
                None => false,
            };
            if let Some(slot) = dp.get_mut(i * width + j) {
                *slot = v;
            }
        }
    }
    cell(&dp, 0, 0)
}

/// True when resource pattern `a` covers `b`, segment by segment (sound whether or not a
/// wildcard crosses `:`).
fn resource_covers(a: &str, b: &str) -> bool {
    if a == "*" {
        return true;
    }
    let sa: Vec<&str> = a.splitn(6, ':').collect();
    let sb: Vec<&str> = b.splitn(6, ':').collect();
    sa.len() == 6 && sb.len() == 6 && sa.iter().zip(&sb).all(|(x, y)| covers(x, y, false))
}

/// The strings of `element` of statement `s` (none when absent or malformed).
fn items<'n>(s: &'n Node, element: &str, path: &[Step]) -> Vec<Item<'n>> {
    let Some(m) = s.get(element) else {
        return Vec::new();
    };
    let base = at(path, [val(element)]);
    match &m.value.kind {
        super::json::Kind::Str(x) => vec![(x.as_str(), m.value.span, base)],
        super::json::Kind::Arr(list) => list
            .iter()
            .enumerate()
            .filter_map(|(i, n)| n.as_str().map(|x| (x, n.span, at(&base, [Step::Index(i)]))))
            .collect(),
        _ => Vec::new(),
    }
}

/// Runs the statement-level checks over `statements` (each with its path).
pub fn check(c: &mut Checker, statements: &[(&Node, Vec<Step>)]) {
    for (s, path) in statements {
        redundant_items(
            c,
            &items(s, "Action", path),
            true,
            "REDUNDANT_ACTION",
            "action",
        );
        redundant_items(
            c,
            &items(s, "Resource", path),
            false,
            "REDUNDANT_RESOURCE",
            "resource",
        );
        if c.target == Target::Identity {
            pass_role(c, s, path);
        }
    }
    redundant_statements(c, statements);
}

fn redundant_items(c: &mut Checker, list: &[Item], fold: bool, code: &'static str, what: &str) {
    if list.len() > MAX_COMPARED {
        return;
    }
    let usable = |x: &str| !x.contains("${");
    for (i, (b, span, path)) in list.iter().enumerate() {
        let by = list.iter().enumerate().find(|(j, (a, _, _))| {
            let cov = |x: &str, y: &str| {
                if fold {
                    covers(x, y, true)
                } else {
                    resource_covers(x, y)
                }
            };
            *j != i && usable(a) && usable(b) && cov(a, b) && (!cov(b, a) || *j < i)
        });
        if let Some((_, (a, _, _))) = by {
            c.add(
                FindingType::Suggestion,
                code,
                format!("The {what} {b} is redundant: {a} in the same statement already includes it. Remove it."),
                path.clone(),
                *span,
            );
        }
    }
}

/// Statement `b` adds nothing to `a`: same effect, principal and condition, and `a`'s
/// actions and resources cover `b`'s.
fn statement_covers(a: &Node, b: &Node) -> bool {
    let same =
        |k: &str| a.get(k).map(|m| m.value.to_value()) == b.get(k).map(|m| m.value.to_value());
    let all = [
        "Effect",
        "Principal",
        "NotPrincipal",
        "Condition",
        "NotAction",
        "NotResource",
    ];
    if !all.iter().all(|k| same(k))
        || a.get("NotAction").is_some()
        || a.get("NotResource").is_some()
    {
        return false;
    }
    let list = |s: &Node, k: &str| -> Option<Vec<String>> {
        match s.get(k).map(|m| m.value.to_value()) {
            None => Some(Vec::new()),
            Some(serde_json::Value::String(x)) => Some(vec![x]),
            Some(serde_json::Value::Array(v)) => v
                .into_iter()
                .map(|x| x.as_str().map(str::to_string))
                .collect(),
            Some(_) => None,
        }
    };
    let (Some(aa), Some(ba), Some(ar), Some(br)) = (
        list(a, "Action"),
        list(b, "Action"),
        list(a, "Resource"),
        list(b, "Resource"),
    ) else {
        return false;
    };
    if [&aa, &ba, &ar, &br].iter().any(|l| l.len() > MAX_COMPARED) {
        return false;
    }
    let within = |xs: &[String], ys: &[String], f: &dyn Fn(&str, &str) -> bool| {
        ys.iter()
            .all(|y| !y.contains("${") && xs.iter().any(|x| f(x, y)))
    };
    !ba.is_empty()
        && a.get("Resource").is_some() == b.get("Resource").is_some()
        && within(&aa, &ba, &|x, y| covers(x, y, true))
        && within(&ar, &br, &resource_covers)
}

fn redundant_statements(c: &mut Checker, statements: &[(&Node, Vec<Step>)]) {
    if statements.len() > MAX_COMPARED {
        return;
    }
    for (j, (b, path)) in statements.iter().enumerate() {
        let by = statements.iter().enumerate().find(|(i, (a, _))| {
            *i != j && statement_covers(a, b) && (!statement_covers(b, a) || *i < j)
        });
        if let Some((i, _)) = by {
            c.add(
                FindingType::Suggestion,
                "REDUNDANT_STATEMENT",
                format!("This statement is redundant: statement {i} grants the same access to the same principals under the same conditions. Remove it."),
                path.clone(),
                b.span,
            );
        }
    }
}

/// How a statement's actions reach `iam:PassRole`, or its resources every role.
enum Reach {
    Named(Span, Vec<Step>),
    Star(Span, Vec<Step>),
    Not(Span, Vec<Step>),
}

fn pass_role(c: &mut Checker, s: &Node, path: &[Step]) {
    if s.get("Effect").and_then(|m| m.value.as_str()) != Some("Allow") || passed_to_service(s) {
        return;
    }
    let matches = |a: &str| ActionPattern::parse(a).is_ok_and(|p| p.matches("iam", "passrole"));
    let action = if let Some(m) = s.get("NotAction") {
        let listed = items(s, "NotAction", path)
            .iter()
            .any(|(a, _, _)| matches(a));
        (!listed).then(|| Reach::Not(m.key_span, at(path, [key("NotAction")])))
    } else {
        let list = items(s, "Action", path);
        let named = list
            .iter()
            .find(|(a, _, _)| a.eq_ignore_ascii_case("iam:PassRole"));
        match named {
            Some((_, span, p)) => Some(Reach::Named(*span, p.clone())),
            None => list
                .iter()
                .find(|(a, _, _)| matches(a))
                .map(|(_, span, p)| Reach::Star(*span, p.clone())),
        }
    };
    let resource = if let Some(m) = s.get("NotResource") {
        Some(Reach::Not(m.key_span, at(path, [key("NotResource")])))
    } else {
        items(s, "Resource", path)
            .into_iter()
            .find(|(r, _, _)| *r == "*" || every_role(r))
            .map(|(_, span, p)| Reach::Star(span, p))
    };
    let (Some(action), Some(resource)) = (action, resource) else {
        return;
    };
    let code = match (&action, &resource) {
        (Reach::Named(..), Reach::Not(..)) => "PASS_ROLE_WITH_NOT_RESOURCE",
        (Reach::Named(..), _) => "PASS_ROLE_WITH_STAR_IN_RESOURCE",
        (Reach::Star(..), Reach::Not(..)) => "PASS_ROLE_WITH_STAR_IN_ACTION_AND_NOT_RESOURCE",
        (Reach::Star(..), _) => "PASS_ROLE_WITH_STAR_IN_ACTION_AND_RESOURCE",
        (Reach::Not(..), Reach::Not(..)) => "PASS_ROLE_WITH_NOT_ACTION_AND_NOT_RESOURCE",
        (Reach::Not(..), _) => "PASS_ROLE_WITH_NOT_ACTION_AND_STAR_IN_RESOURCE",
    };
    let (Reach::Named(span, p) | Reach::Star(span, p) | Reach::Not(span, p)) = resource;
    c.add(
        FindingType::SecurityWarning,
        code,
        "This statement allows iam:PassRole on every role, which can be overly permissive: a principal can hand any role to a service. Name the roles in Resource or add the iam:PassedToService condition key.".into(),
        p,
        span,
    );
}

/// True when an ARN pattern matches every IAM role.
fn every_role(r: &str) -> bool {
    let f: Vec<&str> = r.splitn(6, ':').collect();
    matches!(f.as_slice(), [_, _, svc, _, _, res]
        if covers(svc, "iam", false) && covers(res, "role/*", false))
}

fn passed_to_service(s: &Node) -> bool {
    s.get("Condition")
        .and_then(|m| m.value.members())
        .is_some_and(|ops| {
            ops.iter().any(|op| {
                op.value.members().is_some_and(|ks| {
                    ks.iter()
                        .any(|k| k.key.eq_ignore_ascii_case("iam:PassedToService"))
                })
            })
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn containment() {
        assert!(covers("s3:*", "s3:GetObject", true));
        assert!(covers("s3:Get*", "s3:GetObject*", true));
        assert!(!covers("s3:GetObject*", "s3:Get*", true));
        assert!(covers("*", "s3:?et", true));
        assert!(!covers("s3:?et", "s3:*et", true));
        assert!(covers("S3:getobject", "s3:GetObject", true));
        assert!(!covers("a", "A", false));
        assert!(resource_covers("arn:aws:s3:::b/*", "arn:aws:s3:::b/x/*"));
        assert!(!resource_covers("arn:aws:s3:::b/*", "arn:aws:s3:::b"));
        let long = "a".repeat(5000);
        assert!(covers(&long, &long, false));
        assert!(covers("*", &long, false));
        assert!(!covers(&format!("{long}*"), &format!("{long}b"), false));
        assert!(every_role("arn:aws:iam::*:*"));
        assert!(every_role("arn:aws:iam::*:role/*"));
        assert!(every_role("arn:aws:iam::111122223333:role/*"));
        assert!(!every_role("arn:aws:iam::111122223333:role/app-*"));
    }
}
