//! Security policies of HTTPS listeners (`SslPolicy`) and `DescribeSSLPolicies`: AWS's
//! predefined policies, each a set of protocols and ciphers in OpenSSL's names. A listener
//! serves the part of its policy that Rampart's TLS stack (rustls) offers: TLS 1.2 and 1.3
//! with AEAD ciphers and ephemeral key exchange (see docs/WAF.md, "HTTPS listeners").

use rampart_kit::{
    context::CallContext,
    db::Db,
    input::{opt_int, opt_str, str_list},
};
use serde_json::{json, Value};

use crate::error::{ElbError, ElbResult};

/// A predefined security policy.
#[derive(Debug)]
pub struct SslPolicy {
    /// Its name.
    pub name: &'static str,
    /// `SslProtocols` (`TLSv1` ... `TLSv1.3`).
    pub protocols: &'static [&'static str],
    /// Its TLS 1.3 ciphers, by priority (before the others).
    pub tls13_ciphers: &'static [&'static str],
    /// Its ciphers for TLS 1.2 and earlier, by priority.
    pub legacy_ciphers: &'static [&'static str],
}

impl SslPolicy {
    /// `Ciphers`, by priority.
    pub fn ciphers(&self) -> impl Iterator<Item = &'static str> {
        self.tls13_ciphers
            .iter()
            .chain(self.legacy_ciphers.iter())
            .copied()
    }
}

/// The policy of an HTTPS listener created without one through the API (AWS's default for
/// every method but the console).
pub const DEFAULT: &str = "ELBSecurityPolicy-2016-08";

const TLS13: [&str; 3] = [
    "TLS_AES_128_GCM_SHA256",
    "TLS_AES_256_GCM_SHA384",
    "TLS_CHACHA20_POLY1305_SHA256",
];

const ECDHE_GCM: [&str; 4] = [
    "ECDHE-ECDSA-AES128-GCM-SHA256",
    "ECDHE-RSA-AES128-GCM-SHA256",
    "ECDHE-ECDSA-AES256-GCM-SHA384",
    "ECDHE-RSA-AES256-GCM-SHA384",
];

/// The TLS 1.2 ciphers of `ELBSecurityPolicy-TLS-1-2-2017-01` (and of the TLS 1.3 policy that
/// keeps them).
const TLS12: [&str; 12] = [
    "ECDHE-ECDSA-AES128-GCM-SHA256",
    "ECDHE-RSA-AES128-GCM-SHA256",
    "ECDHE-ECDSA-AES128-SHA256",
    "ECDHE-RSA-AES128-SHA256",
    "ECDHE-ECDSA-AES256-GCM-SHA384",
    "ECDHE-RSA-AES256-GCM-SHA384",
    "ECDHE-ECDSA-AES256-SHA384",
    "ECDHE-RSA-AES256-SHA384",
    "AES128-GCM-SHA256",
    "AES128-SHA256",
    "AES256-GCM-SHA384",
    "AES256-SHA256",
];

/// AWS's policies that Rampart offers, newest first.
pub static POLICIES: &[SslPolicy] = &[
    SslPolicy {
        name: "ELBSecurityPolicy-TLS13-1-2-Res-PQ-2025-09",
        protocols: &["TLSv1.2", "TLSv1.3"],
        tls13_ciphers: &TLS13,
        legacy_ciphers: &ECDHE_GCM,
    },
    SslPolicy {
        name: "ELBSecurityPolicy-TLS13-1-3-2021-06",
        protocols: &["TLSv1.3"],
        tls13_ciphers: &TLS13,
        legacy_ciphers: &[],
    },
    SslPolicy {
        name: "ELBSecurityPolicy-TLS13-1-2-Res-2021-06",
        protocols: &["TLSv1.2", "TLSv1.3"],
        tls13_ciphers: &TLS13,
        legacy_ciphers: &ECDHE_GCM,
    },
    SslPolicy {
        name: "ELBSecurityPolicy-TLS13-1-2-2021-06",
        protocols: &["TLSv1.2", "TLSv1.3"],
        tls13_ciphers: &TLS13,
        legacy_ciphers: &TLS12,
    },
    SslPolicy {
        name: "ELBSecurityPolicy-FS-1-2-Res-2020-10",
        protocols: &["TLSv1.2"],
        tls13_ciphers: &[],
        legacy_ciphers: &ECDHE_GCM,
    },
    SslPolicy {
        name: "ELBSecurityPolicy-TLS-1-2-2017-01",
        protocols: &["TLSv1.2"],
        tls13_ciphers: &[],
        legacy_ciphers: &TLS12,
    },
    SslPolicy {
        name: DEFAULT,
        protocols: &["TLSv1", "TLSv1.1", "TLSv1.2"],
        tls13_ciphers: &[],
        legacy_ciphers: &[
            "ECDHE-ECDSA-AES128-GCM-SHA256",
            "ECDHE-RSA-AES128-GCM-SHA256",
            "ECDHE-ECDSA-AES128-SHA256",
            "ECDHE-RSA-AES128-SHA256",
            "ECDHE-ECDSA-AES128-SHA",
            "ECDHE-RSA-AES128-SHA",
            "ECDHE-ECDSA-AES256-GCM-SHA384",
            "ECDHE-RSA-AES256-GCM-SHA384",
            "ECDHE-ECDSA-AES256-SHA384",
            "ECDHE-RSA-AES256-SHA384",
            "ECDHE-RSA-AES256-SHA",
            "ECDHE-ECDSA-AES256-SHA",
            "AES128-GCM-SHA256",
            "AES128-SHA256",
            "AES128-SHA",
            "AES256-GCM-SHA384",
            "AES256-SHA256",
            "AES256-SHA",
        ],
    },
];

/// The policy named `name`.
pub fn find(name: &str) -> Option<&'static SslPolicy> {
    POLICIES.iter().find(|p| p.name == name)
}

/// The policy named in `input`'s `SslPolicy`, checked; `None` when absent.
pub fn requested(input: &Value) -> ElbResult<Option<&'static SslPolicy>> {
    match opt_str(input, "SslPolicy") {
        None => Ok(None),
        Some(name) => find(name)
            .map(Some)
            .ok_or_else(|| ElbError::SSLPolicyNotFound(format!("SSL policy '{name}' not found"))),
    }
}

fn shown(p: &SslPolicy) -> Value {
    let ciphers: Vec<Value> = p
        .ciphers()
        .zip(1..)
        .map(|(name, priority)| json!({ "Name": name, "Priority": priority }))
        .collect();
    json!({
        "Name": p.name,
        "SslProtocols": p.protocols,
        "Ciphers": ciphers,
        "SupportedLoadBalancerTypes": ["application", "network"],
    })
}

/// `DescribeSSLPolicies`: every policy, or those named (each must exist), optionally for one
/// load balancer type; paged by `Marker` (an index) and `PageSize` (1-400).
pub async fn describe(input: &Value, _ctx: &CallContext, _db: Db<'_>) -> ElbResult<Value> {
    let names = str_list(input, "Names");
    let mut chosen: Vec<&SslPolicy> = Vec::new();
    if names.is_empty() {
        chosen.extend(POLICIES.iter());
    } else {
        for name in &names {
            chosen.push(find(name).ok_or_else(|| {
                ElbError::SSLPolicyNotFound(format!("One or more SSL policies not found: {name}"))
            })?);
        }
    }
    if let Some(t) = opt_str(input, "LoadBalancerType") {
        if !matches!(t, "application" | "network" | "gateway") {
            return Err(ElbError::invalid(format!(
                "Load balancer type '{t}' is not valid"
            )));
        }
        if t == "gateway" {
            chosen.clear();
        }
    }
    let size = match opt_int(input, "PageSize") {
        None => 400,
        Some(n) if (1..=400).contains(&n) => usize::try_from(n).unwrap_or(400),
        Some(n) => {
            return Err(ElbError::invalid(format!(
                "Page size '{n}' must be between 1 and 400"
            )))
        }
    };
    let start = match opt_str(input, "Marker") {
        None => 0,
        Some(m) => m
            .parse::<usize>()
            .ok()
            .filter(|i| *i <= chosen.len())
            .ok_or_else(|| ElbError::invalid("The marker is not valid"))?,
    };
    let page: Vec<Value> = chosen
        .iter()
        .skip(start)
        .take(size)
        .map(|p| shown(p))
        .collect();
    let mut out = json!({ "SslPolicies": page });
    if start + size < chosen.len() {
        crate::model::put(&mut out, "NextMarker", (start + size).to_string());
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_policy_name_is_unique_and_the_default_exists() {
        let mut names: Vec<&str> = POLICIES.iter().map(|p| p.name).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), POLICIES.len());
        assert!(find(DEFAULT).is_some());
        assert!(find("ELBSecurityPolicy-Nope").is_none());
    }

    #[test]
    fn every_policy_offers_some_protocol_rustls_serves() {
        for p in POLICIES {
            assert!(
                p.protocols
                    .iter()
                    .any(|v| *v == "TLSv1.2" || *v == "TLSv1.3"),
                "{}",
                p.name
            );
        }
    }
}
