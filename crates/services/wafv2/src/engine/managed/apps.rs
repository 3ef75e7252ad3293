//! `AWSManagedRulesWindowsRuleSet` (`windows-os`) and `AWSManagedRulesWordPressRuleSet`
//! (`wordpress-app`): AWS's rule names and labels, Rampart's patterns.

use super::{body, cookies, query_args, query_string, regex, rule, uri, ManagedRule, DECODED};

/// Windows shell commands chained or started (AWS's examples: `||nslookup`, `;cmd`).
const WINDOWS_SHELL: &str = r"(?i)((\|\|?|&&|;|`)\s*(cmd(\.exe)?|powershell(\.exe)?|pwsh|nslookup|ping|net(\.exe)?\s+(user|localgroup|view)|whoami|ipconfig|systeminfo|tasklist|certutil|bitsadmin|wmic|reg(\.exe)?\s+query)\b|\bcmd(\.exe)?\s+/[ck]\b)";

/// PowerShell commands used to run or fetch code (AWS's example: `Invoke-Expression`).
const POWERSHELL: &str = r"(?i)(\binvoke-(expression|webrequest|command|restmethod|shellcode|mimikatz)\b|\biex\s*\(|new-object\s+(system\.)?net\.webclient|\.download(string|file)\s*\(|\bstart-process\b|\b(set|add)-mppreference\b|\s-enc(odedcommand)?\s|\[system\.convert\]::frombase64string)";

/// WordPress commands that vulnerable installations or plugins run (AWS's example:
/// `do-reset-wordpress`).
const WORDPRESS_COMMANDS: &str = r"(?i)(do-reset-wordpress|revslider_show_image|revslider_ajax_action|duplicator_download|wpgdprc_process_action|wp_file_manager|elfinder_connector)";

/// WordPress files known to be exploitable (AWS's example: `xmlrpc.php`).
const WORDPRESS_PATHS: &str = r"(?i)/(xmlrpc\.php|wp-config\.php|wp-admin/(install|setup-config)\.php|wp-content/debug\.log|wp-content/plugins/wp-file-manager/lib/php/connector\.minimal\.php)\b";

/// `AWSManagedRulesWindowsRuleSet`.
pub fn windows() -> Vec<ManagedRule> {
    vec![
        rule(
            "WindowsShellCommands_COOKIE",
            "WindowsShellCommands_Cookie",
            regex(cookies(), WINDOWS_SHELL, DECODED),
        ),
        rule(
            "WindowsShellCommands_QUERYARGUMENTS",
            "WindowsShellCommands_QueryArguments",
            regex(query_args(), WINDOWS_SHELL, DECODED),
        ),
        rule(
            "WindowsShellCommands_BODY",
            "WindowsShellCommands_Body",
            regex(body(), WINDOWS_SHELL, DECODED),
        ),
        rule(
            "PowerShellCommands_COOKIE",
            "PowerShellCommands_Cookie",
            regex(cookies(), POWERSHELL, DECODED),
        ),
        rule(
            "PowerShellCommands_QUERYARGUMENTS",
            "PowerShellCommands_QueryArguments",
            regex(query_args(), POWERSHELL, DECODED),
        ),
        rule(
            "PowerShellCommands_BODY",
            "PowerShellCommands_Body",
            regex(body(), POWERSHELL, DECODED),
        ),
    ]
}

/// `AWSManagedRulesWordPressRuleSet`.
pub fn wordpress() -> Vec<ManagedRule> {
    vec![
        rule(
            "WordPressExploitableCommands_QUERYSTRING",
            "WordPressExploitableCommands_QUERYSTRING",
            regex(query_string(), WORDPRESS_COMMANDS, DECODED),
        ),
        rule(
            "WordPressExploitablePaths_URIPATH",
            "WordPressExploitablePaths_URIPATH",
            regex(uri(), WORDPRESS_PATHS, &["URL_DECODE_UNI"]),
        ),
    ]
}
