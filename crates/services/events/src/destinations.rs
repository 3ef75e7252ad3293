//! API destinations: an HTTP endpoint, a method, a connection and an invocation rate limit.
//! `CreateApiDestination`, `DescribeApiDestination`, `ListApiDestinations`,
//! `UpdateApiDestination`, `DeleteApiDestination`; and [`resolve`], which turns a delivery
//! into the HTTP request to make (the connection's credentials opened then).

use base64::Engine;
use rampart_kit::{
    context::CallContext,
    db::Db,
    entity,
    input::{opt_int, opt_str},
    page,
};
use rampart_store::{Entity, Store};
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

use crate::{
    connections,
    delivery::Delivery,
    error::{EventsError, EventsResult},
    model::{self, DESTINATION},
    rules::limit_of,
};

/// AWS's default `InvocationRateLimitPerSecond`.
pub const DEFAULT_RATE: i64 = 300;

/// An API destination.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct DestinationDoc {
    /// The name.
    pub name: String,
    /// `Description`.
    #[serde(default)]
    pub description: Option<String>,
    /// `ConnectionArn`.
    pub connection_arn: String,
    /// `InvocationEndpoint`.
    pub endpoint: String,
    /// `HttpMethod`.
    pub method: String,
    /// `InvocationRateLimitPerSecond`.
    pub rate: i64,
}

fn key_of(region: &str, name: &str) -> String {
    format!("{region}/{name}")
}

fn not_found(name: &str) -> EventsError {
    EventsError::ResourceNotFoundException(format!("An api-destination '{name}' does not exist."))
}

async fn load(
    db: &mut Db<'_>,
    ctx: &CallContext,
    name: &str,
) -> EventsResult<(Entity, DestinationDoc)> {
    entity::load_doc(
        db,
        &ctx.principal.account_id,
        DESTINATION,
        &key_of(&ctx.region, name),
    )
    .await?
    .ok_or_else(|| not_found(name))
}

/// Checks an endpoint: `https://` as AWS requires, or `http://` (Rampart also delivers to
/// plain HTTP, for receivers on a private network).
fn check_endpoint(endpoint: &str) -> EventsResult<()> {
    let rest = endpoint
        .strip_prefix("https://")
        .or_else(|| endpoint.strip_prefix("http://"));
    match rest {
        Some(r) if !r.is_empty() && !r.starts_with('/') && !r.contains(char::is_whitespace) => Ok(()),
        _ => Err(EventsError::invalid(format!(
            "Parameter InvocationEndpoint is not valid. Reason: {endpoint} is not an https:// (or http://) URL."
        ))),
    }
}

/// Checks that the connection exists in the caller's account.
async fn check_connection(db: &mut Db<'_>, ctx: &CallContext, arn: &str) -> EventsResult<()> {
    match connections::by_arn(db, &ctx.principal.account_id, arn).await? {
        Some(_) => Ok(()),
        None => Err(EventsError::ResourceNotFoundException(format!(
            "Connection '{arn}' does not exist."
        ))),
    }
}

fn rate_of(input: &Value, default: i64) -> EventsResult<i64> {
    match opt_int(input, "InvocationRateLimitPerSecond") {
        None => Ok(default),
        Some(n) if (1..=300).contains(&n) => Ok(n),
        Some(_) => Err(EventsError::invalid(
            "1 validation error detected: Value at 'invocationRateLimitPerSecond' failed to satisfy constraint: Member must have value between 1 and 300",
        )),
    }
}

fn shown(e: &Entity, doc: &DestinationDoc) -> Map<String, Value> {
    let mut o = Map::new();
    o.insert("ApiDestinationArn".into(), json!(e.arn));
    o.insert("Name".into(), json!(doc.name));
    o.insert("ApiDestinationState".into(), json!("ACTIVE"));
    o.insert("ConnectionArn".into(), json!(doc.connection_arn));
    o.insert("InvocationEndpoint".into(), json!(doc.endpoint));
    o.insert("HttpMethod".into(), json!(doc.method));
    o.insert("InvocationRateLimitPerSecond".into(), json!(doc.rate));
    o.insert("CreationTime".into(), model::epoch(e.created_at));
    o.insert("LastModifiedTime".into(), model::epoch(e.updated_at));
    o
}

fn state_out(e: &Entity) -> Value {
    json!({
        "ApiDestinationArn": e.arn,
        "ApiDestinationState": "ACTIVE",
        "CreationTime": model::epoch(e.created_at),
        "LastModifiedTime": model::epoch(e.updated_at),
    })
}

/// `CreateApiDestination`.
pub async fn create(input: &Value, ctx: &CallContext, mut db: Db<'_>) -> EventsResult<Value> {
    let name = opt_str(input, "Name").unwrap_or_default();
    let account = &ctx.principal.account_id;
    let endpoint = opt_str(input, "InvocationEndpoint").unwrap_or_default();
    check_endpoint(endpoint)?;
    let connection_arn = opt_str(input, "ConnectionArn").unwrap_or_default();
    check_connection(&mut db, ctx, connection_arn).await?;
    let key = key_of(&ctx.region, name);
    if entity::find(&mut db, account, DESTINATION, &key)
        .await?
        .is_some()
    {
        return Err(EventsError::ResourceAlreadyExistsException(format!(
            "An api-destination '{name}' already exists."
        )));
    }
    let doc = DestinationDoc {
        name: name.to_string(),
        description: opt_str(input, "Description").map(str::to_string),
        connection_arn: connection_arn.to_string(),
        endpoint: endpoint.to_string(),
        method: opt_str(input, "HttpMethod").unwrap_or("POST").to_string(),
        rate: rate_of(input, DEFAULT_RATE)?,
    };
    let arn = ctx.partition().arn(
        "events",
        &ctx.region,
        account,
        &format!("api-destination/{name}/{}", uuid::Uuid::new_v4()),
    );
    let mut e = model::new_entity(
        account,
        DESTINATION,
        name,
        key,
        format!("/{}/", ctx.region),
        arn,
        ctx.now,
    );
    entity::write_doc(&mut e, &doc, ctx.now)?;
    db.entities().create(&e).await?;
    Ok(state_out(&e))
}

/// `DescribeApiDestination`.
pub async fn describe(input: &Value, ctx: &CallContext, mut db: Db<'_>) -> EventsResult<Value> {
    let (e, doc) = load(&mut db, ctx, opt_str(input, "Name").unwrap_or_default()).await?;
    let mut o = shown(&e, &doc);
    if let Some(d) = &doc.description {
        o.insert("Description".into(), json!(d));
    }
    Ok(Value::Object(o))
}

/// `ListApiDestinations`.
pub async fn list(input: &Value, ctx: &CallContext, mut db: Db<'_>) -> EventsResult<Value> {
    let prefix = opt_str(input, "NamePrefix").unwrap_or_default();
    let connection = opt_str(input, "ConnectionArn");
    let all = db
        .entities()
        .list(
            &ctx.principal.account_id,
            DESTINATION,
            &format!("/{}/", ctx.region),
            None,
            10_000,
        )
        .await?;
    let mut items = Vec::new();
    for e in all.items {
        let doc: DestinationDoc = entity::read_doc(&e)?;
        if doc.name.starts_with(prefix) && connection.is_none_or(|c| c == doc.connection_arn) {
            items.push(Value::Object(shown(&e, &doc)));
        }
    }
    let page = page::at_offset(items, opt_str(input, "NextToken"), limit_of(input)?)
        .ok_or_else(|| EventsError::invalid("The NextToken is not valid."))?;
    let mut out = json!({ "ApiDestinations": page.items });
    if let (Some(o), Some(next)) = (out.as_object_mut(), page.next) {
        o.insert("NextToken".into(), json!(next));
    }
    Ok(out)
}

/// `UpdateApiDestination`.
pub async fn update(input: &Value, ctx: &CallContext, mut db: Db<'_>) -> EventsResult<Value> {
    let (mut e, mut doc) = load(&mut db, ctx, opt_str(input, "Name").unwrap_or_default()).await?;
    if let Some(endpoint) = opt_str(input, "InvocationEndpoint") {
        check_endpoint(endpoint)?;
        doc.endpoint = endpoint.to_string();
    }
    if let Some(c) = opt_str(input, "ConnectionArn") {
        check_connection(&mut db, ctx, c).await?;
        doc.connection_arn = c.to_string();
    }
    if let Some(m) = opt_str(input, "HttpMethod") {
        doc.method = m.to_string();
    }
    if let Some(d) = opt_str(input, "Description") {
        doc.description = Some(d.to_string());
    }
    doc.rate = rate_of(input, doc.rate)?;
    entity::write_doc(&mut e, &doc, ctx.now)?;
    let key = e.name_key.clone();
    db.entities().update(&key, &e).await?;
    Ok(state_out(&e))
}

/// `DeleteApiDestination`.
pub async fn delete(input: &Value, ctx: &CallContext, mut db: Db<'_>) -> EventsResult<Value> {
    let (e, _) = load(&mut db, ctx, opt_str(input, "Name").unwrap_or_default()).await?;
    db.entities()
        .delete(&ctx.principal.account_id, DESTINATION, &e.name_key)
        .await?;
    Ok(json!({}))
}

/// An OAuth client-credentials grant to run before the request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OAuth {
    /// `AuthorizationEndpoint`.
    pub endpoint: String,
    /// `HttpMethod` of the token request.
    pub method: String,
    /// `ClientID`.
    pub client_id: String,
    /// `ClientSecret`.
    pub client_secret: String,
}

/// The HTTP request a delivery makes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    /// The API destination's ARN (the rate limit's key).
    pub destination_arn: String,
    /// `InvocationRateLimitPerSecond`.
    pub rate: i64,
    /// The URL, path parameters and query string filled in.
    pub url: String,
    /// The method.
    pub method: String,
    /// Headers (the connection's credentials among them, except an OAuth token).
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: String,
    /// The OAuth grant whose token goes in `Authorization: Bearer`.
    pub oauth: Option<OAuth>,
}

/// Why a delivery cannot be made: `permanent` when retrying cannot help (the destination or
/// connection is gone or deauthorized).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unresolved {
    /// What is wrong.
    pub message: String,
    /// Whether it is final.
    pub permanent: bool,
}

fn gone(message: String) -> Unresolved {
    Unresolved {
        message,
        permanent: true,
    }
}

/// The `(Key, Value)` pairs of a parameter list.
fn pairs(list: Option<&Value>) -> Vec<(String, String)> {
    list.and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|p| {
            Some((
                opt_str(p, "Key")?.to_string(),
                opt_str(p, "Value")?.to_string(),
            ))
        })
        .collect()
}

/// Percent-encoding of a query component.
fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                char::from(b).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// The request of `delivery`, read from the store now: the API destination and its
/// connection as they are, the connection's secrets opened.
pub async fn resolve(store: &Store, delivery: &Delivery) -> Result<Request, Unresolved> {
    let arn = &delivery.target_arn;
    let parts = rampart_kit::Partition::of_arn(arn)
        .and_then(|p| p.strip_arn(arn, "events"))
        .and_then(|r| {
            let (region, r) = r.split_once(':')?;
            let (account, r) = r.split_once(':')?;
            let (name, _) = r.strip_prefix("api-destination/")?.split_once('/')?;
            Some((region, account, name))
        })
        .ok_or_else(|| gone(format!("{arn} is not an API destination ARN.")))?;
    let (region, account, name) = parts;
    let transient = |e: EventsError| Unresolved {
        message: format!("store: {e}"),
        permanent: false,
    };
    let mut db = Db::Read(store);
    let (dest_entity, dest) =
        entity::load_doc::<DestinationDoc>(&mut db, account, DESTINATION, &key_of(region, name))
            .await
            .map_err(|e| transient(e.into()))?
            .filter(|(e, _)| &e.arn == arn)
            .ok_or_else(|| gone(format!("API destination {arn} does not exist.")))?;
    let (conn_entity, conn) = connections::by_arn(&mut db, account, &dest.connection_arn)
        .await
        .map_err(transient)?
        .ok_or_else(|| {
            gone(format!(
                "Connection {} does not exist.",
                dest.connection_arn
            ))
        })?;
    if conn.state != "AUTHORIZED" {
        return Err(gone(format!(
            "Connection {} is {}.",
            conn_entity.arn, conn.state
        )));
    }
    let params =
        connections::open(store.master_key(), &conn_entity.arn, &conn).map_err(transient)?;
    let auth = params.get("AuthParameters");
    let at = |path: &[&str]| -> String {
        let mut v = auth;
        for p in path {
            v = v.and_then(|x| x.get(*p));
        }
        v.and_then(Value::as_str).unwrap_or_default().to_string()
    };
    let mut headers: Vec<(String, String)> = delivery.headers.clone().into_iter().collect();
    let invocation = params.get("InvocationHttpParameters");
    for (k, v) in pairs(invocation.and_then(|i| i.get("HeaderParameters"))) {
        headers.retain(|(h, _)| !h.eq_ignore_ascii_case(&k));
        headers.push((k, v));
    }
    let mut oauth = None;
    match conn.auth_type.as_str() {
        "API_KEY" => headers.push((
            at(&["ApiKeyAuthParameters", "ApiKeyName"]),
            at(&["ApiKeyAuthParameters", "ApiKeyValue"]),
        )),
        "BASIC" => {
            let user = at(&["BasicAuthParameters", "Username"]);
            let pass = at(&["BasicAuthParameters", "Password"]);
            let token = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{pass}"));
            headers.push(("Authorization".into(), format!("Basic {token}")));
        }
        _ => {
            oauth = Some(OAuth {
                endpoint: at(&["OAuthParameters", "AuthorizationEndpoint"]),
                method: at(&["OAuthParameters", "HttpMethod"]),
                client_id: at(&["OAuthParameters", "ClientParameters", "ClientID"]),
                client_secret: at(&["OAuthParameters", "ClientParameters", "ClientSecret"]),
            });
        }
    }
    let mut url = dest.endpoint.clone();
    for value in &delivery.path_values {
        url = url.replacen('*', value, 1);
    }
    let mut query: Vec<(String, String)> = delivery.query.clone().into_iter().collect();
    query.extend(pairs(
        invocation.and_then(|i| i.get("QueryStringParameters")),
    ));
    if !query.is_empty() {
        let q: Vec<String> = query
            .iter()
            .map(|(k, v)| format!("{}={}", encode(k), encode(v)))
            .collect();
        url.push(if url.contains('?') { '&' } else { '?' });
        url.push_str(&q.join("&"));
    }
    Ok(Request {
        destination_arn: dest_entity.arn,
        rate: dest.rate,
        url,
        method: dest.method,
        headers,
        body: delivery.body.clone(),
        oauth,
    })
}
