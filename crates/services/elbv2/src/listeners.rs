//! Listeners: `CreateListener`, `DescribeListeners`, `ModifyListener`, `DeleteListener`.
//! HTTP and HTTPS listeners; each is served by the server's listener runtime on the listener
//! address at its port (HTTPS with its certificates and security policy, [`certificates`]).

use rampart_kit::{
    context::CallContext,
    db::Db,
    entity,
    input::{opt_int, opt_str, str_list},
};
use serde_json::{json, Value};

use crate::{
    actions::{parse_actions, Action},
    certificates,
    error::{ElbError, ElbResult},
    model::{self, ListenerDoc, Loaded, RuleDoc, LISTENER, RULE},
    tags,
};

/// Checks a list of actions and that the target groups they forward to exist.
pub async fn checked_actions(
    db: &mut Db<'_>,
    ctx: &CallContext,
    actions: &[Value],
) -> ElbResult<()> {
    if let Action::Forward(groups) = parse_actions(actions)? {
        for (tg, _) in groups {
            model::target_group(db, &ctx.principal.account_id, &ctx.region, &tg).await?;
        }
    }
    Ok(())
}

fn protocol_of(input: &Value) -> ElbResult<Option<String>> {
    match opt_str(input, "Protocol") {
        None => Ok(None),
        Some(p @ ("HTTP" | "HTTPS")) => Ok(Some(p.into())),
        Some(p) => Err(ElbError::UnsupportedProtocol(format!(
            "Protocol '{p}' is not supported by Rampart's listeners (HTTP, HTTPS)"
        ))),
    }
}

fn port_of(input: &Value) -> ElbResult<Option<u16>> {
    match opt_int(input, "Port") {
        None => Ok(None),
        Some(p) => u16::try_from(p)
            .ok()
            .filter(|p| *p > 0)
            .map(Some)
            .ok_or_else(|| ElbError::invalid(format!("Port '{p}' is not valid"))),
    }
}

fn actions_of(input: &Value, key: &str) -> Vec<Value> {
    input
        .get(key)
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default()
}

async fn port_taken(
    db: &mut Db<'_>,
    ctx: &CallContext,
    lb_arn: &str,
    port: u16,
    except: Option<&str>,
) -> ElbResult<bool> {
    let path = model::listener_path(&ctx.region, lb_arn);
    let all =
        model::list_all::<ListenerDoc>(db, &ctx.principal.account_id, LISTENER, &path).await?;
    Ok(all
        .iter()
        .any(|l| l.doc.port == port && Some(l.arn()) != except))
}

/// `CreateListener`.
pub async fn create(input: &Value, ctx: &CallContext, mut db: Db<'_>) -> ElbResult<Value> {
    let account = &ctx.principal.account_id;
    let lb_arn = opt_str(input, "LoadBalancerArn").unwrap_or_default();
    let lb = model::load_balancer(&mut db, account, &ctx.region, lb_arn).await?;
    let protocol = protocol_of(input)?.unwrap_or_else(|| "HTTP".into());
    let port = port_of(input)?.unwrap_or(80);
    let actions = actions_of(input, "DefaultActions");
    checked_actions(&mut db, ctx, &actions).await?;
    if port_taken(&mut db, ctx, lb.arn(), port, None).await? {
        return Err(ElbError::DuplicateListener(
            "A listener already exists on this port for this load balancer".into(),
        ));
    }
    let mut doc = ListenerDoc {
        load_balancer_arn: lb.arn().to_string(),
        port,
        protocol,
        default_actions: actions,
        tags: tags::parse(input.get("Tags"))?,
        ..ListenerDoc::default()
    };
    certificates::settle(&mut db, ctx, input, &mut doc).await?;
    let tail = model::arn_tail(lb.arn(), "loadbalancer").unwrap_or_default();
    let arn = format!(
        "{}:listener/{tail}/{}",
        model::arn_prefix(&ctx.region, account),
        model::new_id()
    );
    let mut e = model::new_entity(
        account,
        LISTENER,
        &arn,
        arn.clone(),
        model::listener_path(&ctx.region, lb.arn()),
        arn.clone(),
        ctx.now,
    );
    entity::write_doc(&mut e, &doc, ctx.now)?;
    db.entities().create(&e).await?;
    model::bump_generation(&mut db).await?;
    Ok(json!({ "Listeners": [shown(&Loaded { entity: e, doc })] }))
}

/// A listener as `DescribeListeners` shows it.
pub fn shown(l: &Loaded<ListenerDoc>) -> Value {
    let mut out = json!({
        "ListenerArn": l.arn(),
        "LoadBalancerArn": l.doc.load_balancer_arn,
        "Port": l.doc.port,
        "Protocol": l.doc.protocol,
        "DefaultActions": l.doc.default_actions,
    });
    if let Some(certs) = certificates::shown_default(&l.doc) {
        model::put(&mut out, "Certificates", certs);
    }
    if let Some(policy) = &l.doc.ssl_policy {
        model::put(&mut out, "SslPolicy", policy.as_str());
    }
    out
}

/// `DescribeListeners`: a load balancer's, or by ARN.
pub async fn describe(input: &Value, ctx: &CallContext, mut db: Db<'_>) -> ElbResult<Value> {
    let account = &ctx.principal.account_id;
    let arns = str_list(input, "ListenerArns");
    let mut out = Vec::new();
    if !arns.is_empty() {
        for arn in &arns {
            out.push(shown(&model::listener(&mut db, account, arn).await?));
        }
    } else {
        let lb_arn = opt_str(input, "LoadBalancerArn").ok_or_else(|| {
            ElbError::invalid("You must specify either listener ARNs or a load balancer ARN")
        })?;
        let lb = model::load_balancer(&mut db, account, &ctx.region, lb_arn).await?;
        let path = model::listener_path(&ctx.region, lb.arn());
        for l in model::list_all::<ListenerDoc>(&mut db, account, LISTENER, &path).await? {
            out.push(shown(&l));
        }
    }
    Ok(json!({ "Listeners": out }))
}

/// `ModifyListener`: port, protocol, default certificate, security policy and default
/// actions.
pub async fn modify(input: &Value, ctx: &CallContext, mut db: Db<'_>) -> ElbResult<Value> {
    let account = &ctx.principal.account_id;
    let arn = opt_str(input, "ListenerArn").unwrap_or_default();
    let mut l = model::listener(&mut db, account, arn).await?;
    if let Some(p) = protocol_of(input)? {
        l.doc.protocol = p;
    }
    if let Some(port) = port_of(input)? {
        let lb = l.doc.load_balancer_arn.clone();
        if port_taken(&mut db, ctx, &lb, port, Some(arn)).await? {
            return Err(ElbError::DuplicateListener(
                "A listener already exists on this port for this load balancer".into(),
            ));
        }
        l.doc.port = port;
    }
    let actions = actions_of(input, "DefaultActions");
    if !actions.is_empty() {
        checked_actions(&mut db, ctx, &actions).await?;
        l.doc.default_actions = actions;
    }
    certificates::settle(&mut db, ctx, input, &mut l.doc).await?;
    entity::save_doc(&mut db, l.entity.clone(), &l.doc, ctx.now).await?;
    model::bump_generation(&mut db).await?;
    Ok(json!({ "Listeners": [shown(&l)] }))
}

/// `DeleteListener`: the listener and its rules.
pub async fn delete(input: &Value, ctx: &CallContext, mut db: Db<'_>) -> ElbResult<Value> {
    let account = &ctx.principal.account_id;
    let arn = opt_str(input, "ListenerArn").unwrap_or_default();
    let l = model::listener(&mut db, account, arn).await?;
    let path = model::rule_path(&ctx.region, l.arn());
    for r in model::list_all::<RuleDoc>(&mut db, account, RULE, &path).await? {
        db.entities()
            .delete(account, RULE, &r.entity.name_key)
            .await?;
    }
    db.entities()
        .delete(account, LISTENER, &l.entity.name_key)
        .await?;
    model::bump_generation(&mut db).await?;
    Ok(json!({}))
}
