//! A proxied request as a WAF sample (`GetSampledRequests`), taken when the deciding rule
//! (or the web ACL, for its default action) has `SampledRequestsEnabled`.

use std::net::SocketAddr;

use hyper::http::request::Parts;
use rampart_services::wafv2::engine::{
    self,
    samples::{Sample, Samples},
    Decision, WebAcl,
};

use super::Shared;

/// Records the request (as the web ACL saw it, with its HTTP version from `parts`) under
/// its metric when sampling is on for the decision.
pub fn take(
    acl: &WebAcl,
    decision: &Decision,
    request: &engine::fields::Request,
    parts: &Parts,
    peer: SocketAddr,
    shared: &Shared,
) {
    let Some(metric) = Samples::metric_for(acl, decision) else {
        return;
    };
    let (action, inserted, response_code) = match &decision.action {
        engine::Action::Block(r) => ("BLOCK", Vec::new(), Some(r.status)),
        engine::Action::Allow(headers) => ("ALLOW", headers.clone(), None),
        engine::Action::Count => ("COUNT", Vec::new(), None),
        engine::Action::Captcha(_) => ("CAPTCHA", Vec::new(), Some(405)),
        engine::Action::Challenge(_) => ("CHALLENGE", Vec::new(), Some(202)),
    };
    let country = engine::geo::installed()
        .and_then(|g| g.locate(peer.ip()))
        .map(|(c, _)| c);
    let sample = Sample {
        at: shared.now_secs(),
        client_ip: peer.ip().to_string(),
        country,
        uri: request.uri_path.clone(),
        method: request.method.clone(),
        http_version: format!("{:?}", parts.version),
        headers: request.headers.clone(),
        action: action.to_string(),
        group_rule: decision.group_rule.clone(),
        inserted,
        response_code,
        labels: decision.labels.clone(),
    };
    shared.samples.record(&acl.arn, metric, sample);
}
