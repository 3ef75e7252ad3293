//! `AWSManagedRulesKnownBadInputsRuleSet` (known bad inputs, `known-bad-inputs`): AWS's rule
//! names and labels, Rampart's patterns.

use serde_json::json;

use super::{body, header, headers, method, query_string, regex, rule, uri, ManagedRule};

/// URL decoding (with `%uXXXX`): the one transformation these rules need, which keeps the
/// group within AWS's 200 WCUs.
const URL: &[&str] = &["URL_DECODE_UNI"];

/// Java deserialization and Spring remote code execution (CVE-2022-22963, CVE-2022-22965):
/// runtime and process builder calls, class loader manipulation, the Cloud Function routing
/// expression, and a serialized Java object (`rO0AB`, `aced0005`).
const JAVA_RCE: &str = r"(?i)(java\.lang\.(runtime|processbuilder|reflect)|getruntime\s*\(\s*\)|class\.module\.classloader|spring\.cloud\.function\.routing-expression|\bT\s*\(\s*java\.|(?-i:rO0AB)|\baced0005)";

/// Loopback host names (AWS's example: `localhost`), with or without a port.
const LOCALHOST: &str = r"(?i)^\s*(localhost|127(\.\d{1,3}){3}|\[::1\]|0\.0\.0\.0)(:\d+)?\s*$";

/// Web application paths known to be exploitable (AWS's example: `web-inf`).
const EXPLOITABLE_PATHS: &str = r"(?i)(/web-inf\b|/meta-inf\b|/\.(git|svn|hg|bzr)(/|$)|/\.ds_store|/\.aws/|/\.ssh/|/server-status\b|/actuator/(env|heapdump|jolokia|gateway)\b|/jmx-console\b|/invoker/|/cgi-bin/.*\.(sh|pl)\b)";

/// Log4j lookups (CVE-2021-44228, -45046, -45105): `${jndi:`, nested lookups that spell it
/// (`${${::-j}ndi:`), and the case-changing lookups used to hide it.
const LOG4J: &str = r"(?i)\$\{\s*(jndi\s*:|[^}]{0,60}\$\{|::-|(lower|upper)\s*:|env\s*:[^}]*:-)";

/// The rules, in AWS's order.
pub fn rules() -> Vec<ManagedRule> {
    vec![
        rule(
            "JavaDeserializationRCE_HEADER",
            "JavaDeserializationRCE_Header",
            regex(headers(), JAVA_RCE, URL),
        ),
        rule(
            "JavaDeserializationRCE_BODY",
            "JavaDeserializationRCE_Body",
            regex(body(), JAVA_RCE, URL),
        ),
        rule(
            "JavaDeserializationRCE_URIPATH",
            "JavaDeserializationRCE_URIPath",
            regex(uri(), JAVA_RCE, URL),
        ),
        rule(
            "JavaDeserializationRCE_QUERYSTRING",
            "JavaDeserializationRCE_QueryString",
            regex(query_string(), JAVA_RCE, URL),
        ),
        rule(
            "Host_localhost_HEADER",
            "Host_Localhost_Header",
            regex(header("host"), LOCALHOST, &["NONE"]),
        ),
        rule(
            "PROPFIND_METHOD",
            "Propfind_Method",
            json!({"ByteMatchStatement": {"FieldToMatch": method(),
                "SearchString": "cHJvcGZpbmQ=", "PositionalConstraint": "EXACTLY",
                "TextTransformations": [{"Priority": 0, "Type": "LOWERCASE"}]}}),
        ),
        rule(
            "ExploitablePaths_URIPATH",
            "ExploitablePaths_URIPath",
            regex(uri(), EXPLOITABLE_PATHS, URL),
        ),
        rule(
            "Log4JRCE_HEADER",
            "Log4JRCE_Header",
            regex(headers(), LOG4J, URL),
        ),
        rule(
            "Log4JRCE_QUERYSTRING",
            "Log4JRCE_QueryString",
            regex(query_string(), LOG4J, URL),
        ),
        rule("Log4JRCE_BODY", "Log4JRCE_Body", regex(body(), LOG4J, URL)),
        rule(
            "Log4JRCE_URIPATH",
            "Log4JRCE_URIPath",
            regex(uri(), LOG4J, URL),
        ),
    ]
}
