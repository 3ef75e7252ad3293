//! The Condition element: operators, keys (global keys' names, types and cardinality, tag
//! keys), values (JSON types, the operator's value type, IP ranges, numbers).

use rampart_policy::condition::{compile_value, Base, CondValue, Operator, SetOp};

use super::checker::{at, key, val, Checker};
use super::finding::{FindingType, Step};
use super::ip::{host_bits, is_private};
use super::json::{Kind, Member, Node, Span};
use super::keys::{self, KeyType};
use super::variables::variables;
// The condition operators as IAM spells them: the policy engine's own list.
use rampart_policy::iam_grammar::OPERATORS;

/// Checks the Condition element `node` at `path` of a statement (`allow`: its effect).
pub fn check(c: &mut Checker, node: &Node, path: &[Step], allow: Option<bool>) {
    let Some(ops) = node.members() else {
        return c.mismatch(node, "object", path.to_vec());
    };
    if ops.is_empty() {
        return empty_object(c, path.to_vec(), node.span);
    }
    for m in ops {
        let Some(op) = operator(c, m, path) else {
            continue;
        };
        let p = at(path, [val(&m.key)]);
        let Some(block) = m.value.members() else {
            c.mismatch(&m.value, "object", p);
            continue;
        };
        if block.is_empty() {
            empty_object(c, p.clone(), m.value.span);
        }
        for (i, k) in block.iter().enumerate() {
            let earlier = block.iter().take(i);
            if earlier
                .filter(|e| e.key.eq_ignore_ascii_case(&k.key))
                .any(|e| e.key != k.key)
            {
                c.error(
                    "DUPLICATE_KEYS_WITH_DIFFERENT_CASE",
                    format!("The condition key {} appears more than once with different case. Keys are not case sensitive: combine them.", k.key),
                    at(&p, [key(&k.key)]),
                    k.key_span,
                );
            }
            condition_key(c, &op, k, &p, allow);
            values(c, &op, k, &at(&p, [val(&k.key)]));
        }
    }
}

fn empty_object(c: &mut Checker, path: Vec<Step>, span: Span) {
    c.add(
        FindingType::Suggestion,
        "EMPTY_OBJECT_CONDITION",
        "The condition is an empty object and has no effect. Remove it or add condition keys."
            .into(),
        path,
        span,
    );
}

/// The operator of `m`, when it is one (findings otherwise).
fn operator(c: &mut Checker, m: &Member, path: &[Step]) -> Option<Operator> {
    let name = m.key.as_str();
    let kpath = at(path, [key(name)]);
    let unqualified = name
        .strip_prefix("ForAnyValue:")
        .or_else(|| name.strip_prefix("ForAllValues:"));
    let core = unqualified.unwrap_or(name);
    let (core, if_exists) = match core.strip_suffix("IfExists") {
        Some(core) => (core, true),
        None => (core, false),
    };
    if core == "Null" && if_exists {
        c.error(
            "NULL_WITH_IF_EXISTS",
            "The Null condition operator cannot be used with the IfExists suffix. Use Null alone."
                .into(),
            kpath,
            m.key_span,
        );
        return None;
    }
    if core == "Null" && unqualified.is_some() {
        c.add(FindingType::Warning, "NULL_WITH_QUALIFIER", "Avoid using the Null condition operator with the ForAllValues or ForAnyValue qualifiers: Null tests only whether the key is present.".into(), kpath, m.key_span);
        return None;
    }
    match Operator::parse(name).filter(|_| OPERATORS.contains(&core)) {
        Some(op) => Some(op),
        None => {
            c.error(
                "INVALID_CONDITION_OPERATOR",
                format!("The condition operator {name} is not valid."),
                kpath,
                m.key_span,
            );
            None
        }
    }
}

/// The key's name, type and cardinality against the operator.
fn condition_key(c: &mut Checker, op: &Operator, k: &Member, path: &[Step], allow: Option<bool>) {
    let kpath = at(path, [key(&k.key)]);
    let span = k.key_span;
    let Some((prefix, name)) = k.key.split_once(':') else {
        return key_format(c, &k.key, kpath, span);
    };
    let prefix_ok = !prefix.is_empty()
        && prefix
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.');
    if !prefix_ok || name.is_empty() || k.key.contains(char::is_whitespace) {
        return key_format(c, &k.key, kpath, span);
    }
    if !prefix.eq_ignore_ascii_case("aws") {
        return;
    }
    let lower = k.key.to_ascii_lowercase();
    if keys::TAG_PREFIXES
        .iter()
        .any(|t| lower == *t || lower == format!("{t}/"))
    {
        return c.error(
            "MISSING_TAG_KEY_IN_CONDITION",
            format!(
                "Add a tag key to the condition key {}: {}/tag-key.",
                k.key,
                k.key.trim_end_matches('/')
            ),
            kpath,
            span,
        );
    }
    let Some((ty, multi)) = keys::global(&lower) else {
        return c.error(
            "INVALID_GLOBAL_CONDITION_KEY",
            format!(
                "The condition key {} does not exist. Use a valid global condition key.",
                k.key
            ),
            kpath,
            span,
        );
    };
    if !fits(op.base, ty) {
        c.add(
            FindingType::Warning,
            "TYPE_MISMATCH",
            format!(
                "The condition operator {} does not match the type of the condition key {}.",
                op.name, k.key
            ),
            kpath.clone(),
            span,
        );
    }
    if multi && op.set == SetOp::Single && op.base != Base::Null {
        c.error("MISSING_QUALIFIER", format!("The request context key {} can have several values. Use the ForAllValues or ForAnyValue qualifier in the operator.", k.key), kpath, span);
    } else if !multi && op.set == SetOp::ForAllValues && allow == Some(true) {
        c.add(FindingType::SecurityWarning, "FORALLVALUES_WITH_SINGLE_VALUED_KEY", format!("Using ForAllValues with the single-valued key {} can be overly permissive: it also matches requests without the key. Remove ForAllValues.", k.key), kpath, span);
    }
}

fn key_format(c: &mut Checker, k: &str, path: Vec<Step>, span: Span) {
    c.error(
        "INVALID_CONDITION_KEY_FORMAT",
        format!("The condition key {k} is not valid. Use the format service:keyname."),
        path,
        span,
    );
}

/// True when the operator family applies to keys of type `ty`.
fn fits(base: Base, ty: KeyType) -> bool {
    match base {
        Base::Null => true,
        Base::StringEquals | Base::StringEqualsIgnoreCase | Base::StringLike => {
            matches!(ty, KeyType::Str | KeyType::Arn)
        }
        Base::Arn => ty == KeyType::Arn,
        Base::Numeric(_) => ty == KeyType::Num,
        Base::Date(_) => ty == KeyType::Date,
        Base::Bool => ty == KeyType::Bool,
        Base::Ip => ty == KeyType::Ip,
        Base::Binary => false,
    }
}

/// The values of one key test at `path`.
fn values(c: &mut Checker, op: &Operator, k: &Member, path: &[Step]) {
    let (items, single): (Vec<(&Node, Vec<Step>)>, bool) = match &k.value.kind {
        Kind::Arr(a) => (
            a.iter()
                .enumerate()
                .map(|(i, n)| (n, at(path, [Step::Index(i)])))
                .collect(),
            false,
        ),
        _ => (vec![(&k.value, path.to_vec())], true),
    };
    if items.is_empty() {
        let code = match (op.set, op.if_exists) {
            (SetOp::ForAllValues, _) => "EMPTY_ARRAY_CONDITION_FORALLVALUES",
            (SetOp::ForAnyValue, _) => "EMPTY_ARRAY_CONDITION_FORANYVALUE",
            (_, true) => "EMPTY_ARRAY_CONDITION_IGNORED",
            _ => "EMPTY_ARRAY_CONDITION",
        };
        return c.add(
            FindingType::Suggestion,
            code,
            format!("The condition key {} has an empty array of values.", k.key),
            path.to_vec(),
            k.value.span,
        );
    }
    let mut texts: Vec<(String, Span, Vec<Step>)> = Vec::new();
    let mut types: Vec<&str> = Vec::new();
    for (n, p) in items {
        let text = match &n.kind {
            Kind::Str(s) => s.clone(),
            Kind::Num(x) => x.clone(),
            Kind::Bool(b) => b.to_string(),
            _ => {
                c.mismatch(
                    n,
                    if single {
                        "string, number, boolean or array"
                    } else {
                        "string, number or boolean"
                    },
                    p,
                );
                continue;
            }
        };
        if !types.contains(&n.type_name()) {
            types.push(n.type_name());
        }
        texts.push((text, n.span, p));
    }
    if types.len() > 1 {
        c.error("INVALID_CONDITION_DATA_TYPE", format!("The values of the condition key {} mix JSON data types ({}). Use values of one type.", k.key, types.join(", ")), path.to_vec(), k.value.span);
    }
    if op.base == Base::Bool && texts.len() > 1 {
        c.error(
            "INVALID_CONDITION_MULTIPLE_BOOLEAN",
            format!(
                "The Bool condition key {} expects one value, true or false.",
                k.key
            ),
            path.to_vec(),
            k.value.span,
        );
    }
    if matches!(
        op.base,
        Base::Numeric(
            rampart_policy::condition::Cmp::Lt
                | rampart_policy::condition::Cmp::Le
                | rampart_policy::condition::Cmp::Gt
                | rampart_policy::condition::Cmp::Ge
        )
    ) && texts.len() > 1
    {
        c.add(FindingType::Suggestion, "REDUNDANT_CONDITION_VALUE_NUM", format!("Only the most permissive value of {} with {} decides the condition; keep that one.", k.key, op.name), path.to_vec(), k.value.span);
    }
    let mut private = 0;
    for (t, span, p) in &texts {
        if t.contains("${") {
            if matches!(
                op.base,
                Base::Numeric(_) | Base::Date(_) | Base::Bool | Base::Binary | Base::Ip
            ) {
                c.error("INVALID_VARIABLE_FOR_OPERATOR", format!("Policy variables are not supported with the {} operator. Use a String or Arn operator.", op.name), p.clone(), *span);
            } else {
                variables(c, t, *span, p);
            }
            continue;
        }
        value(c, op, t, *span, p.clone());
        if op.base == Base::Ip && k.key.eq_ignore_ascii_case("aws:SourceIp") && is_private(t) {
            private += 1;
        }
    }
    if private > 0 {
        private_ips(c, op, private == texts.len(), path, k.value.span);
    }
}

fn value(c: &mut Checker, op: &Operator, t: &str, span: Span, p: Vec<Step>) {
    let mismatch = match compile_value(op.base, t) {
        Err(_) => true,
        Ok(CondValue::Bool(None)) => true,
        Ok(_) => false,
    };
    if mismatch {
        let (kind, code, what) = match op.base {
            Base::Numeric(_) => (FindingType::Warning, "TYPE_MISMATCH_NUMBER", "a number"),
            Base::Date(_) => (
                FindingType::Warning,
                "TYPE_MISMATCH_DATE",
                "a date (ISO 8601 or epoch seconds)",
            ),
            Base::Ip => (
                FindingType::Error,
                "TYPE_MISMATCH_IP_RANGE",
                "an IP address or CIDR range",
            ),
            _ => (FindingType::Warning, "TYPE_MISMATCH_BOOL", "true or false"),
        };
        return c.add(
            kind,
            code,
            format!(
                "The value {t} does not match the type of the {} operator: use {what}.",
                op.name
            ),
            p,
            span,
        );
    }
    if op.base == Base::StringEquals || op.base == Base::StringEqualsIgnoreCase {
        if t.contains('*') {
            c.add(FindingType::Warning, "WILDCARD_WITHOUT_LIKE_OPERATOR", format!("The {} operator does not expand the wildcard (*) in {t}. Use StringLike or StringNotLike.", op.name), p, span);
        }
    } else if op.base == Base::Ip && host_bits(t) {
        c.add(FindingType::Suggestion, "IMPROVE_IP_RANGE", format!("The address {t} has bits set after its prefix length, which are ignored. Write the network address of the range."), p, span);
    }
}

fn private_ips(c: &mut Checker, op: &Operator, all: bool, path: &[Step], span: Span) {
    let (kind, code) = match (op.negated, all) {
        (false, true) => (FindingType::Error, "PRIVATE_IP_ADDRESS"),
        (true, true) => (FindingType::Error, "PRIVATE_NOT_IP_ADDRESS"),
        (false, false) => (FindingType::Warning, "PRIVATE_IP_ADDRESS_SUBSET"),
        (true, false) => (FindingType::Warning, "PRIVATE_NOT_IP_ADDRESS_SUBSET"),
    };
    c.add(kind, code, "aws:SourceIp is the public address a request comes from: it never holds a private (RFC 1918) address, so private ranges never match. Use aws:VpcSourceIp for addresses inside a VPC.".into(), path.to_vec(), span);
}
