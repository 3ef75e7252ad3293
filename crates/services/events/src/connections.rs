//! Connections: how an API destination authenticates (`API_KEY`, `BASIC`,
//! `OAUTH_CLIENT_CREDENTIALS`). `CreateConnection`, `DescribeConnection`, `ListConnections`,
//! `UpdateConnection`, `DeleteConnection`, `DeauthorizeConnection`.
//!
//! The authorization parameters, secrets included (password, API key value, client secret,
//! invocation parameters marked `IsValueSecret`), are sealed at rest with the store's master
//! key, bound to the connection's ARN; the document keeps only a copy with the secrets taken
//! out, which is what `DescribeConnection` shows. The sealed parameters are opened when a
//! delivery is made ([`open`]).

use base64::Engine;
use chrono::{DateTime, Utc};
use rampart_kit::{context::CallContext, db::Db, entity, input::opt_str, page};
use rampart_store::{Entity, MasterKey};
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

use crate::{
    error::{EventsError, EventsResult},
    model::{self, CONNECTION, DESTINATION},
    rules::limit_of,
};

/// Members that hold secrets.
const SECRET_MEMBERS: [&str; 3] = ["Password", "ApiKeyValue", "ClientSecret"];

/// A connection.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ConnectionDoc {
    /// The name.
    pub name: String,
    /// `Description`.
    #[serde(default)]
    pub description: Option<String>,
    /// `AuthorizationType`.
    pub auth_type: String,
    /// `ConnectionState`.
    pub state: String,
    /// `AuthParameters` and `InvocationHttpParameters` without their secrets.
    #[serde(default)]
    pub public: Value,
    /// The same with their secrets, sealed (base64).
    pub sealed: String,
    /// When it was last authorized.
    #[serde(default)]
    pub authorized_at: Option<DateTime<Utc>>,
}

/// A connection's ARN.
fn arn_of(region: &str, account: &str, name: &str) -> String {
    format!(
        "arn:{partition}:events:{region}:{account}:connection/{name}/{}",
        uuid::Uuid::new_v4(),
        partition = rampart_kit::Partition::of_region(region)
    )
}

fn key_of(region: &str, name: &str) -> String {
    format!("{region}/{name}")
}

fn not_found(name: &str) -> EventsError {
    EventsError::ResourceNotFoundException(format!(
        "Failed to describe the connection(s). Connection '{name}' does not exist."
    ))
}

/// The connection `name` in the caller's account and region.
async fn load(
    db: &mut Db<'_>,
    ctx: &CallContext,
    name: &str,
) -> EventsResult<(Entity, ConnectionDoc)> {
    let key = key_of(&ctx.region, name);
    entity::load_doc(db, &ctx.principal.account_id, CONNECTION, &key)
        .await?
        .ok_or_else(|| not_found(name))
}

/// The parameters of a call (`AuthParameters`, `InvocationHttpParameters`) as one object.
fn params_of(input: &Value) -> Value {
    let mut out = Map::new();
    for k in ["AuthParameters", "InvocationHttpParameters"] {
        if let Some(v) = input.get(k) {
            out.insert(k.to_string(), v.clone());
        }
    }
    Value::Object(out)
}

/// The parameters without their secrets.
fn redacted(v: &Value) -> Value {
    match v {
        Value::Object(o) => {
            let secret_value = o.get("IsValueSecret").and_then(Value::as_bool) == Some(true);
            Value::Object(
                o.iter()
                    .filter(|(k, _)| !SECRET_MEMBERS.contains(&k.as_str()))
                    .filter(|(k, _)| !(secret_value && k.as_str() == "Value"))
                    .map(|(k, v)| (k.clone(), redacted(v)))
                    .collect(),
            )
        }
        Value::Array(items) => Value::Array(items.iter().map(redacted).collect()),
        other => other.clone(),
    }
}

/// `new` laid over `old`, object member by member (lists replace).
fn merged(old: &Value, new: &Value) -> Value {
    match (old, new) {
        (Value::Object(a), Value::Object(b)) => {
            let mut out = a.clone();
            for (k, v) in b {
                let m = match a.get(k) {
                    Some(prev) => merged(prev, v),
                    None => v.clone(),
                };
                out.insert(k.clone(), m);
            }
            Value::Object(out)
        }
        (_, n) => n.clone(),
    }
}

/// Checks that the parameters carry what the authorization type needs.
fn check(auth_type: &str, params: &Value) -> EventsResult<()> {
    let auth = params.get("AuthParameters");
    let member = |path: &[&str]| {
        let mut at = auth;
        for p in path {
            at = at.and_then(|v| v.get(*p));
        }
        at.and_then(Value::as_str).is_some()
    };
    let (needed, ok) = match auth_type {
        "API_KEY" => (
            "ApiKeyAuthParameters",
            member(&["ApiKeyAuthParameters", "ApiKeyName"])
                && member(&["ApiKeyAuthParameters", "ApiKeyValue"]),
        ),
        "BASIC" => (
            "BasicAuthParameters",
            member(&["BasicAuthParameters", "Username"])
                && member(&["BasicAuthParameters", "Password"]),
        ),
        "OAUTH_CLIENT_CREDENTIALS" => (
            "OAuthParameters",
            member(&["OAuthParameters", "ClientParameters", "ClientID"])
                && member(&["OAuthParameters", "ClientParameters", "ClientSecret"])
                && member(&["OAuthParameters", "AuthorizationEndpoint"])
                && member(&["OAuthParameters", "HttpMethod"]),
        ),
        other => {
            return Err(EventsError::invalid(format!(
                "Parameter AuthorizationType is not valid: {other}"
            )))
        }
    };
    if ok {
        Ok(())
    } else {
        Err(EventsError::invalid(format!(
            "Parameter(s) {needed} must be specified for AuthorizationType {auth_type}."
        )))
    }
}

fn seal(key: &MasterKey, arn: &str, params: &Value) -> EventsResult<String> {
    let sealed = key.seal(arn.as_bytes(), params.to_string().as_bytes())?;
    Ok(base64::engine::general_purpose::STANDARD.encode(sealed))
}

/// The sealed parameters of a connection, opened.
pub fn open(key: &MasterKey, arn: &str, doc: &ConnectionDoc) -> EventsResult<Value> {
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(&doc.sealed)
        .map_err(|_| EventsError::internal())?;
    let plain = key.open(arn.as_bytes(), &bytes)?;
    serde_json::from_slice(&plain).map_err(|_| EventsError::internal())
}

fn times(e: &Entity, doc: &ConnectionDoc) -> Map<String, Value> {
    let mut o = Map::new();
    o.insert("CreationTime".into(), model::epoch(e.created_at));
    o.insert("LastModifiedTime".into(), model::epoch(e.updated_at));
    if let Some(t) = doc.authorized_at {
        o.insert("LastAuthorizedTime".into(), model::epoch(t));
    }
    o
}

fn state_out(e: &Entity, doc: &ConnectionDoc, state: &str) -> Value {
    let mut o = times(e, doc);
    o.insert("ConnectionArn".into(), json!(e.arn));
    o.insert("ConnectionState".into(), json!(state));
    Value::Object(o)
}

/// `CreateConnection`.
pub async fn create(input: &Value, ctx: &CallContext, mut db: Db<'_>) -> EventsResult<Value> {
    let name = opt_str(input, "Name").unwrap_or_default();
    let auth_type = opt_str(input, "AuthorizationType").unwrap_or_default();
    let account = &ctx.principal.account_id;
    let params = params_of(input);
    check(auth_type, &params)?;
    let key = key_of(&ctx.region, name);
    if entity::find(&mut db, account, CONNECTION, &key)
        .await?
        .is_some()
    {
        return Err(EventsError::ResourceAlreadyExistsException(format!(
            "Connection {name} already exists."
        )));
    }
    let arn = arn_of(&ctx.region, account, name);
    let doc = ConnectionDoc {
        name: name.to_string(),
        description: opt_str(input, "Description").map(str::to_string),
        auth_type: auth_type.to_string(),
        state: "AUTHORIZED".into(),
        public: redacted(&params),
        sealed: seal(db.master_key(), &arn, &params)?,
        authorized_at: Some(ctx.now),
    };
    let mut e = model::new_entity(
        account,
        CONNECTION,
        name,
        key,
        format!("/{}/", ctx.region),
        arn,
        ctx.now,
    );
    entity::write_doc(&mut e, &doc, ctx.now)?;
    db.entities().create(&e).await?;
    Ok(state_out(&e, &doc, &doc.state))
}

/// `DescribeConnection`: the parameters without their secrets.
pub async fn describe(input: &Value, ctx: &CallContext, mut db: Db<'_>) -> EventsResult<Value> {
    let (e, doc) = load(&mut db, ctx, opt_str(input, "Name").unwrap_or_default()).await?;
    let mut o = times(&e, &doc);
    o.insert("ConnectionArn".into(), json!(e.arn));
    o.insert("Name".into(), json!(doc.name));
    o.insert("ConnectionState".into(), json!(doc.state));
    o.insert("AuthorizationType".into(), json!(doc.auth_type));
    if let Some(d) = &doc.description {
        o.insert("Description".into(), json!(d));
    }
    let mut auth = doc
        .public
        .get("AuthParameters")
        .cloned()
        .unwrap_or(json!({}));
    if let (Some(a), Some(inv)) = (
        auth.as_object_mut(),
        doc.public.get("InvocationHttpParameters"),
    ) {
        a.insert("InvocationHttpParameters".into(), inv.clone());
    }
    o.insert("AuthParameters".into(), auth);
    Ok(Value::Object(o))
}

/// `ListConnections`.
pub async fn list(input: &Value, ctx: &CallContext, mut db: Db<'_>) -> EventsResult<Value> {
    let prefix = opt_str(input, "NamePrefix").unwrap_or_default();
    let state = opt_str(input, "ConnectionState");
    let page = db
        .entities()
        .list(
            &ctx.principal.account_id,
            CONNECTION,
            &format!("/{}/", ctx.region),
            None,
            10_000,
        )
        .await?;
    let mut items = Vec::new();
    for e in page.items {
        let doc: ConnectionDoc = entity::read_doc(&e)?;
        if !doc.name.starts_with(prefix) || state.is_some_and(|s| s != doc.state) {
            continue;
        }
        let mut o = times(&e, &doc);
        o.insert("ConnectionArn".into(), json!(e.arn));
        o.insert("Name".into(), json!(doc.name));
        o.insert("ConnectionState".into(), json!(doc.state));
        o.insert("AuthorizationType".into(), json!(doc.auth_type));
        items.push(Value::Object(o));
    }
    let page = page::at_offset(items, opt_str(input, "NextToken"), limit_of(input)?)
        .ok_or_else(|| EventsError::invalid("The NextToken is not valid."))?;
    let mut out = json!({ "Connections": page.items });
    if let (Some(o), Some(next)) = (out.as_object_mut(), page.next) {
        o.insert("NextToken".into(), json!(next));
    }
    Ok(out)
}

/// `UpdateConnection`: the given parameters laid over the stored ones, sealed again.
pub async fn update(input: &Value, ctx: &CallContext, mut db: Db<'_>) -> EventsResult<Value> {
    let (e, mut doc) = load(&mut db, ctx, opt_str(input, "Name").unwrap_or_default()).await?;
    let old = open(db.master_key(), &e.arn, &doc)?;
    let auth_type = opt_str(input, "AuthorizationType")
        .unwrap_or(&doc.auth_type)
        .to_string();
    let params = if auth_type == doc.auth_type {
        merged(&old, &params_of(input))
    } else {
        params_of(input)
    };
    check(&auth_type, &params)?;
    doc.auth_type = auth_type;
    if let Some(d) = opt_str(input, "Description") {
        doc.description = Some(d.to_string());
    }
    doc.public = redacted(&params);
    doc.sealed = seal(db.master_key(), &e.arn, &params)?;
    doc.state = "AUTHORIZED".into();
    doc.authorized_at = Some(ctx.now);
    let mut e = e;
    entity::write_doc(&mut e, &doc, ctx.now)?;
    let key = e.name_key.clone();
    db.entities().update(&key, &e).await?;
    Ok(state_out(&e, &doc, &doc.state))
}

/// `DeauthorizeConnection`: its secrets are dropped; deliveries through it fail until it is
/// updated.
pub async fn deauthorize(input: &Value, ctx: &CallContext, mut db: Db<'_>) -> EventsResult<Value> {
    let (mut e, mut doc) = load(&mut db, ctx, opt_str(input, "Name").unwrap_or_default()).await?;
    doc.state = "DEAUTHORIZED".into();
    doc.sealed = seal(db.master_key(), &e.arn, &doc.public)?;
    entity::write_doc(&mut e, &doc, ctx.now)?;
    let key = e.name_key.clone();
    db.entities().update(&key, &e).await?;
    Ok(state_out(&e, &doc, "DEAUTHORIZING"))
}

/// `DeleteConnection`: refused while an API destination uses it.
pub async fn delete(input: &Value, ctx: &CallContext, mut db: Db<'_>) -> EventsResult<Value> {
    let (e, doc) = load(&mut db, ctx, opt_str(input, "Name").unwrap_or_default()).await?;
    let account = &ctx.principal.account_id;
    let destinations = db
        .entities()
        .list(
            account,
            DESTINATION,
            &format!("/{}/", ctx.region),
            None,
            10_000,
        )
        .await?;
    for d in destinations.items {
        let dest: crate::destinations::DestinationDoc = entity::read_doc(&d)?;
        if dest.connection_arn == e.arn {
            return Err(EventsError::invalid(format!(
                "Connection {} is in use by API destination {}.",
                doc.name, dest.name
            )));
        }
    }
    db.entities()
        .delete(account, CONNECTION, &e.name_key)
        .await?;
    Ok(state_out(&e, &doc, "DELETING"))
}

/// The connection of an ARN in `account` (a read outside a call: deliveries).
pub async fn by_arn(
    db: &mut Db<'_>,
    account: &str,
    arn: &str,
) -> EventsResult<Option<(Entity, ConnectionDoc)>> {
    let Some((region, name)) = parse_arn(arn) else {
        return Ok(None);
    };
    let found =
        entity::load_doc::<ConnectionDoc>(db, account, CONNECTION, &key_of(region, name)).await?;
    Ok(found.filter(|(e, _)| e.arn == arn))
}

/// The region and name of a connection ARN (of any partition: `arn:aws-cn:events:...`).
pub fn parse_arn(arn: &str) -> Option<(&str, &str)> {
    let rest = rampart_kit::Partition::of_arn(arn)?.strip_arn(arn, "events")?;
    let (region, rest) = rest.split_once(':')?;
    let (_account, rest) = rest.split_once(':')?;
    let rest = rest.strip_prefix("connection/")?;
    let (name, _id) = rest.split_once('/')?;
    Some((region, name))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "test code")]

    use super::*;

    #[test]
    fn secrets_are_taken_out_and_parameters_merge() {
        let params = json!({"AuthParameters": {
            "BasicAuthParameters": {"Username": "u", "Password": "p"}},
            "InvocationHttpParameters": {"HeaderParameters": [
                {"Key": "a", "Value": "1", "IsValueSecret": false},
                {"Key": "b", "Value": "2", "IsValueSecret": true}]}});
        let r = redacted(&params);
        assert_eq!(
            r["AuthParameters"]["BasicAuthParameters"],
            json!({"Username": "u"})
        );
        assert_eq!(
            r["InvocationHttpParameters"]["HeaderParameters"][1],
            json!({"Key": "b", "IsValueSecret": true})
        );
        assert!(!r.to_string().contains("\"p\""));
        let m = merged(
            &params,
            &json!({"AuthParameters": {"BasicAuthParameters": {"Password": "q"}}}),
        );
        assert_eq!(
            m["AuthParameters"]["BasicAuthParameters"],
            json!({"Username": "u", "Password": "q"})
        );
        assert!(check("BASIC", &params).is_ok());
        assert!(check("API_KEY", &params).is_err());
        assert_eq!(
            parse_arn("arn:aws:events:us-east-1:123456789012:connection/c1/abc"),
            Some(("us-east-1", "c1"))
        );
        assert_eq!(
            parse_arn("arn:aws-cn:events:cn-north-1:123456789012:connection/c1/abc"),
            Some(("cn-north-1", "c1"))
        );
        assert_eq!(
            parse_arn("arn:aws-moon:events:cn-north-1:123456789012:connection/c1/abc"),
            None
        );
    }
}
