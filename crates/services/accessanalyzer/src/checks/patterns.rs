//! Relations between the Action and Resource elements the custom policy checks rest on,
//! decided soundly: [`may_match`] and [`may_meet`] may answer yes when no request matches both
//! sides (never no when one does); [`covers`] may answer no when every request of one side
//! matches the other (never yes when one does not).
//!
//! Actions are `*`/`?` patterns over the lowercased service and name, so intersection and
//! containment are exact. ARN patterns are matched by the engine segment by segment, a
//! segment-ending `*` crossing colons: intersection is taken over the whole text (every
//! segment match is a whole-text match, so the answer is a superset), containment segment by
//! segment (a covering segment of a `*`-ending one ends with `*` too, so it crosses the same
//! colons). A policy variable is a `*` for intersection; a pattern holding one covers, or is
//! covered by, only the same text under the same policy version.

use rampart_policy::{action::ActionSpec, resource::ResourceSpec};

use crate::validate::advice::covers as glob_covers;

/// Patterns whose intersection table would exceed this many cells are taken to intersect
/// (sound, and a bound on the work a request can buy).
const MAX_CELLS: usize = 1 << 16;

/// How much work one check may do, in table cells (a comparison of patterns of lengths `m`
/// and `n` costs about `m * n`); past it the checks answer the conservative way (a decision
/// left unproven is a `FAIL`).
pub const BUDGET: usize = 1 << 26;

/// The work weight of patterns: their lengths, plus one each.
pub fn weight<'s>(patterns: impl IntoIterator<Item = &'s String>) -> usize {
    patterns
        .into_iter()
        .map(|p| p.len() + 1)
        .fold(0, usize::saturating_add)
}

/// Which element a set of patterns comes from, and how its texts are read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Actions: `service:name` patterns, case-insensitive.
    Action,
    /// ARN patterns, case-sensitive. `access`: the covered side is an access of
    /// `CheckAccessNotGranted` (a whole-text pattern, covered only when its wildcards are in
    /// the resource part). `same_version`: both policies read `${...}` the same way.
    Resource {
        /// The covered pattern is a whole-text access pattern.
        access: bool,
        /// Both sides come from policies of the same version.
        same_version: bool,
    },
}

/// The patterns of an element: `negated` for NotAction/NotResource (every text none of them
/// matches).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Set<'a> {
    /// NotAction / NotResource.
    pub negated: bool,
    /// The patterns as written.
    pub items: Vec<&'a str>,
}

impl<'a> Set<'a> {
    /// The number of patterns (the unit of the work budget).
    pub fn size(&self) -> usize {
        self.items.len()
    }

    /// The Action or NotAction element.
    pub fn of_action(spec: &'a ActionSpec) -> Set<'a> {
        Set {
            negated: spec.negated,
            items: spec.raw.iter().map(String::as_str).collect(),
        }
    }

    /// The Resource or NotResource element; an absent one (a trust policy) is every resource.
    pub fn of_resource(spec: Option<&'a ResourceSpec>) -> Set<'a> {
        match spec {
            Some(r) => Set {
                negated: r.negated,
                items: r.raw.iter().map(String::as_str).collect(),
            },
            None => Set::one("*"),
        }
    }

    /// One pattern.
    pub fn one(item: &'a str) -> Set<'a> {
        Set {
            negated: false,
            items: vec![item],
        }
    }
}

/// True when some text matches both `*`/`?` patterns (exact).
pub fn glob_intersects(a: &str, b: &str) -> bool {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    if (a.len() + 1).saturating_mul(b.len() + 1) > MAX_CELLS {
        return true;
    }
    let width = b.len() + 1;
    // t[i * width + j]: some text matches both a[i..] and b[j..]; filled from the ends.
    let mut t = vec![false; (a.len() + 1) * width];
    let get = |t: &Vec<bool>, i: usize, j: usize| t.get(i * width + j).copied().unwrap_or(false);
    for i in (0..=a.len()).rev() {
        for j in (0..=b.len()).rev() {
            let (x, y) = (a.get(i).copied(), b.get(j).copied());
            let v = match (x, y) {
                (None, None) => true,
                (Some('*'), _) => get(&t, i + 1, j) || (y.is_some() && get(&t, i, j + 1)),
                (_, Some('*')) => get(&t, i, j + 1) || (x.is_some() && get(&t, i + 1, j)),
                (Some(x), Some(y)) => (x == y || x == '?' || y == '?') && get(&t, i + 1, j + 1),
                _ => false,
            };
            if let Some(slot) = t.get_mut(i * width + j) {
                *slot = v;
            }
        }
    }
    get(&t, 0, 0)
}

/// `service` and `name` of an action pattern, lowercased (`*` is `*:*`).
fn action_parts(p: &str) -> (String, String) {
    let p = p.to_ascii_lowercase();
    match p.split_once(':') {
        Some((s, n)) => (s.to_string(), n.to_string()),
        None if p == "*" => ("*".into(), "*".into()),
        None => (p, String::new()),
    }
}

/// A resource pattern with each policy variable made a `*`.
fn widen(p: &str) -> String {
    let mut out = String::new();
    let mut rest = p;
    while let Some(start) = rest.find("${") {
        out.push_str(rest.get(..start).unwrap_or_default());
        let after = rest.get(start..).unwrap_or_default();
        match after.find('}') {
            Some(end) => {
                out.push('*');
                rest = after.get(end + 1..).unwrap_or_default();
            }
            None => {
                out.push('*');
                rest = "";
            }
        }
    }
    out.push_str(rest);
    out
}

fn has_wildcard(s: &str) -> bool {
    s.contains('*') || s.contains('?')
}

/// True when some text matches both patterns `a` and `b`.
pub fn intersects(kind: Kind, a: &str, b: &str) -> bool {
    match kind {
        Kind::Action => {
            let ((sa, na), (sb, nb)) = (action_parts(a), action_parts(b));
            glob_intersects(&sa, &sb) && glob_intersects(&na, &nb)
        }
        Kind::Resource { .. } => glob_intersects(&widen(a), &widen(b)),
    }
}

/// True when every text pattern `b` matches, pattern `a` matches (patterns too long to
/// compare within [`MAX_CELLS`] cover only themselves).
pub fn item_covers(kind: Kind, a: &str, b: &str) -> bool {
    if (a.len() + 1).saturating_mul(b.len() + 1) > MAX_CELLS {
        return a == b && !a.contains("${");
    }
    match kind {
        Kind::Action => {
            let ((sa, na), (sb, nb)) = (action_parts(a), action_parts(b));
            glob_covers(&sa, &sb, false) && glob_covers(&na, &nb, false)
        }
        Kind::Resource {
            access,
            same_version,
        } => {
            if a == "*" {
                return true;
            }
            if a.contains("${") || b.contains("${") {
                return same_version && !access && a == b;
            }
            if a == b {
                return true;
            }
            let sa: Vec<&str> = a.splitn(6, ':').collect();
            let sb: Vec<&str> = b.splitn(6, ':').collect();
            if sa.len() != 6 || sb.len() != 6 {
                return false;
            }
            let head_fixed = sb.iter().take(5).all(|s| !has_wildcard(s));
            (!access || head_fixed) && sa.iter().zip(&sb).all(|(x, y)| glob_covers(x, y, false))
        }
    }
}

/// True when the set matches some text that `item` matches.
pub fn may_match(kind: Kind, set: &Set, item: &str) -> bool {
    if set.negated {
        !set.items.iter().any(|a| item_covers(kind, a, item))
    } else {
        set.items.iter().any(|a| intersects(kind, a, item))
    }
}

/// True when some text matches both sets.
pub fn may_meet(kind: Kind, a: &Set, b: &Set) -> bool {
    match (a.negated, b.negated) {
        (false, _) => a.items.iter().any(|x| may_match(kind, b, x)),
        (true, false) => b.items.iter().any(|x| may_match(kind, a, x)),
        (true, true) => true,
    }
}

/// True when the set matches every text: a `*` among its patterns.
fn everything(kind: Kind, set: &Set) -> bool {
    !set.negated && set.items.iter().any(|a| item_covers(kind, a, "*"))
}

/// True when every text `b` matches, `a` matches.
pub fn covers(kind: Kind, a: &Set, b: &Set) -> bool {
    match (a.negated, b.negated) {
        (false, false) => b
            .items
            .iter()
            .all(|y| a.items.iter().any(|x| item_covers(kind, x, y))),
        // Every text outside a's patterns: b's patterns must avoid them all.
        (true, false) => b
            .items
            .iter()
            .all(|y| !a.items.iter().any(|x| intersects(kind, x, y))),
        (false, true) => everything(kind, a),
        // complement(a) ⊇ complement(b) when each of a's patterns is inside one of b's.
        (true, true) => a
            .items
            .iter()
            .all(|x| b.items.iter().any(|y| item_covers(kind, y, x))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ENGINE: Kind = Kind::Resource {
        access: false,
        same_version: true,
    };
    const ACCESS: Kind = Kind::Resource {
        access: true,
        same_version: true,
    };

    #[test]
    fn glob_intersection_is_exact() {
        assert!(glob_intersects("get*", "*object"));
        assert!(glob_intersects("a*c", "ab*"));
        assert!(!glob_intersects("a*c", "b*"));
        assert!(glob_intersects("?et", "g*"));
        assert!(!glob_intersects("??", "abc"));
        assert!(glob_intersects("*", ""));
        assert!(!glob_intersects("a", ""));
        assert!(glob_intersects("a*b*c", "*bc"));
        assert!(!glob_intersects("a*x", "*y"));
    }

    #[test]
    fn actions_intersect_and_cover_without_case() {
        assert!(intersects(Kind::Action, "S3:Get*", "s3:*Object"));
        assert!(!intersects(Kind::Action, "s3:Get*", "s3:Put*"));
        assert!(intersects(Kind::Action, "*", "kms:Decrypt"));
        assert!(intersects(Kind::Action, "s3:*", "*"));
        assert!(item_covers(Kind::Action, "*", "s3:Get*"));
        assert!(item_covers(Kind::Action, "s3:*", "S3:GetObject"));
        assert!(!item_covers(Kind::Action, "s3:Get*", "*"));
        assert!(item_covers(Kind::Action, "s3:*Object", "s3:Get*Object"));
        assert!(!item_covers(Kind::Action, "s3:*Object", "s3:Get*"));
    }

    #[test]
    fn not_action_sets() {
        let not_s3 = Set {
            negated: true,
            items: vec!["s3:*"],
        };
        assert!(!may_match(Kind::Action, &not_s3, "s3:GetObject"));
        assert!(may_match(Kind::Action, &not_s3, "kms:Decrypt"));
        assert!(may_match(Kind::Action, &not_s3, "*"));
        assert!(covers(Kind::Action, &not_s3, &Set::one("kms:*")));
        assert!(!covers(Kind::Action, &not_s3, &Set::one("*")));
        assert!(!covers(Kind::Action, &Set::one("kms:*"), &not_s3));
        assert!(covers(Kind::Action, &Set::one("*"), &not_s3));
        let not_get = Set {
            negated: true,
            items: vec!["s3:GetObject"],
        };
        assert!(covers(Kind::Action, &not_get, &not_s3));
        assert!(!covers(Kind::Action, &not_s3, &not_get));
    }

    #[test]
    fn resources_by_segment_and_variables() {
        assert!(item_covers(
            ENGINE,
            "arn:aws:s3:::b/*",
            "arn:aws:s3:::b/x/*"
        ));
        assert!(!item_covers(ENGINE, "arn:aws:s3:::b/*", "arn:aws:s3:::b"));
        assert!(item_covers(
            ENGINE,
            "arn:aws:ec2:*:*:instance/*",
            "arn:aws:ec2:us-east-1:*:instance/i-1"
        ));
        // An access's wildcard outside the resource part is never covered but by `*`.
        assert!(!item_covers(
            ACCESS,
            "arn:aws:ec2:*:*:*",
            "arn:aws:ec2:*:1:instance/i"
        ));
        assert!(item_covers(ACCESS, "*", "arn:aws:ec2:*:1:instance/i"));
        let var = "arn:aws:s3:::b/${aws:username}/*";
        assert!(item_covers(ENGINE, var, var));
        assert!(!item_covers(
            Kind::Resource {
                access: false,
                same_version: false
            },
            var,
            var
        ));
        assert!(!item_covers(ENGINE, "arn:aws:s3:::b/*", var));
        assert!(intersects(ENGINE, var, "arn:aws:s3:::b/alice/x"));
        assert!(!intersects(ENGINE, var, "arn:aws:s3:::c/alice/x"));
        assert!(intersects(
            ENGINE,
            "arn:aws:*:us-east-1:1:x",
            "arn:aws:a:b:us-east-1:1:x"
        ));
    }
}
