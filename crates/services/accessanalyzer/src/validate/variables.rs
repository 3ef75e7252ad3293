//! Policy variables (`${aws:username}`, `${aws:username, 'default'}`) inside resources and
//! condition values: their syntax, and the Version they need.

use super::checker::Checker;
use super::finding::Step;
use super::json::Span;

/// Checks the policy variables of `text` (a resource or condition value) at `path`; false
/// when one is malformed or variables are not available in the document's version.
pub fn variables(c: &mut Checker, text: &str, span: Span, path: &[Step]) -> bool {
    let mut rest = text;
    let mut found = false;
    while let Some(start) = rest.find("${") {
        found = true;
        let after = rest.get(start + 2..).unwrap_or_default();
        let Some(end) = after.find('}') else {
            return var_error(
                c,
                "MISSING_BRACE_IN_VARIABLE",
                format!("Add a closing brace to the policy variable in {text}."),
                span,
                path,
            );
        };
        let inner = after.get(..end).unwrap_or_default();
        rest = after.get(end + 1..).unwrap_or_default();
        if let Some(code) = variable_problem(inner) {
            return var_error(
                c,
                code,
                format!("The policy variable ${{{inner}}} in {text} is not valid."),
                span,
                path,
            );
        }
    }
    if found && !c.vars_ok {
        return var_error(
            c,
            "VARIABLE_UNSUPPORTED_IN_VERSION",
            "Policy variables need \"Version\": \"2012-10-17\": without it they are literal text."
                .into(),
            span,
            path,
        );
    }
    true
}

fn var_error(
    c: &mut Checker,
    code: &'static str,
    details: String,
    span: Span,
    path: &[Step],
) -> bool {
    c.error(code, details, path.to_vec(), span);
    false
}

/// What is wrong with the inside of `${...}`: a key, optionally `, 'default'`.
fn variable_problem(inner: &str) -> Option<&'static str> {
    if inner.trim().is_empty() {
        return Some("EMPTY_VARIABLE");
    }
    let (name, default) = match inner.split_once(',') {
        Some((n, d)) => (n, Some(d.strip_prefix(' ').unwrap_or(d))),
        None => (inner, None),
    };
    if name.contains(char::is_whitespace) {
        return Some("UNSUPPORTED_SPACE_IN_VARIABLE");
    }
    match default {
        Some(d) if !(d.len() >= 2 && d.starts_with('\'') && d.ends_with('\'')) => {
            Some("MISSING_QUOTE_IN_VARIABLE")
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn variable_syntax() {
        assert_eq!(variable_problem("aws:username"), None);
        assert_eq!(variable_problem("aws:username, 'x'"), None);
        assert_eq!(variable_problem(" "), Some("EMPTY_VARIABLE"));
        assert_eq!(
            variable_problem("aws: username"),
            Some("UNSUPPORTED_SPACE_IN_VARIABLE")
        );
        assert_eq!(
            variable_problem("aws:username, x"),
            Some("MISSING_QUOTE_IN_VARIABLE")
        );
    }
}
