//! A proxied request as a WAF log record, when its web ACL has a logging configuration whose
//! filter keeps it: built in AWS WAF's log format (`engine::logging`) and left in this node's
//! log buffer for the delivery job (`jobs::waf_logs`).

use std::net::SocketAddr;

use hyper::http::request::Parts;
use rampart_services::wafv2::engine::{
    self,
    logging::{self, Seen},
    Decision, WebAcl,
};

use super::{PortConfig, Shared};

/// The load balancer as AWS WAF's logs name it (`httpSourceId`): `ACCOUNT-app/NAME/ID`.
fn source_id(cfg: &PortConfig) -> String {
    let arn = &cfg.listener.load_balancer_arn;
    let tail = arn.split_once(":loadbalancer/").map_or("", |(_, t)| t);
    format!("{}-{tail}", cfg.listener.account)
}

/// Logs the request (as the web ACL saw it) when logging is on and the filter keeps it.
pub fn take(
    acl: &WebAcl,
    decision: &Decision,
    request: &engine::fields::Request,
    parts: &Parts,
    peer: SocketAddr,
    (cfg, shared): (&PortConfig, &Shared),
    request_id: &str,
) {
    let Some(config) = &acl.logging else {
        return;
    };
    let action = logging::action_name(&decision.action);
    if !config.keeps(action, !decision.counted.is_empty(), &decision.labels) {
        return;
    }
    let country = engine::geo::installed()
        .and_then(|g| g.locate(peer.ip()))
        .map(|(c, _)| c);
    let http_version = format!("{:?}", parts.version);
    let source = source_id(cfg);
    let seen = Seen {
        at_ms: shared.now_millis(),
        client_ip: peer.ip().to_string(),
        country,
        http_version: &http_version,
        request_id,
        source_id: &source,
    };
    let record = logging::record(acl, config, request, decision, &seen);
    shared.waf_logs.push(
        &(acl.arn.clone(), config.bucket.clone()),
        seen.at_ms / 1000,
        record.to_string(),
    );
}
