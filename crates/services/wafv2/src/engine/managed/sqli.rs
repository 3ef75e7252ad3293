//! `AWSManagedRulesSQLiRuleSet` (SQL database, `sql-database`): the `SQLi_*` rules are AWS's
//! built-in SQL injection statement at `LOW` sensitivity, as AWS documents; the
//! `SQLiExtendedPatterns_*` rules are the patterns `HIGH` adds (`injection::HIGH_SIGNATURES`),
//! which the `LOW` statement does not cover.

use super::{body, cookies, query_args, regex, rule, sqli, uri, ManagedRule, DECODED};
use crate::engine::injection;

/// The rules, in AWS's order.
pub fn rules() -> Vec<ManagedRule> {
    let extended = injection::high_signatures_pattern();
    vec![
        rule(
            "SQLi_QUERYARGUMENTS",
            "SQLi_QueryArguments",
            sqli(query_args(), DECODED),
        ),
        rule(
            "SQLiExtendedPatterns_QUERYARGUMENTS",
            "SQLiExtendedPatterns_QueryArguments",
            regex(query_args(), &extended, &["URL_DECODE_UNI"]),
        ),
        rule("SQLi_BODY", "SQLi_Body", sqli(body(), DECODED)),
        rule(
            "SQLiExtendedPatterns_BODY",
            "SQLiExtendedPatterns_Body",
            regex(body(), &extended, &["URL_DECODE_UNI"]),
        ),
        rule("SQLi_COOKIE", "SQLi_Cookie", sqli(cookies(), DECODED)),
        rule(
            "SQLi_URIPATH",
            "SQLi_URIPath",
            sqli(uri(), &["URL_DECODE_UNI"]),
        ),
    ]
}
