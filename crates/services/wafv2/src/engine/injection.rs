//! SQL injection and cross-site scripting detection (`SqliMatchStatement`,
//! `XssMatchStatement`) over a transformed request component.
//!
//! Both use libinjection's detectors, the ones ModSecurity and the OWASP Core Rule Set use
//! (through `libinjectionrs`, a Rust port tested against the C library). AWS does not publish
//! its signatures; `SensitivityLevel` `LOW` is libinjection's verdict alone, and `HIGH` adds
//! Rampart's own signatures below for patterns libinjection leaves to other rules (UNION
//! queries, stacked statements, time delays, catalogue probing, file access), so `HIGH`
//! catches more and may flag more ordinary text, as AWS documents for its `HIGH`.

use std::sync::OnceLock;

use regex::bytes::{RegexSet, RegexSetBuilder};

/// Rampart's additional SQL injection signatures for `HIGH` sensitivity.
const HIGH_SIGNATURES: &[&str] = &[
    // UNION-based extraction.
    r"(?i)\bunion\b[\s(/*!]{1,40}(all\s+|distinct\s+)?select\b",
    // A stacked statement after a terminator.
    r"(?i);\s*(drop|truncate|alter|create|insert|update|delete|exec(ute)?|shutdown|declare)\b",
    // Time-delay probes.
    r"(?i)\b(sleep|pg_sleep|benchmark)\s*\(|\bwaitfor\s+delay\b",
    // A quote closed, then a boolean test.
    r#"(?i)['"`]\s*(or|and|xor|\|\||&&)\s*[\w'"`(]+\s*(=|<>|!=|<|>|\blike\b|\bis\b)"#,
    // Catalogue probing.
    r"(?i)\b(information_schema|pg_catalog|sqlite_master|sysobjects|syscolumns|mysql\.user)\b",
    // MySQL inline-comment execution and file access.
    r"(?i)/\*!|\bload_file\s*\(|\binto\s+(out|dump)file\b",
];

/// The `HIGH` signatures as one pattern (each in its own group), for the SQL database managed
/// rule group's `SQLiExtendedPatterns_*` rules.
pub fn high_signatures_pattern() -> String {
    HIGH_SIGNATURES
        .iter()
        .map(|s| format!("(?:{s})"))
        .collect::<Vec<_>>()
        .join("|")
}

fn high_signatures() -> Option<&'static RegexSet> {
    static SET: OnceLock<Option<RegexSet>> = OnceLock::new();
    SET.get_or_init(|| RegexSetBuilder::new(HIGH_SIGNATURES).build().ok())
        .as_ref()
}

/// Whether `value` looks like SQL injection at the given sensitivity.
pub fn sqli(value: &[u8], high: bool) -> bool {
    if libinjectionrs::detect_sqli(value).is_injection() {
        return true;
    }
    high && high_signatures().is_some_and(|set| set.is_match(value))
}

/// Whether `value` looks like cross-site scripting.
pub fn xss(value: &[u8]) -> bool {
    libinjectionrs::detect_xss(value).is_injection()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn the_high_signatures_compile() {
        assert!(high_signatures().is_some());
    }

    #[test]
    fn classic_sql_injection_is_caught_at_both_levels() {
        for attack in [
            "' OR '1'='1' --",
            "1' OR 1=1#",
            "1 UNION SELECT username, password FROM users",
            "'; DROP TABLE users; --",
            "admin'--",
        ] {
            assert!(sqli(attack.as_bytes(), false), "LOW missed {attack}");
            assert!(sqli(attack.as_bytes(), true), "HIGH missed {attack}");
        }
    }

    #[test]
    fn high_catches_what_low_leaves() {
        for attack in [
            "x;shutdown",
            "id=1 AND SLEEP(5)",
            "select * from information_schema.tables",
            // sqlmap's PostgreSQL stacked time delay: libinjectionrs 0.1.1 reads `CREATE OR
            // REPLACE` as three tokens (`1;E&k`) where the C library folds them into one
            // keyword and flags it (`1;Tkf`), so only HIGH's stacked-statement signature
            // catches it (BENCHMARKS.md, "WAF").
            "1 ;CREATE OR REPLACE FUNCTION SLEEP(int) RETURNS int AS '/lib/libc.so.6','sleep' \
             language 'C' STRICT; SELECT sleep(5)",
        ] {
            assert!(sqli(attack.as_bytes(), true), "HIGH missed {attack}");
        }
    }

    #[test]
    fn ordinary_text_passes_both_levels() {
        for ok in [
            "hello world",
            "/index.html",
            "name=John Smith&city=New York",
            "2024-01-01",
            "a nice cup of tea",
            "user@example.com",
        ] {
            assert!(!sqli(ok.as_bytes(), false), "LOW flagged {ok}");
            assert!(!sqli(ok.as_bytes(), true), "HIGH flagged {ok}");
            assert!(!xss(ok.as_bytes()), "XSS flagged {ok}");
        }
    }

    #[test]
    fn cross_site_scripting_is_caught() {
        for attack in [
            "<script>alert(1)</script>",
            "<img src=x onerror=alert(1)>",
            "<svg/onload=alert(document.cookie)>",
            "<a href=\"javascript:alert(1)\">x</a>",
        ] {
            assert!(xss(attack.as_bytes()), "missed {attack}");
        }
    }

    proptest! {
        #[test]
        fn any_bytes_get_an_answer(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
            let _ = sqli(&bytes, true);
            let _ = xss(&bytes);
        }
    }
}
