//! The certificates of HTTPS listeners: the default certificate given with `CreateListener`
//! or `ModifyListener`, and the further ones chosen by SNI (`AddListenerCertificates`,
//! `RemoveListenerCertificates`, `DescribeListenerCertificates`).
//!
//! Rampart has no ACM yet, so a certificate is an IAM server certificate of the listener's
//! account (`arn:aws:iam::ACCOUNT:server-certificate/NAME`), as AWS also accepts; its private
//! key stays sealed in IAM's store and is opened only by the listener runtime.

use rampart_kit::{context::CallContext, db::Db, entity, input::opt_str};
use serde_json::{json, Value};

use crate::{
    error::{ElbError, ElbResult},
    model::{self, ListenerDoc, Loaded},
};

/// Certificates per listener besides the default one (AWS's default quota for an
/// Application Load Balancer).
pub const MAX_EXTRA: usize = 25;

/// The `CertificateArn`s of a `Certificates` member, in order.
pub fn arns_in(input: &Value) -> Vec<String> {
    input
        .get("Certificates")
        .and_then(Value::as_array)
        .map(|list| {
            list.iter()
                .filter_map(|c| c.get("CertificateArn").and_then(Value::as_str))
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default()
}

/// Checks that each certificate exists in the caller's account.
pub async fn check_exist(db: &mut Db<'_>, ctx: &CallContext, arns: &[String]) -> ElbResult<()> {
    for arn in arns {
        let found = rampart_iam::server_certs::by_arn(db, &ctx.principal.account_id, arn).await?;
        if found.is_none() {
            return Err(ElbError::CertificateNotFound(format!(
                "Certificate '{arn}' not found"
            )));
        }
    }
    Ok(())
}

/// The protocol, policy and default certificate of a listener being created or modified,
/// checked together as AWS does: an HTTPS listener has exactly one default certificate and a
/// policy (AWS's API default when none is given); an HTTP listener has neither.
pub async fn settle(
    db: &mut Db<'_>,
    ctx: &CallContext,
    input: &Value,
    doc: &mut ListenerDoc,
) -> ElbResult<()> {
    let given = arns_in(input);
    let policy = crate::ssl_policies::requested(input)?;
    if doc.protocol == "HTTP" {
        if !given.is_empty() {
            return Err(ElbError::invalid(
                "A certificate cannot be specified for HTTP listeners",
            ));
        }
        if policy.is_some() {
            return Err(ElbError::invalid(
                "A security policy cannot be specified for HTTP listeners",
            ));
        }
        doc.certificate = None;
        doc.ssl_policy = None;
        doc.extra_certificates.clear();
        return Ok(());
    }
    if given.len() > 1 {
        return Err(ElbError::TooManyCertificates(
            "A listener can have only one default certificate".into(),
        ));
    }
    check_exist(db, ctx, &given).await?;
    if let Some(arn) = given.into_iter().next() {
        doc.certificate = Some(arn);
    }
    if doc.certificate.is_none() {
        return Err(ElbError::invalid(
            "A certificate must be specified for HTTPS listeners",
        ));
    }
    if let Some(p) = policy {
        doc.ssl_policy = Some(p.name.to_string());
    }
    if doc.ssl_policy.is_none() {
        doc.ssl_policy = Some(crate::ssl_policies::DEFAULT.to_string());
    }
    Ok(())
}

/// A listener's certificates as the listener operations show them (the default one).
pub fn shown_default(doc: &ListenerDoc) -> Option<Value> {
    doc.certificate
        .as_ref()
        .map(|arn| json!([{ "CertificateArn": arn }]))
}

async fn https_listener(
    db: &mut Db<'_>,
    ctx: &CallContext,
    input: &Value,
) -> ElbResult<Loaded<ListenerDoc>> {
    let arn = opt_str(input, "ListenerArn").unwrap_or_default();
    let l = model::listener(db, &ctx.principal.account_id, arn).await?;
    if l.doc.protocol != "HTTPS" {
        return Err(ElbError::InvalidConfigurationRequest(
            "Certificates can only be added to HTTPS listeners".into(),
        ));
    }
    Ok(l)
}

fn listed(arns: &[String]) -> Value {
    Value::Array(
        arns.iter()
            .map(|a| json!({ "CertificateArn": a, "IsDefault": false }))
            .collect(),
    )
}

/// `AddListenerCertificates`: certificates chosen by SNI, besides the default one.
pub async fn add(input: &Value, ctx: &CallContext, mut db: Db<'_>) -> ElbResult<Value> {
    let mut l = https_listener(&mut db, ctx, input).await?;
    let arns = arns_in(input);
    if arns.is_empty() {
        return Err(ElbError::invalid(
            "At least one certificate must be specified",
        ));
    }
    check_exist(&mut db, ctx, &arns).await?;
    for arn in &arns {
        if !l.doc.extra_certificates.contains(arn) {
            l.doc.extra_certificates.push(arn.clone());
        }
    }
    if l.doc.extra_certificates.len() > MAX_EXTRA {
        return Err(ElbError::TooManyCertificates(format!(
            "A listener can have at most {MAX_EXTRA} certificates besides its default certificate"
        )));
    }
    entity::save_doc(&mut db, l.entity.clone(), &l.doc, ctx.now).await?;
    model::bump_generation(&mut db).await?;
    Ok(json!({ "Certificates": listed(&arns) }))
}

/// `RemoveListenerCertificates`: the default certificate cannot be removed.
pub async fn remove(input: &Value, ctx: &CallContext, mut db: Db<'_>) -> ElbResult<Value> {
    let arn = opt_str(input, "ListenerArn").unwrap_or_default();
    let mut l = model::listener(&mut db, &ctx.principal.account_id, arn).await?;
    let arns = arns_in(input);
    if arns.iter().any(|a| l.doc.certificate.as_ref() == Some(a)) {
        return Err(ElbError::OperationNotPermitted(
            "The default certificate of a listener cannot be removed".into(),
        ));
    }
    l.doc.extra_certificates.retain(|c| !arns.contains(c));
    entity::save_doc(&mut db, l.entity.clone(), &l.doc, ctx.now).await?;
    model::bump_generation(&mut db).await?;
    Ok(json!({}))
}

/// `DescribeListenerCertificates`: the default certificate (`IsDefault`) and the others.
pub async fn describe(input: &Value, ctx: &CallContext, mut db: Db<'_>) -> ElbResult<Value> {
    let arn = opt_str(input, "ListenerArn").unwrap_or_default();
    let l = model::listener(&mut db, &ctx.principal.account_id, arn).await?;
    let mut out: Vec<Value> = l
        .doc
        .certificate
        .iter()
        .map(|a| json!({ "CertificateArn": a, "IsDefault": true }))
        .collect();
    if let Value::Array(more) = listed(&l.doc.extra_certificates) {
        out.extend(more);
    }
    Ok(json!({ "Certificates": out }))
}
