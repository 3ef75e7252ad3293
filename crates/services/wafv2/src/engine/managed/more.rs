//! The smaller groups: `AWSManagedRulesAdminProtectionRuleSet` (`admin-protection`),
//! `AWSManagedRulesLinuxRuleSet` (`linux-os`), `AWSManagedRulesUnixRuleSet` (`posix-os`) and
//! `AWSManagedRulesPHPRuleSet` (`php-app`): AWS's rule names and labels, Rampart's patterns.

use super::{body, headers, query_args, query_string, regex, rule, uri, ManagedRule, DECODED};

/// Paths reserved for administering a server or application (AWS's example: `sqlmanager`).
const ADMIN_PATHS: &str = r"(?i)^/+(admin|administrator|wp-admin|phpmyadmin|pma|sqlmanager|mysqladmin|myadmin|adminer|manager/html|admin\.php|admin-console|webadmin|siteadmin|cpanel|_admin)([/.?;]|$)";

/// Linux files that disclose the system (AWS's example: `/proc/version`).
const LINUX_FILES: &str = r"(?i)/(proc/(self|version|cmdline|mounts|net/|\d+/)|etc/(passwd|shadow|group|gshadow|hosts|issue|os-release|crontab|sudoers|hostname)\b|var/log/|root/|\.bash_history|\.ssh/(id_[a-z0-9]+|authorized_keys))";

/// Shell commands and variables (AWS's examples: `echo $HOME`, `echo $PATH`): a shell
/// variable, a command substitution, or a command chained after `;`, `|` or `&&`.
const UNIX_SHELL: &str = r"(\$\{?(HOME|PATH|SHELL|IFS|USER|PWD|ENV)\b|\$\(\s*[a-z]|`\s*(id|whoami|uname|cat|ls|wget|curl|echo)\b|(;|\|\|?|&&)\s*(cat|id|uname|whoami|wget|curl|nc|ncat|bash|sh|ls|ping|chmod|echo|rm)(\s|$))";

/// PHP code injection (AWS's examples: `fsockopen`, `$_GET`): high-risk functions called,
/// superglobals, PHP stream wrappers and an opening tag.
const PHP: &str = r"(?i)(\b(fsockopen|pfsockopen|shell_exec|passthru|proc_open|popen|eval|base64_decode|gzinflate|str_rot13|create_function|call_user_func(_array)?|file_put_contents|phpinfo|move_uploaded_file)\s*\(|\$_(get|post|cookie|request|server|files|env|session)\b|\bphp://(input|filter)|<\?php)";

/// `AWSManagedRulesAdminProtectionRuleSet`.
pub fn admin() -> Vec<ManagedRule> {
    vec![rule(
        "AdminProtection_URIPATH",
        "AdminProtection_URIPath",
        regex(uri(), ADMIN_PATHS, &["URL_DECODE_UNI"]),
    )]
}

/// `AWSManagedRulesLinuxRuleSet`.
pub fn linux() -> Vec<ManagedRule> {
    vec![
        rule(
            "LFI_URIPATH",
            "LFI_URIPath",
            regex(uri(), LINUX_FILES, DECODED),
        ),
        rule(
            "LFI_QUERYSTRING",
            "LFI_QueryString",
            regex(query_string(), LINUX_FILES, DECODED),
        ),
        rule(
            "LFI_HEADER",
            "LFI_Header",
            regex(headers(), LINUX_FILES, DECODED),
        ),
    ]
}

/// `AWSManagedRulesUnixRuleSet`.
pub fn unix() -> Vec<ManagedRule> {
    vec![
        rule(
            "UNIXShellCommandsVariables_QUERYARGUMENTS",
            "UNIXShellCommandsVariables_QUERYARGUMENTS",
            regex(query_args(), UNIX_SHELL, DECODED),
        ),
        rule(
            "UNIXShellCommandsVariables_BODY",
            "UNIXShellCommandsVariables_BODY",
            regex(body(), UNIX_SHELL, DECODED),
        ),
    ]
}

/// `AWSManagedRulesPHPRuleSet`.
pub fn php() -> Vec<ManagedRule> {
    vec![
        rule(
            "PHPHighRiskMethodsVariables_HEADER",
            "PHPHighRiskMethodsVariables_Header",
            regex(headers(), PHP, DECODED),
        ),
        rule(
            "PHPHighRiskMethodsVariables_QUERYSTRING",
            "PHPHighRiskMethodsVariables_QueryString",
            regex(query_string(), PHP, DECODED),
        ),
        rule(
            "PHPHighRiskMethodsVariables_BODY",
            "PHPHighRiskMethodsVariables_Body",
            regex(body(), PHP, DECODED),
        ),
    ]
}
