//! Access logs of application load balancers, in AWS's format: one line per request with
//! the fields of AWS's documented syntax in order ([`Entry::line`]), files under AWS's key
//! layout ([`object_key`]), and who writes them: the service principal
//! [`SERVICE_PRINCIPAL`] in every region, or the regional Elastic Load Balancing account
//! ([`regional_account`]) that AWS names for regions opened before August 2022.

use std::net::SocketAddr;

use chrono::{DateTime, SecondsFormat, Utc};
use rampart_kit::{context::ContextEntry, principal::Principal};

/// The service principal that writes access logs (AWS's form for every region opened since
/// August 2022; Rampart accepts it in every region).
pub const SERVICE_PRINCIPAL: &str = "logdelivery.elasticloadbalancing.amazonaws.com";

/// The Elastic Load Balancing account of each region opened before August 2022, which AWS's
/// bucket policies for those regions name (`arn:aws:iam::ACCOUNT:root`).
const REGIONAL_ACCOUNTS: [(&str, &str); 24] = [
    ("us-east-1", "127311923021"),
    ("us-east-2", "033677994240"),
    ("us-west-1", "027434742980"),
    ("us-west-2", "797873946194"),
    ("af-south-1", "098369216593"),
    ("ap-east-1", "754344448648"),
    ("ap-southeast-3", "589379963580"),
    ("ap-south-1", "718504428378"),
    ("ap-northeast-3", "383597477331"),
    ("ap-northeast-2", "600734575887"),
    ("ap-southeast-1", "114774131450"),
    ("ap-southeast-2", "783225319266"),
    ("ap-northeast-1", "582318560864"),
    ("ca-central-1", "985666609251"),
    ("eu-central-1", "054676820928"),
    ("eu-west-1", "156460612806"),
    ("eu-west-2", "652711504416"),
    ("eu-south-1", "635631232127"),
    ("eu-west-3", "009996457667"),
    ("eu-north-1", "897822967062"),
    ("me-south-1", "076674570225"),
    ("sa-east-1", "507241528517"),
    ("us-gov-west-1", "048591011584"),
    ("us-gov-east-1", "190560391635"),
];

/// The Elastic Load Balancing account of `region`, for regions opened before August 2022.
pub fn regional_account(region: &str) -> Option<&'static str> {
    REGIONAL_ACCOUNTS
        .iter()
        .find(|(r, _)| *r == region)
        .map(|(_, a)| *a)
}

/// Who writes a load balancer's access logs, in the order tried: the service principal
/// (for the load balancer, so its writes carry `aws:SourceAccount` and `aws:SourceArn`),
/// then, in a region opened before August 2022, the root of its Elastic Load Balancing
/// account. A bucket policy that names either lets the logs in.
pub fn writers(account: &str, region: &str, load_balancer_arn: &str) -> Vec<Principal> {
    let mut out = vec![Principal::service_for(
        SERVICE_PRINCIPAL,
        account,
        load_balancer_arn,
    )];
    if let Some(elb) = regional_account(region) {
        out.push(Principal::root(
            rampart_kit::Partition::of_region(region),
            elb,
            "",
        ));
    }
    out
}

/// The condition keys a write carries beyond its principal's: the canned ACL that gives
/// the bucket owner the file (`s3:x-amz-acl`).
pub fn write_keys() -> Vec<ContextEntry> {
    vec![(
        "s3:x-amz-acl".to_string(),
        vec!["bucket-owner-full-control".to_string()],
    )]
}

/// The key prefix every file of a load balancer of `account` goes under:
/// `[prefix/]AWSLogs/ACCOUNT/`.
pub fn logs_root(prefix: &str, account: &str) -> String {
    if prefix.is_empty() {
        format!("AWSLogs/{account}/")
    } else {
        format!("{prefix}/AWSLogs/{account}/")
    }
}

/// The load balancer's resource id as the logs give it (`app/NAME/ID`).
pub fn resource_id(load_balancer_arn: &str) -> &str {
    load_balancer_arn
        .split_once(":loadbalancer/")
        .map_or(load_balancer_arn, |(_, tail)| tail)
}

/// A log file's key, in AWS's layout:
/// `[prefix/]AWSLogs/ACCOUNT/elasticloadbalancing/REGION/yyyy/mm/dd/ACCOUNT_elasticloadbalancing_REGION_app.NAME.ID_END_IP_RANDOM.log.gz`,
/// where `end` is the end of the five-minute interval the file holds.
pub fn object_key(
    prefix: &str,
    account: &str,
    region: &str,
    load_balancer_arn: &str,
    end: DateTime<Utc>,
    node_ip: &str,
    random: &str,
) -> String {
    format!(
        "{}elasticloadbalancing/{region}/{}/{account}_elasticloadbalancing_{region}_{}_{}_{node_ip}_{random}.log.gz",
        logs_root(prefix, account),
        end.format("%Y/%m/%d"),
        resource_id(load_balancer_arn).replace('/', "."),
        end.format("%Y%m%dT%H%MZ"),
    )
}

/// What an HTTPS listener's entry says of the TLS session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsFacts {
    /// The cipher (OpenSSL's name).
    pub cipher: String,
    /// `TLSv1.2` or `TLSv1.3`.
    pub protocol: String,
    /// The client's SNI name when it matched a certificate (else the default one was shown).
    pub domain: Option<String>,
    /// The ARN of the certificate presented.
    pub certificate_arn: String,
}

/// One request, as its access log entry records it.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    /// `http`, `https` or `h2`.
    pub kind: &'static str,
    /// When the response was generated.
    pub time: DateTime<Utc>,
    /// The load balancer's ARN.
    pub load_balancer_arn: String,
    /// The client.
    pub client: SocketAddr,
    /// The target that processed the request (`ADDRESS:PORT`), if it was dispatched.
    pub target: Option<String>,
    /// Seconds from receipt to dispatch, if dispatched.
    pub request_processing: Option<f64>,
    /// Seconds from dispatch to the target's response headers, if it answered.
    pub target_processing: Option<f64>,
    /// Seconds from the target's headers to the response to the client, if it answered.
    pub response_processing: Option<f64>,
    /// The load balancer's status code.
    pub elb_status: u16,
    /// The target's status code, if it answered.
    pub target_status: Option<u16>,
    /// Bytes received from the client (head and body).
    pub received_bytes: u64,
    /// Bytes sent to the client (head and body).
    pub sent_bytes: u64,
    /// The method.
    pub method: String,
    /// `scheme://host:port/path?query` as the client asked.
    pub url: String,
    /// `HTTP/1.1`, `HTTP/2.0`, ...
    pub version: String,
    /// The `User-Agent` header.
    pub user_agent: Option<String>,
    /// For HTTPS listeners.
    pub tls: Option<TlsFacts>,
    /// The target group forwarded to.
    pub target_group_arn: Option<String>,
    /// The `X-Amzn-Trace-Id` header.
    pub trace_id: Option<String>,
    /// The priority of the rule that matched, 0 for the default action; none when rules were
    /// not evaluated.
    pub matched_rule_priority: Option<u32>,
    /// When the request was received.
    pub request_creation_time: DateTime<Utc>,
    /// `waf`, `forward`, `fixed-response`, `redirect`, in the order taken.
    pub actions: Vec<&'static str>,
    /// The `Location` of a redirect.
    pub redirect_url: Option<String>,
    /// The connection's id (`TID_` and 32 hex digits).
    pub conn_trace_id: String,
}

/// Fixed-point seconds as AWS writes them (`0.001`), or `-1`.
fn seconds(s: Option<f64>) -> String {
    match s {
        Some(s) => format!("{:.3}", s.max(0.0)),
        None => "-1".to_string(),
    }
}

fn or_dash<T: ToString>(v: Option<T>) -> String {
    v.map_or_else(|| "-".to_string(), |v| v.to_string())
}

/// A field in double quotes: `-` when absent; a quote, backslash or control character
/// inside is escaped, so a field never spans lines or ends early.
fn quoted(v: Option<&str>) -> String {
    let Some(v) = v else {
        return "\"-\"".to_string();
    };
    let mut out = String::with_capacity(v.len() + 2);
    out.push('"');
    for c in v.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if c.is_control() => out.push_str(&format!("\\x{:02x}", u32::from(c))),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// A time as the logs write it (`2018-07-02T22:23:00.186641Z`).
fn iso(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Micros, true)
}

/// The user agent as AWS logs it: at most 8 KB.
fn user_agent(ua: Option<&str>) -> Option<&str> {
    ua.map(|u| {
        let mut end = u.len().min(8192);
        while !u.is_char_boundary(end) {
            end -= 1;
        }
        u.get(..end).unwrap_or_default()
    })
}

impl Entry {
    /// The entry as one line of the log file (no line end).
    pub fn line(&self) -> String {
        let request = format!("{} {} {}", self.method, self.url, self.version);
        let actions = (!self.actions.is_empty()).then(|| self.actions.join(","));
        let target_list = self.target.as_deref();
        let status_list = self.target_status.map(|s| s.to_string());
        let fields: [String; 30] = [
            self.kind.to_string(),
            iso(self.time),
            resource_id(&self.load_balancer_arn).to_string(),
            self.client.to_string(),
            or_dash(self.target.as_deref()),
            seconds(self.request_processing),
            seconds(self.target_processing),
            seconds(self.response_processing),
            self.elb_status.to_string(),
            or_dash(self.target_status),
            self.received_bytes.to_string(),
            self.sent_bytes.to_string(),
            quoted(Some(request.as_str())),
            quoted(user_agent(self.user_agent.as_deref())),
            or_dash(self.tls.as_ref().map(|t| t.cipher.as_str())),
            or_dash(self.tls.as_ref().map(|t| t.protocol.as_str())),
            or_dash(self.target_group_arn.as_deref()),
            quoted(self.trace_id.as_deref()),
            quoted(self.tls.as_ref().and_then(|t| t.domain.as_deref())),
            quoted(self.tls.as_ref().map(|t| t.certificate_arn.as_str())),
            or_dash(self.matched_rule_priority),
            iso(self.request_creation_time),
            quoted(actions.as_deref()),
            quoted(self.redirect_url.as_deref()),
            quoted(None),
            quoted(target_list),
            quoted(status_list.as_deref()),
            quoted(None),
            quoted(None),
            self.conn_trace_id.clone(),
        ];
        fields.join(" ")
    }
}

/// A new connection id (`TID_` and 32 hex digits).
pub fn conn_trace_id() -> String {
    format!("TID_{}", uuid::Uuid::new_v4().simple())
}

#[cfg(test)]
mod tests {
    use super::*;

    const LB: &str =
        "arn:aws:elasticloadbalancing:us-east-2:123456789012:loadbalancer/app/my-loadbalancer/50dc6c495c0c9188";

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    fn forwarded() -> Entry {
        Entry {
            kind: "http",
            time: at("2018-07-02T22:23:00.186641Z"),
            load_balancer_arn: LB.into(),
            client: "192.168.131.39:2817".parse().unwrap(),
            target: Some("10.0.0.1:80".into()),
            request_processing: Some(0.0),
            target_processing: Some(0.001),
            response_processing: Some(0.0),
            elb_status: 200,
            target_status: Some(200),
            received_bytes: 34,
            sent_bytes: 366,
            method: "GET".into(),
            url: "http://www.example.com:80/".into(),
            version: "HTTP/1.1".into(),
            user_agent: Some("curl/7.46.0".into()),
            tls: None,
            target_group_arn: Some(
                "arn:aws:elasticloadbalancing:us-east-2:123456789012:targetgroup/my-targets/73e2d6bc24d8a067".into(),
            ),
            trace_id: Some("Root=1-58337262-36d228ad5d99923122bbe354".into()),
            matched_rule_priority: Some(0),
            request_creation_time: at("2018-07-02T22:22:48.364Z"),
            actions: vec!["forward"],
            redirect_url: None,
            conn_trace_id: "TID_dc57cebed65b444ebc8177bb698fe166".into(),
        }
    }

    #[test]
    fn a_forwarded_request_reads_as_aws_example() {
        assert_eq!(
            forwarded().line(),
            "http 2018-07-02T22:23:00.186641Z app/my-loadbalancer/50dc6c495c0c9188 \
             192.168.131.39:2817 10.0.0.1:80 0.000 0.001 0.000 200 200 34 366 \
             \"GET http://www.example.com:80/ HTTP/1.1\" \"curl/7.46.0\" - - \
             arn:aws:elasticloadbalancing:us-east-2:123456789012:targetgroup/my-targets/73e2d6bc24d8a067 \
             \"Root=1-58337262-36d228ad5d99923122bbe354\" \"-\" \"-\" 0 2018-07-02T22:22:48.364000Z \
             \"forward\" \"-\" \"-\" \"10.0.0.1:80\" \"200\" \"-\" \"-\" TID_dc57cebed65b444ebc8177bb698fe166"
        );
    }

    #[test]
    fn a_blocked_request_has_no_target_and_minus_one_times() {
        let e = Entry {
            kind: "https",
            target: None,
            request_processing: None,
            target_processing: None,
            response_processing: None,
            elb_status: 403,
            target_status: None,
            target_group_arn: None,
            matched_rule_priority: None,
            actions: vec!["waf"],
            tls: Some(TlsFacts {
                cipher: "ECDHE-RSA-AES128-GCM-SHA256".into(),
                protocol: "TLSv1.2".into(),
                domain: Some("www.example.com".into()),
                certificate_arn: "arn:aws:iam::123456789012:server-certificate/web".into(),
            }),
            ..forwarded()
        };
        let line = e.line();
        let fields: Vec<&str> = line.split(' ').collect();
        assert_eq!(fields[0], "https");
        assert_eq!(&fields[4..10], &["-", "-1", "-1", "-1", "403", "-"]);
        assert!(line.contains(" ECDHE-RSA-AES128-GCM-SHA256 TLSv1.2 - "));
        assert!(line.contains(
            "\"www.example.com\" \"arn:aws:iam::123456789012:server-certificate/web\" - "
        ));
        assert!(line.contains(" \"waf\" \"-\" \"-\" \"-\" \"-\" \"-\" \"-\" TID_"));
    }

    #[test]
    fn quotes_and_control_characters_are_escaped() {
        let e = Entry {
            user_agent: Some("a \"quoted\"\\agent\nx".into()),
            ..forwarded()
        };
        assert!(e.line().contains(r#""a \"quoted\"\\agent\x0ax""#));
        assert_eq!(e.line().lines().count(), 1);
        let long = "é".repeat(5000);
        let e = Entry {
            user_agent: Some(long),
            ..forwarded()
        };
        assert!(e.line().len() < 9000);
    }

    #[test]
    fn keys_follow_aws_layout() {
        let end = at("2014-02-15T23:40:00Z");
        assert_eq!(
            object_key("prefix", "123456789012", "us-east-2", LB, end, "172.160.1.192", "20sg8hgm"),
            "prefix/AWSLogs/123456789012/elasticloadbalancing/us-east-2/2014/02/15/\
             123456789012_elasticloadbalancing_us-east-2_app.my-loadbalancer.50dc6c495c0c9188_20140215T2340Z_172.160.1.192_20sg8hgm.log.gz"
        );
        assert!(object_key("", "1", "r", LB, end, "ip", "x").starts_with("AWSLogs/1/"));
    }

    #[test]
    fn older_regions_have_their_account() {
        assert_eq!(regional_account("us-east-1"), Some("127311923021"));
        assert_eq!(regional_account("eu-west-1"), Some("156460612806"));
        assert_eq!(regional_account("ap-southeast-4"), None);
        assert!(conn_trace_id().starts_with("TID_"));
        assert_eq!(conn_trace_id().len(), 36);
    }
}
