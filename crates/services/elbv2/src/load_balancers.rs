//! Load balancers: `CreateLoadBalancer`, `DescribeLoadBalancers`, `DeleteLoadBalancer`.
//! Rampart has no VPCs: `Subnets`, `SubnetMappings` and `SecurityGroups` are recorded as
//! given; the load balancer's listeners listen on the server's listener address.

use rampart_kit::{context::CallContext, db::Db, entity, input::opt_str};
use serde_json::{json, Value};

use crate::{
    error::{ElbError, ElbResult},
    model::{self, LoadBalancerDoc, Loaded, LISTENER, LOAD_BALANCER, RULE},
    tags,
};

fn strings(input: &Value, key: &str) -> Vec<String> {
    rampart_kit::input::str_list(input, key)
}

/// Checks a load balancer name as AWS does (32 characters, alphanumerics and hyphens, not
/// starting or ending with a hyphen, not starting with `internal-`).
fn check_name(name: &str) -> ElbResult<()> {
    let ok = !name.is_empty()
        && name.len() <= 32
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        && !name.starts_with('-')
        && !name.ends_with('-')
        && !name.starts_with("internal-");
    if ok {
        Ok(())
    } else {
        Err(ElbError::invalid(format!(
            "The load balancer name '{name}' is not valid"
        )))
    }
}

/// `CreateLoadBalancer` (type `application`).
pub async fn create(input: &Value, ctx: &CallContext, mut db: Db<'_>) -> ElbResult<Value> {
    let name = opt_str(input, "Name").unwrap_or_default();
    check_name(name)?;
    let kind = opt_str(input, "Type").unwrap_or("application");
    if kind != "application" {
        return Err(ElbError::invalid(format!(
            "Load balancer type '{kind}' is not supported by Rampart (application)"
        )));
    }
    let account = &ctx.principal.account_id;
    let key = model::name_key(&ctx.region, name);
    let new_tags = tags::parse(input.get("Tags"))?;
    if let Some(existing) =
        model::load::<LoadBalancerDoc>(&mut db, account, LOAD_BALANCER, &key).await?
    {
        // AWS answers a repeated create with identical settings with the existing one.
        if existing.doc.tags == new_tags || new_tags.is_empty() {
            return Ok(json!({ "LoadBalancers": [shown(&existing, &ctx.region)] }));
        }
        return Err(ElbError::DuplicateLoadBalancerName(
            "A load balancer with the same name exists".into(),
        ));
    }
    let mut subnets = strings(input, "Subnets");
    if let Some(maps) = input.get("SubnetMappings").and_then(Value::as_array) {
        subnets.extend(
            maps.iter()
                .filter_map(|m| opt_str(m, "SubnetId").map(str::to_string)),
        );
    }
    let doc = LoadBalancerDoc {
        name: name.to_string(),
        scheme: opt_str(input, "Scheme")
            .unwrap_or("internet-facing")
            .to_string(),
        ip_address_type: opt_str(input, "IpAddressType")
            .unwrap_or("ipv4")
            .to_string(),
        // Rampart has no VPCs: one stand-in id, the same for every load balancer.
        vpc_id: Some("vpc-00000000".into()),
        subnets,
        security_groups: strings(input, "SecurityGroups"),
        attributes: Default::default(),
        tags: new_tags,
    };
    let arn = format!(
        "{}:loadbalancer/app/{name}/{}",
        model::arn_prefix(&ctx.region, account),
        model::new_id()
    );
    let mut e = model::new_entity(
        account,
        LOAD_BALANCER,
        name,
        key,
        format!("/{}/", ctx.region),
        arn,
        ctx.now,
    );
    entity::write_doc(&mut e, &doc, ctx.now)?;
    db.entities().create(&e).await?;
    model::note_account(&mut db, account).await?;
    model::bump_generation(&mut db).await?;
    let lb = Loaded { entity: e, doc };
    Ok(json!({ "LoadBalancers": [shown(&lb, &ctx.region)] }))
}

/// A load balancer as `DescribeLoadBalancers` shows it.
pub fn shown(lb: &Loaded<LoadBalancerDoc>, region: &str) -> Value {
    let d = &lb.doc;
    let zones: Vec<Value> = d
        .subnets
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let zone = char::from(b'a' + u8::try_from(i % 6).unwrap_or(0));
            json!({"ZoneName": format!("{region}{zone}"), "SubnetId": s})
        })
        .collect();
    json!({
        "LoadBalancerArn": lb.arn(),
        "DNSName": dns_name(lb, region),
        "CanonicalHostedZoneId": "Z35SXDOTRQ7X7K",
        "CreatedTime": model::epoch(lb.entity.created_at),
        "LoadBalancerName": d.name,
        "Scheme": d.scheme,
        "VpcId": d.vpc_id,
        "State": {"Code": "active"},
        "Type": "application",
        "AvailabilityZones": zones,
        "SecurityGroups": d.security_groups,
        "IpAddressType": d.ip_address_type,
    })
}

/// The load balancer's DNS name: under `.localhost`, which resolves to the loopback address
/// where the listeners listen by default.
pub fn dns_name(lb: &Loaded<LoadBalancerDoc>, region: &str) -> String {
    format!(
        "{}-{}.{region}.elb.localhost",
        lb.doc.name,
        model::last_segment(lb.arn())
    )
}

/// `DescribeLoadBalancers`: by ARN, by name, or all of the account's in the region.
pub async fn describe(input: &Value, ctx: &CallContext, mut db: Db<'_>) -> ElbResult<Value> {
    let account = &ctx.principal.account_id;
    let arns = strings(input, "LoadBalancerArns");
    let names = strings(input, "Names");
    let mut out = Vec::new();
    if !arns.is_empty() {
        for arn in &arns {
            let lb = model::load_balancer(&mut db, account, &ctx.region, arn).await?;
            out.push(shown(&lb, &ctx.region));
        }
    } else if !names.is_empty() {
        for name in &names {
            let key = model::name_key(&ctx.region, name);
            let lb = model::load::<LoadBalancerDoc>(&mut db, account, LOAD_BALANCER, &key)
                .await?
                .ok_or_else(|| {
                    ElbError::LoadBalancerNotFound(format!("Load balancers '[{name}]' not found"))
                })?;
            out.push(shown(&lb, &ctx.region));
        }
    } else {
        let path = format!("/{}/", ctx.region);
        for lb in model::list_all::<LoadBalancerDoc>(&mut db, account, LOAD_BALANCER, &path).await?
        {
            out.push(shown(&lb, &ctx.region));
        }
    }
    Ok(json!({ "LoadBalancers": out }))
}

/// `DeleteLoadBalancer`: the load balancer, its listeners and their rules (a load balancer
/// that does not exist is not an error, as in AWS).
pub async fn delete(input: &Value, ctx: &CallContext, mut db: Db<'_>) -> ElbResult<Value> {
    let account = &ctx.principal.account_id;
    let arn = opt_str(input, "LoadBalancerArn").unwrap_or_default();
    let lb = match model::load_balancer(&mut db, account, &ctx.region, arn).await {
        Ok(lb) => lb,
        Err(ElbError::LoadBalancerNotFound(_)) => return Ok(json!({})),
        Err(e) => return Err(e),
    };
    let listeners = model::list_all::<model::ListenerDoc>(
        &mut db,
        account,
        LISTENER,
        &model::listener_path(&ctx.region, lb.arn()),
    )
    .await?;
    for l in listeners {
        let rules = model::list_all::<model::RuleDoc>(
            &mut db,
            account,
            RULE,
            &model::rule_path(&ctx.region, l.arn()),
        )
        .await?;
        for r in rules {
            db.entities()
                .delete(account, RULE, &r.entity.name_key)
                .await?;
        }
        db.entities()
            .delete(account, LISTENER, &l.entity.name_key)
            .await?;
    }
    db.entities()
        .delete(account, LOAD_BALANCER, &lb.entity.name_key)
        .await?;
    model::bump_generation(&mut db).await?;
    Ok(json!({}))
}
