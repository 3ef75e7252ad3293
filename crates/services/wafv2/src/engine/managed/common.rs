//! `AWSManagedRulesCommonRuleSet` (core rule set, `core-rule-set`): AWS's rule names and
//! labels, Rampart's patterns.

use super::{
    body, cookies, header, not, query_args, query_string, regex, rule, size, uri, xss, ManagedRule,
    DECODED,
};

/// Scanner and attack-tool user agents (AWS's examples: `nessus`, `nmap`).
const BAD_BOTS: &str = r"(?i)\b(nessus|nmap|nikto|sqlmap|masscan|zgrab|acunetix|netsparker|w3af|dirbuster|gobuster|wpscan|nuclei|openvas|fimap|havij|zmeu|morfeus|jorgee|arachni|whatweb|skipfish|webinspect|sqlninja|commix|brutus|paros)\b";

/// The EC2 instance metadata service, by name or by any spelling of its address.
const EC2_METADATA: &str = r"(?i)(169\.254\.169\.254|\b2852039166\b|0xa9\.?0xfe\.?0xa9\.?0xfe|\b0xa9fea9fe\b|0251\.0376\.0251\.0376|fd00:ec2::254|instance-data\.ec2\.internal)";

/// A path traversal step (`../` or `..\`).
const TRAVERSAL: &str = r"(^|[/\\=])\.\.[/\\]";

/// Two path traversal steps, for bodies (AWS's example `../../`), where one is common text.
const TRAVERSAL_TWICE: &str = r"\.\.[/\\]+\.\.[/\\]";

/// System file extensions unsafe to read or run (AWS's examples: `.log`, `.ini`).
const EXTENSIONS_PATH: &str = r"(?i)\.(log|ini|conf|cfg|bak|backup|old|orig|sql|swp|env|htaccess|htpasswd|passwd|pem|key|inc|git|svn|dll|exe|bat|cmd)($|[/;])";

/// A query argument value ending in such an extension.
const EXTENSIONS_VALUE: &str = r"(?i)\.(log|ini|conf|cfg|bak|backup|old|orig|sql|swp|env|htaccess|htpasswd|passwd|pem|key|inc|git|svn|dll|exe|bat|cmd)$";

/// A URL whose host is an IPv4 address (AWS: `http://`, `https://`, `ftp://`, `ftps://`,
/// `file://` with an IPv4 host).
const RFI: &str =
    r"(?i)\b(https?|ftps?|file)://(\[[^\]]*\]|[^/?#\s@]*@)?\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}";

/// The rules, in AWS's order.
pub fn rules() -> Vec<ManagedRule> {
    vec![
        rule(
            "NoUserAgent_HEADER",
            "NoUserAgent_Header",
            not(size(header("user-agent"), "GT", 0)),
        ),
        rule(
            "UserAgent_BadBots_HEADER",
            "BadBots_Header",
            regex(header("user-agent"), BAD_BOTS, &["NONE"]),
        ),
        rule(
            "SizeRestrictions_QUERYSTRING",
            "SizeRestrictions_QueryString",
            size(query_string(), "GT", 2048),
        ),
        rule(
            "SizeRestrictions_Cookie_HEADER",
            "SizeRestrictions_Cookie_Header",
            size(header("cookie"), "GT", 10240),
        ),
        rule(
            "SizeRestrictions_BODY",
            "SizeRestrictions_Body",
            size(
                serde_json::json!({"Body": {"OversizeHandling": "MATCH"}}),
                "GT",
                8192,
            ),
        ),
        rule(
            "SizeRestrictions_URIPATH",
            "SizeRestrictions_URIPath",
            size(uri(), "GT", 1024),
        ),
        rule(
            "EC2MetaDataSSRF_BODY",
            "EC2MetaDataSSRF_Body",
            regex(body(), EC2_METADATA, DECODED),
        ),
        rule(
            "EC2MetaDataSSRF_COOKIE",
            "EC2MetaDataSSRF_Cookie",
            regex(cookies(), EC2_METADATA, DECODED),
        ),
        rule(
            "EC2MetaDataSSRF_URIPATH",
            "EC2MetaDataSSRF_URIPath",
            regex(uri(), EC2_METADATA, DECODED),
        ),
        rule(
            "EC2MetaDataSSRF_QUERYARGUMENTS",
            "EC2MetaDataSSRF_QueryArguments",
            regex(query_args(), EC2_METADATA, DECODED),
        ),
        rule(
            "GenericLFI_QUERYARGUMENTS",
            "GenericLFI_QueryArguments",
            regex(query_args(), TRAVERSAL, DECODED),
        ),
        rule(
            "GenericLFI_URIPATH",
            "GenericLFI_URIPath",
            regex(uri(), TRAVERSAL, DECODED),
        ),
        rule(
            "GenericLFI_BODY",
            "GenericLFI_Body",
            regex(body(), TRAVERSAL_TWICE, DECODED),
        ),
        rule(
            "RestrictedExtensions_URIPATH",
            "RestrictedExtensions_URIPath",
            regex(uri(), EXTENSIONS_PATH, DECODED),
        ),
        rule(
            "RestrictedExtensions_QUERYARGUMENTS",
            "RestrictedExtensions_QueryArguments",
            regex(query_args(), EXTENSIONS_VALUE, DECODED),
        ),
        rule(
            "GenericRFI_QUERYARGUMENTS",
            "GenericRFI_QueryArguments",
            regex(query_args(), RFI, DECODED),
        ),
        rule(
            "GenericRFI_BODY",
            "GenericRFI_Body",
            regex(body(), RFI, DECODED),
        ),
        rule(
            "GenericRFI_URIPATH",
            "GenericRFI_URIPath",
            regex(uri(), RFI, DECODED),
        ),
        rule(
            "CrossSiteScripting_COOKIE",
            "CrossSiteScripting_Cookie",
            xss(cookies(), DECODED),
        ),
        rule(
            "CrossSiteScripting_QUERYARGUMENTS",
            "CrossSiteScripting_QueryArguments",
            xss(query_args(), DECODED),
        ),
        rule(
            "CrossSiteScripting_BODY",
            "CrossSiteScripting_Body",
            xss(body(), DECODED),
        ),
        rule(
            "CrossSiteScripting_URIPATH",
            "CrossSiteScripting_URIPath",
            xss(uri(), DECODED),
        ),
    ]
}
