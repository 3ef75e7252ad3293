//! awsQuery request decoding: `Action=..&Version=..` form parameters into (operation, value),
//! driven by the input shape (`Name.member.N` lists, `Name.entry.N.key/value` maps, `A.B`
//! nested structures, typed scalars).

use crate::error::{ApiError, CommonError};
use crate::validate::{join, path_name};
use rampart_model::{Operation, Protocol, Service, ShapeId, ShapeKind};
use serde_json::{Map, Value};
use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet};

/// Deepest shape nesting decoded (no model nests deeper; bounds hostile keys).
const MAX_DEPTH: usize = 32;

/// Form parameters by name, borrowed from the request where no percent-decoding was needed.
pub type FormParams<'a> = BTreeMap<Cow<'a, str>, Cow<'a, str>>;

/// Parses `application/x-www-form-urlencoded` bytes (a body or a query string) into a sorted
/// parameter map; a repeated name keeps its first value, invalid UTF-8 is replaced.
pub fn parse_form(bytes: &[u8]) -> FormParams<'_> {
    let mut out = BTreeMap::new();
    for (k, v) in form_urlencoded::parse(bytes) {
        out.entry(k).or_insert(v);
    }
    out
}

/// Decodes awsQuery parameters for `service`: finds the operation named by `Action` and builds
/// its input value. Errors: `MissingAction`, `InvalidAction` (unknown action or wrong
/// `Version`), `ValidationError` (a value that is not of its member's type). Constraint
/// validation is separate ([`crate::validate`]).
pub fn decode_query(
    service: &'static Service,
    params: &FormParams<'_>,
) -> Result<(&'static Operation, Value), ApiError> {
    let action = match params.get("Action").map(|a| a.trim()) {
        Some(a) if !a.is_empty() => a,
        _ => return Err(ApiError::new("MissingAction", "Missing Action", 400, true)),
    };
    let version = params.get("Version").map(|v| v.as_ref());
    let op = match service.operation(action) {
        Some(op) if version.is_none_or(|v| v == service.api_version) => op,
        _ => {
            return Err(ApiError::new(
                "InvalidAction",
                format!(
                    "Could not find operation {action} for version {}",
                    version.unwrap_or(service.api_version)
                ),
                400,
                true,
            ))
        }
    };
    let input = match op.input {
        None => Value::Object(Map::new()),
        Some(id) => {
            let mut d = Decoder {
                service,
                params,
                errors: Vec::new(),
            };
            let v = d.structure(id, "", "", 0);
            if !d.errors.is_empty() {
                return Err(ApiError::common(
                    Protocol::Query,
                    CommonError::Validation,
                    crate::validate::validation_message(&d.errors),
                ));
            }
            v
        }
    };
    Ok((op, input))
}

struct Decoder<'a> {
    service: &'static Service,
    params: &'a FormParams<'a>,
    errors: Vec<String>,
}

impl Decoder<'_> {
    /// True when some parameter name starts with `prefix`.
    fn has_prefix(&self, prefix: &str) -> bool {
        self.params
            .range::<str, _>((
                std::ops::Bound::Included(prefix),
                std::ops::Bound::Unbounded,
            ))
            .next()
            .is_some_and(|(k, _)| k.starts_with(prefix))
    }

    /// The distinct numeric indices N of parameters named `{base}N` or `{base}N.…`, ascending.
    fn indices(&self, base: &str) -> BTreeSet<u32> {
        let mut out = BTreeSet::new();
        let range = self
            .params
            .range::<str, _>((std::ops::Bound::Included(base), std::ops::Bound::Unbounded));
        for (k, _) in range {
            let Some(rest) = k.strip_prefix(base) else {
                break;
            };
            let seg = rest.split('.').next().unwrap_or("");
            if let Ok(n) = seg.parse::<u32>() {
                if n >= 1 && !seg.starts_with('+') {
                    out.insert(n);
                }
            }
        }
        out
    }

    /// A structure whose members are named `{prefix}{Member}`.
    fn structure(&mut self, id: ShapeId, prefix: &str, path: &str, depth: usize) -> Value {
        let mut map = Map::new();
        if let ShapeKind::Structure(members) = self.service.shape(id).kind {
            for m in members {
                let key = format!("{prefix}{}", m.wire_name());
                let p = join(path, &path_name(m.name));
                if let Some(v) = self.value(m.shape, &key, &p, m.flattened, depth + 1) {
                    map.insert(m.name.to_string(), v);
                }
            }
        }
        Value::Object(map)
    }

    /// The value of shape `id` serialized under parameter name `key`, if present.
    fn value(
        &mut self,
        id: ShapeId,
        key: &str,
        path: &str,
        flattened: bool,
        depth: usize,
    ) -> Option<Value> {
        if depth > MAX_DEPTH {
            return None;
        }
        let shape = self.service.shape(id);
        match shape.kind {
            ShapeKind::Structure(_) => {
                let prefix = format!("{key}.");
                if self.has_prefix(&prefix) {
                    Some(self.structure(id, &prefix, path, depth))
                } else {
                    None
                }
            }
            ShapeKind::List(info) => {
                let base = if flattened || info.flattened {
                    // botocore names flattened items after the member's own name, if it has one.
                    match (info.member_name, key.rsplit_once('.')) {
                        (Some(n), Some((parent, _))) => format!("{parent}.{n}."),
                        (Some(n), None) => format!("{n}."),
                        (None, _) => format!("{key}."),
                    }
                } else {
                    format!("{key}.{}.", info.member_name.unwrap_or("member"))
                };
                let idx = self.indices(&base);
                if idx.is_empty() {
                    // An empty list is sent as `Name=` (botocore) and decodes to [].
                    return self.params.get(key).map(|_| Value::Array(Vec::new()));
                }
                let mut items = Vec::with_capacity(idx.len());
                for (i, n) in idx.into_iter().enumerate() {
                    let p = format!("{}.member", join(path, &(i + 1).to_string()));
                    if let Some(v) =
                        self.value(info.member, &format!("{base}{n}"), &p, false, depth + 1)
                    {
                        items.push(v);
                    }
                }
                Some(Value::Array(items))
            }
            ShapeKind::Map(info) => {
                let base = if flattened || info.flattened {
                    format!("{key}.")
                } else {
                    format!("{key}.entry.")
                };
                let idx = self.indices(&base);
                if idx.is_empty() {
                    return self.params.get(key).map(|_| Value::Object(Map::new()));
                }
                let (kn, vn) = (
                    info.key_name.unwrap_or("key"),
                    info.value_name.unwrap_or("value"),
                );
                let mut map = Map::new();
                for n in idx {
                    let Some(k) = self.params.get(format!("{base}{n}.{kn}").as_str()) else {
                        continue;
                    };
                    let p = join(path, &n.to_string());
                    if let Some(v) = self.value(
                        info.value,
                        &format!("{base}{n}.{vn}"),
                        &join(&p, "value"),
                        false,
                        depth + 1,
                    ) {
                        map.insert(k.to_string(), v);
                    }
                }
                Some(Value::Object(map))
            }
            _ => {
                let raw = self.params.get(key)?;
                match scalar(shape.kind, raw) {
                    Ok(v) => Some(v),
                    Err(what) => {
                        let shown = if shape.sensitive {
                            "Value".to_string()
                        } else {
                            format!("Value '{raw}'")
                        };
                        self.errors.push(format!(
                            "{shown} at '{path}' failed to satisfy constraint: Member must {what}"
                        ));
                        None
                    }
                }
            }
        }
    }
}

/// Converts one awsQuery (or restJson1 path, query or header) scalar to its in-memory value,
/// or names what it should have been.
pub(crate) fn scalar(kind: ShapeKind, raw: &str) -> Result<Value, &'static str> {
    match kind {
        ShapeKind::Integer => raw
            .trim()
            .parse::<i32>()
            .map(Value::from)
            .map_err(|_| "be a valid integer"),
        ShapeKind::Long => raw
            .trim()
            .parse::<i64>()
            .map(Value::from)
            .map_err(|_| "be a valid long"),
        ShapeKind::Float | ShapeKind::Double => raw
            .trim()
            .parse::<f64>()
            .ok()
            .and_then(serde_json::Number::from_f64)
            .map(Value::Number)
            .ok_or("be a valid number"),
        ShapeKind::Boolean => {
            if raw.eq_ignore_ascii_case("true") {
                Ok(Value::Bool(true))
            } else if raw.eq_ignore_ascii_case("false") {
                Ok(Value::Bool(false))
            } else {
                Err("be a boolean (true or false)")
            }
        }
        ShapeKind::Timestamp(_) => crate::time::parse_timestamp(raw)
            .map(crate::time::epoch_to_json)
            .filter(|v| !v.is_null())
            .ok_or("be an ISO 8601 timestamp"),
        ShapeKind::Blob => {
            use base64::Engine as _;
            base64::engine::general_purpose::STANDARD
                .decode(raw.trim())
                .map(|_| Value::String(raw.trim().to_string()))
                .map_err(|_| "be base64-encoded")
        }
        _ => Ok(Value::String(raw.to_string())),
    }
}
