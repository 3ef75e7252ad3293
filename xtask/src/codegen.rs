//! Generates compact static tables from botocore's `service-2.json` models.
//!
//! Output: one file per service plus `mod.rs` under `crates/model/src/generated/`. Documentation
//! text is never read into the output: only names, shapes, constraints and error metadata.

use serde_json::{Map, Value};
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::Read;
use std::path::{Path, PathBuf};

/// The services Rampart generates tables for (botocore directory names), in the order of
/// `rampart_model::SERVICES`. awsQuery services come first where two share an action name; S3
/// comes before S3 Control, which signs as `s3` too (the wire layer routes it by its path).
const SERVICES: [&str; 22] = [
    "iam",
    "sts",
    "organizations",
    "kms",
    "secretsmanager",
    "cloudtrail",
    "guardduty",
    "detective",
    "securityhub",
    "accessanalyzer",
    "inspector2",
    "macie2",
    "artifact",
    "config",
    "wafv2",
    "shield",
    "events",
    "elbv2",
    "acm",
    "acm-pca",
    "s3",
    "s3control",
];

/// The Rust module of a service (`acm-pca` -> `acm_pca`).
fn module_name(name: &str) -> String {
    name.replace('-', "_")
}

/// What the generated `mod.rs` needs to know of each service for its lookups.
struct Meta {
    name: &'static str,
    signing_name: String,
    target_prefix: Option<String>,
}

type Result<T> = std::result::Result<T, String>;

/// Runs the generator; in check mode returns `Ok(false)` when the committed files differ.
pub fn run(check: bool) -> Result<bool> {
    let (data_dir, version) = botocore()?;
    let out_dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join("crates/model/src/generated");
    let mut files: Vec<(String, String)> = Vec::new();
    let mut metas = Vec::new();
    for name in SERVICES {
        let model = load_model(&data_dir, name)?;
        let src = generate_service(name, &model, &version).map_err(|e| format!("{name}: {e}"))?;
        files.push((format!("{}.rs", module_name(name)), src));
        let meta = obj(&model["metadata"], "metadata")?;
        let endpoint_prefix = str_field(meta, "endpointPrefix").ok_or("no endpointPrefix")?;
        metas.push(Meta {
            name,
            signing_name: str_field(meta, "signingName")
                .unwrap_or(endpoint_prefix)
                .to_string(),
            target_prefix: str_field(meta, "targetPrefix").map(str::to_string),
        });
    }
    files.push(("mod.rs".to_string(), generate_mod(&version, &metas)?));

    let mut ok = true;
    for (file, src) in &files {
        let path = out_dir.join(file);
        if check {
            let current = std::fs::read_to_string(&path).unwrap_or_default();
            if current != *src {
                eprintln!(
                    "{} is out of date: run `cargo run -p xtask -- codegen` (botocore {version})",
                    path.display()
                );
                ok = false;
            }
        } else {
            std::fs::create_dir_all(&out_dir).map_err(|e| e.to_string())?;
            std::fs::write(&path, src).map_err(|e| format!("{}: {e}", path.display()))?;
            println!("wrote {} ({} lines)", path.display(), src.lines().count());
        }
    }
    if check && ok {
        println!("generated model tables are current (botocore {version})");
    }
    Ok(ok)
}

/// Finds botocore's data directory and version: `BOTOCORE_DATA` (+ `BOTOCORE_VERSION`), else
/// the installed Python package.
fn botocore() -> Result<(PathBuf, String)> {
    if let Ok(dir) = std::env::var("BOTOCORE_DATA") {
        let version = std::env::var("BOTOCORE_VERSION")
            .map_err(|_| "BOTOCORE_DATA needs BOTOCORE_VERSION too".to_string())?;
        return Ok((PathBuf::from(dir), version));
    }
    let out = std::process::Command::new("python3")
        .args([
            "-c",
            "import botocore,os;print(os.path.dirname(botocore.__file__));print(botocore.__version__)",
        ])
        .output()
        .map_err(|e| format!("running python3 to find botocore: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "botocore not importable (pip install botocore==1.43.11): {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    let text = String::from_utf8_lossy(&out.stdout);
    let mut lines = text.lines();
    let dir = lines.next().ok_or("no botocore path")?.trim().to_string();
    let version = lines
        .next()
        .ok_or("no botocore version")?
        .trim()
        .to_string();
    Ok((Path::new(&dir).join("data"), version))
}

fn load_model(data_dir: &Path, name: &str) -> Result<Value> {
    let svc_dir = data_dir.join(name);
    let mut versions: Vec<PathBuf> = std::fs::read_dir(&svc_dir)
        .map_err(|e| format!("{}: {e}", svc_dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_dir())
        .collect();
    versions.sort();
    let dir = versions
        .last()
        .ok_or_else(|| format!("no model versions in {}", svc_dir.display()))?;
    let gz = dir.join("service-2.json.gz");
    let plain = dir.join("service-2.json");
    let text = if gz.exists() {
        let f = std::fs::File::open(&gz).map_err(|e| format!("{}: {e}", gz.display()))?;
        let mut s = String::new();
        flate2::read::GzDecoder::new(f)
            .read_to_string(&mut s)
            .map_err(|e| format!("{}: {e}", gz.display()))?;
        s
    } else {
        std::fs::read_to_string(&plain).map_err(|e| format!("{}: {e}", plain.display()))?
    };
    serde_json::from_str(&text).map_err(|e| format!("{name}: {e}"))
}

fn header(version: &str) -> String {
    format!("// @generated by `cargo xtask codegen` from botocore {version} — do not edit\n")
}

/// The module list, `SERVICES`, and the lookups by model name, signing name and target
/// prefix as `match`es (compiled to length-then-bytes comparisons, no scan over the services).
fn generate_mod(version: &str, metas: &[Meta]) -> Result<String> {
    let mut s = header(version);
    s.push_str(
        "//! Generated model tables, one module per service, and the lookups over them.\n\n",
    );
    s.push_str("use crate::types::Service;\n\n");
    for m in metas {
        let _ = writeln!(s, "#[rustfmt::skip]\npub mod {};", module_name(m.name));
    }
    let _ = writeln!(
        s,
        "\n/// The botocore release the tables were generated from.\npub const BOTOCORE_VERSION: &str = \"{version}\";"
    );
    let _ = writeln!(
        s,
        "\n/// Every service in the model, in a fixed order.\npub static SERVICES: [&Service; {}] = [",
        metas.len()
    );
    for m in metas {
        let _ = writeln!(s, "    &{}::SERVICE,", module_name(m.name));
    }
    s.push_str("];\n");

    // `shared`: a key an earlier service already has goes to that service (a signing name two
    // services share); otherwise a repeated key is an error.
    let mut arms = |doc: &str,
                    fn_name: &str,
                    keys: Vec<(Vec<String>, &str)>,
                    shared: bool|
     -> Result<()> {
        let mut seen = std::collections::BTreeSet::new();
        let _ = writeln!(
            s,
            "\n{doc}\npub(crate) fn {fn_name}(key: &str) -> Option<&'static Service> {{\n    match key {{"
        );
        for (names, name) in keys {
            let mut fresh = Vec::new();
            for n in names {
                if seen.insert(n.clone()) {
                    fresh.push(n);
                } else if !shared {
                    return Err(format!("{fn_name}: {n} names two services"));
                }
            }
            let names = fresh;
            if names.is_empty() {
                continue;
            }
            let pats: Vec<String> = names.iter().map(|n| lit(n)).collect();
            let _ = writeln!(
                s,
                "        {} => Some(&{}::SERVICE),",
                pats.join(" | "),
                module_name(name)
            );
        }
        s.push_str("        _ => None,\n    }\n}\n");
        Ok(())
    };
    arms(
        "/// The service with this model name.",
        "by_name",
        metas
            .iter()
            .map(|m| (vec![m.name.to_string()], m.name))
            .collect(),
        false,
    )?;
    arms(
        "/// The service SigV4 signs as this name (the first of the services that share it).",
        "by_signing_name",
        metas
            .iter()
            .map(|m| (vec![m.signing_name.clone()], m.name))
            .collect(),
        true,
    )?;
    arms(
        "/// The awsJson service with this `X-Amz-Target` prefix: the model's full prefix, or its\n/// last dotted segment as the Smithy SDKs send it.",
        "by_target_prefix",
        metas
            .iter()
            .filter_map(|m| {
                let full = m.target_prefix.clone()?;
                let mut keys = vec![full.clone()];
                if let Some((_, last)) = full.rsplit_once('.') {
                    keys.push(last.to_string());
                }
                Some((keys, m.name))
            })
            .collect(),
        false,
    )?;
    Ok(s)
}

/// The service's operations as an enum in the order of its operation table, with the
/// [`ServiceOp`](rampart_model::ServiceOp) lookups as `match`es.
fn generate_op_enum(name: &str, op_names: &[&String]) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "/// A `{name}` operation: every operation of the model, in the order of its table."
    );
    s.push_str(
        "#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]\npub enum Op {\n",
    );
    for n in op_names {
        let _ = writeln!(s, "    {n},");
    }
    s.push_str("}\n\n");
    let _ = writeln!(s, "static ALL: [Op; {}] = [", op_names.len());
    for n in op_names {
        let _ = writeln!(s, "    Op::{n},");
    }
    s.push_str("];\n\nimpl Op {\n");
    s.push_str("    /// The operation's name.\n    pub const fn name(self) -> &'static str {\n        match self {\n");
    for n in op_names {
        let _ = writeln!(s, "            Op::{n} => {},", lit(n));
    }
    s.push_str("        }\n    }\n\n");
    s.push_str("    /// The operation with this exact name.\n    pub fn from_name(name: &str) -> Option<Op> {\n        Some(match name {\n");
    for n in op_names {
        let _ = writeln!(s, "            {} => Op::{n},", lit(n));
    }
    s.push_str("            _ => return None,\n        })\n    }\n}\n\n");
    s.push_str("impl ServiceOp for Op {\n");
    s.push_str("    fn service() -> &'static Service {\n        &SERVICE\n    }\n\n");
    s.push_str("    fn all() -> &'static [Op] {\n        &ALL\n    }\n\n");
    s.push_str("    fn name(self) -> &'static str {\n        Op::name(self)\n    }\n\n");
    s.push_str(
        "    fn from_name(name: &str) -> Option<Op> {\n        Op::from_name(name)\n    }\n}\n\n",
    );
    s
}

/// A Rust string literal.
fn lit(s: &str) -> String {
    format!("{s:?}")
}

fn opt_lit(s: Option<&str>) -> String {
    match s {
        Some(s) => format!("Some({})", lit(s)),
        None => "None".to_string(),
    }
}

fn obj<'a>(v: &'a Value, what: &str) -> Result<&'a Map<String, Value>> {
    v.as_object()
        .ok_or_else(|| format!("{what} is not an object"))
}

fn str_field<'a>(v: &'a Map<String, Value>, key: &str) -> Option<&'a str> {
    v.get(key).and_then(Value::as_str)
}

/// Whether structure `shape` has a streaming payload member (a `streaming` blob bound to the
/// whole body: S3's `PutObject`/`UploadPart` input and `GetObject` output `Body`).
fn streaming_payload(shapes: &Map<String, Value>, shape: &str) -> bool {
    let Some(sh) = shapes.get(shape) else {
        return false;
    };
    let Some(member) = str_field_v(sh, "payload").and_then(|p| sh.get("members")?.get(p)) else {
        return false;
    };
    let target = member.get("shape").and_then(Value::as_str).unwrap_or("");
    let blob = shapes.get(target).and_then(|t| str_field_v(t, "type")) == Some("blob");
    let flagged = |v: &Value| v.get("streaming").and_then(Value::as_bool) == Some(true);
    blob && (flagged(member) || shapes.get(target).is_some_and(flagged))
}

fn str_field_v<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    v.get(key).and_then(Value::as_str)
}

/// The XML namespace a REST-XML model gives its payload members (S3 has no service-level
/// `xmlNamespace` but names `http://s3.amazonaws.com/doc/2006-03-01/` on every XML payload):
/// the most common member namespace, the first in name order on a tie.
fn payload_namespace(shapes: &Map<String, Value>) -> Option<String> {
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for sh in shapes.values() {
        for mv in sh
            .get("members")
            .and_then(Value::as_object)
            .into_iter()
            .flat_map(|m| m.values())
        {
            if let Some(uri) = mv
                .get("xmlNamespace")
                .and_then(|n| n.get("uri"))
                .and_then(Value::as_str)
            {
                *counts.entry(uri).or_default() += 1;
            }
        }
    }
    let best = counts.values().copied().max()?;
    counts
        .into_iter()
        .find(|(_, n)| *n == best)
        .map(|(uri, _)| uri.to_string())
}

fn generate_service(name: &str, model: &Value, version: &str) -> Result<String> {
    let meta = obj(&model["metadata"], "metadata")?;
    let shapes = obj(&model["shapes"], "shapes")?;
    let operations = obj(&model["operations"], "operations")?;

    // Shape ids: index in name order.
    let mut names: Vec<&str> = shapes.keys().map(String::as_str).collect();
    names.sort_unstable();
    if names.len() > u16::MAX as usize {
        return Err("too many shapes for u16 ids".into());
    }
    let ids: BTreeMap<&str, usize> = names.iter().enumerate().map(|(i, n)| (*n, i)).collect();
    let id_of = |target: &Value, ctx: &str| -> Result<usize> {
        let n = target
            .get("shape")
            .and_then(Value::as_str)
            .ok_or_else(|| format!("{ctx}: no shape reference"))?;
        ids.get(n)
            .copied()
            .ok_or_else(|| format!("{ctx}: unknown shape {n}"))
    };

    let protocol = match str_field(meta, "protocol") {
        Some("query") => "Protocol::Query",
        Some("json") => "Protocol::Json",
        Some("rest-json") => "Protocol::RestJson",
        Some("rest-xml") => "Protocol::RestXml",
        other => return Err(format!("unsupported protocol {other:?}")),
    };
    let endpoint_prefix = str_field(meta, "endpointPrefix").ok_or("no endpointPrefix")?;
    let signing_name = str_field(meta, "signingName").unwrap_or(endpoint_prefix);
    let rest = matches!(protocol, "Protocol::RestJson" | "Protocol::RestXml");

    let mut s = header(version);
    let _ = writeln!(
        s,
        "//! `{name}` tables: {} operations, {} shapes.\n",
        operations.len(),
        shapes.len()
    );
    s.push_str("use crate::types::build::*;\nuse crate::types::*;\n\n");
    let _ = writeln!(s, "/// The `{name}` service model.");
    s.push_str("pub(crate) static SERVICE: Service = Service {\n");
    let _ = writeln!(s, "    name: {},", lit(name));
    let _ = writeln!(
        s,
        "    service_id: {},",
        lit(str_field(meta, "serviceId").unwrap_or(name))
    );
    let _ = writeln!(s, "    protocol: {protocol},");
    let _ = writeln!(
        s,
        "    api_version: {},",
        lit(str_field(meta, "apiVersion").ok_or("no apiVersion")?)
    );
    let _ = writeln!(s, "    signing_name: {},", lit(signing_name));
    let _ = writeln!(s, "    endpoint_prefix: {},", lit(endpoint_prefix));
    let _ = writeln!(
        s,
        "    target_prefix: {},",
        opt_lit(str_field(meta, "targetPrefix"))
    );
    let _ = writeln!(
        s,
        "    json_version: {},",
        opt_lit(str_field(meta, "jsonVersion"))
    );
    let _ = writeln!(
        s,
        "    xml_namespace: {},",
        opt_lit(
            str_field(meta, "xmlNamespace")
                .map(str::to_string)
                .or_else(|| payload_namespace(shapes))
                .as_deref()
        )
    );
    s.push_str("    operations: &OPERATIONS,\n    shapes: &SHAPES,\n    errors: &ERRORS,\n};\n\n");

    // Operations, sorted by name.
    let mut op_names: Vec<&String> = operations.keys().collect();
    op_names.sort_unstable();
    let _ = writeln!(s, "static OPERATIONS: [Operation; {}] = [", op_names.len());
    for op_name in op_names.iter().copied() {
        let op = obj(&operations[op_name.as_str()], op_name)?;
        let input = match op.get("input") {
            Some(i) => format!("Some({})", id_of(i, op_name)?),
            None => "None".into(),
        };
        let (output, wrapper) = match op.get("output") {
            Some(o) => (
                format!("Some({})", id_of(o, op_name)?),
                opt_lit(o.get("resultWrapper").and_then(Value::as_str)),
            ),
            None => ("None".into(), "None".into()),
        };
        let mut errs = Vec::new();
        for e in op
            .get("errors")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            errs.push(id_of(e, op_name)?.to_string());
        }
        let unsigned = str_field(op, "authtype") == Some("none")
            || op
                .get("auth")
                .and_then(Value::as_array)
                .is_some_and(|a| a.iter().any(|x| x.as_str() == Some("smithy.api#noAuth")));
        let mut http = String::new();
        if rest {
            let h = op
                .get("http")
                .and_then(Value::as_object)
                .ok_or_else(|| format!("{op_name}: no http binding"))?;
            let method = str_field(h, "method").ok_or_else(|| format!("{op_name}: no method"))?;
            let uri =
                str_field(h, "requestUri").ok_or_else(|| format!("{op_name}: no requestUri"))?;
            let status = h.get("responseCode").and_then(Value::as_u64).unwrap_or(200);
            let _ = write!(http, ".http({}, {}, {status})", lit(method), lit(uri));
        }
        let streams = |io: &str| -> bool {
            op.get(io)
                .and_then(|r| r.get("shape"))
                .and_then(Value::as_str)
                .is_some_and(|n| streaming_payload(shapes, n))
        };
        let (stream_in, stream_out) = (streams("input"), streams("output"));
        if stream_in || stream_out {
            let _ = write!(http, ".stream({stream_in}, {stream_out})");
        }
        let checksum = op
            .get("httpChecksum")
            .and_then(|c| c.get("requestChecksumRequired"))
            .and_then(Value::as_bool)
            == Some(true)
            || op.get("httpChecksumRequired").and_then(Value::as_bool) == Some(true);
        if checksum {
            http.push_str(".checksum()");
        }
        if op.get("deprecated").and_then(Value::as_bool) == Some(true) {
            http.push_str(".deprecated()");
        }
        let _ = writeln!(
            s,
            "    op({}, {input}, {output}, {wrapper}, &[{}], {unsigned}){http},",
            lit(op_name),
            errs.join(", ")
        );
    }
    s.push_str("];\n\n");
    s.push_str(&generate_op_enum(name, &op_names));

    // Shapes, sorted by name; the index is the ShapeId.
    let _ = writeln!(s, "static SHAPES: [Shape; {}] = [", names.len());
    let mut errors: Vec<(String, usize, u16, bool)> = Vec::new();
    for (id, shape_name) in names.iter().enumerate() {
        let sh = obj(&shapes[*shape_name], shape_name)?;
        let ty = str_field(sh, "type").ok_or_else(|| format!("{shape_name}: no type"))?;
        let kind = match ty {
            "structure" => {
                let required: Vec<&str> = sh
                    .get("required")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .filter_map(Value::as_str)
                    .collect();
                let mut ms = Vec::new();
                let payload = str_field(sh, "payload");
                if let Some(members) = sh.get("members").and_then(Value::as_object) {
                    for (mname, mv) in members {
                        let mut m = format!("m({}, {})", lit(mname), id_of(mv, mname)?);
                        if required.contains(&mname.as_str()) {
                            m.push_str(".req()");
                        }
                        let loc_name = mv.get("locationName").and_then(Value::as_str);
                        let location = match str_field(obj(mv, mname)?, "location") {
                            None if payload == Some(mname.as_str()) => Some("Payload"),
                            None => None,
                            Some("uri") => Some("Uri"),
                            Some("querystring") => Some("Query"),
                            Some("header") => Some("Header"),
                            Some("headers") => Some("Headers"),
                            Some("statusCode") => Some("StatusCode"),
                            Some(other) => return Err(format!("{mname}: location {other}")),
                        };
                        if let Some(location) = location {
                            let _ = write!(
                                m,
                                ".at(Location::{location}, {})",
                                lit(loc_name.unwrap_or(mname))
                            );
                        } else if let Some(loc) = loc_name {
                            let _ = write!(m, ".loc({})", lit(loc));
                        }
                        if mv.get("flattened").and_then(Value::as_bool) == Some(true) {
                            m.push_str(".flat()");
                        }
                        if mv.get("idempotencyToken").and_then(Value::as_bool) == Some(true) {
                            m.push_str(".idem()");
                        }
                        if let Some(ns) = mv
                            .get("xmlNamespace")
                            .and_then(|n| n.get("uri"))
                            .and_then(Value::as_str)
                        {
                            let _ = write!(m, ".ns({})", lit(ns));
                        }
                        if mv.get("xmlAttribute").and_then(Value::as_bool) == Some(true) {
                            m.push_str(".attr()");
                        }
                        if mv.get("streaming").and_then(Value::as_bool) == Some(true)
                            || shapes
                                .get(mv.get("shape").and_then(Value::as_str).unwrap_or(""))
                                .and_then(|t| t.get("streaming"))
                                .and_then(Value::as_bool)
                                == Some(true)
                        {
                            m.push_str(".stream()");
                        }
                        if mv.get("requiresLength").and_then(Value::as_bool) == Some(true) {
                            m.push_str(".sized()");
                        }
                        ms.push(m);
                    }
                }
                if sh.get("exception").and_then(Value::as_bool) == Some(true) {
                    let err = sh.get("error").and_then(Value::as_object);
                    let code = err
                        .and_then(|e| str_field(e, "code"))
                        .unwrap_or(shape_name)
                        .to_string();
                    let fault = sh.get("fault").and_then(Value::as_bool) == Some(true);
                    let status = err
                        .and_then(|e| e.get("httpStatusCode"))
                        .and_then(Value::as_u64)
                        .map(|v| v as u16)
                        .unwrap_or(if fault { 500 } else { 400 });
                    let sender = err
                        .and_then(|e| e.get("senderFault"))
                        .and_then(Value::as_bool)
                        .unwrap_or(!fault && status < 500);
                    errors.push((code, id, status, sender));
                }
                if sh.get("document").and_then(Value::as_bool) == Some(true) {
                    "ShapeKind::Document".to_string()
                } else {
                    format!("ShapeKind::Structure(&[{}])", ms.join(", "))
                }
            }
            "list" => {
                let member = sh
                    .get("member")
                    .ok_or_else(|| format!("{shape_name}: no member"))?;
                let mid = id_of(member, shape_name)?;
                let loc = member.get("locationName").and_then(Value::as_str);
                let flat = sh.get("flattened").and_then(Value::as_bool) == Some(true);
                if loc.is_none() && !flat {
                    format!("list({mid})")
                } else {
                    format!("list_x({mid}, {}, {flat})", opt_lit(loc))
                }
            }
            "map" => {
                let key = sh
                    .get("key")
                    .ok_or_else(|| format!("{shape_name}: no key"))?;
                let value = sh
                    .get("value")
                    .ok_or_else(|| format!("{shape_name}: no value"))?;
                let (k, v) = (id_of(key, shape_name)?, id_of(value, shape_name)?);
                let kl = key.get("locationName").and_then(Value::as_str);
                let vl = value.get("locationName").and_then(Value::as_str);
                let flat = sh.get("flattened").and_then(Value::as_bool) == Some(true);
                if kl.is_none() && vl.is_none() && !flat {
                    format!("map({k}, {v})")
                } else {
                    format!("map_x({k}, {v}, {}, {}, {flat})", opt_lit(kl), opt_lit(vl))
                }
            }
            "string" => "ShapeKind::String".into(),
            "integer" => "ShapeKind::Integer".into(),
            "long" => "ShapeKind::Long".into(),
            "float" => "ShapeKind::Float".into(),
            "double" => "ShapeKind::Double".into(),
            "boolean" => "ShapeKind::Boolean".into(),
            "blob" => "ShapeKind::Blob".into(),
            "timestamp" => match str_field(sh, "timestampFormat") {
                None => "ShapeKind::Timestamp(None)".into(),
                Some("iso8601") => "ShapeKind::Timestamp(Some(TimestampFormat::Iso8601))".into(),
                Some("unixTimestamp") => {
                    "ShapeKind::Timestamp(Some(TimestampFormat::UnixTimestamp))".into()
                }
                Some("rfc822") => "ShapeKind::Timestamp(Some(TimestampFormat::Rfc822))".into(),
                Some(f) => return Err(format!("{shape_name}: timestamp format {f}")),
            },
            other => return Err(format!("{shape_name}: unsupported type {other}")),
        };
        let mut line = format!("    shape({}, {kind})", lit(shape_name));
        for key in ["min", "max"] {
            if let Some(v) = sh.get(key) {
                let n = v
                    .as_i64()
                    .or_else(|| v.as_f64().map(|f| f as i64))
                    .ok_or_else(|| format!("{shape_name}: {key} not a number"))?;
                let _ = write!(line, ".{key}({n})");
            }
        }
        if let Some(p) = str_field(sh, "pattern") {
            let _ = write!(line, ".pattern({})", lit(p));
        }
        if let Some(e) = sh.get("enum").and_then(Value::as_array) {
            let vals: Vec<String> = e.iter().filter_map(Value::as_str).map(lit).collect();
            let _ = write!(line, ".enums(&[{}])", vals.join(", "));
        }
        if sh.get("sensitive").and_then(Value::as_bool) == Some(true) {
            line.push_str(".sensitive()");
        }
        let _ = writeln!(s, "{line},");
    }
    s.push_str("];\n\n");

    errors.sort_by(|a, b| a.0.cmp(&b.0));
    errors.dedup_by(|b, a| {
        if a.0 == b.0 {
            eprintln!(
                "{name}: error code {} used by two shapes; keeping the first",
                a.0
            );
            true
        } else {
            false
        }
    });
    let _ = writeln!(s, "static ERRORS: [ErrorInfo; {}] = [", errors.len());
    for (code, id, status, sender) in &errors {
        let _ = writeln!(s, "    err({}, {id}, {status}, {sender}),", lit(code));
    }
    s.push_str("];\n");
    Ok(s)
}
