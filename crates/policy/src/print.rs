//! Printing a compiled policy back to JSON (canonical element order, values as written).

use serde_json::{Map, Value};

use crate::document::{Effect, Policy};

fn list(raw: &[String], single: bool) -> Value {
    if let (true, [one]) = (single, raw) {
        Value::String(one.clone())
    } else {
        Value::Array(raw.iter().cloned().map(Value::String).collect())
    }
}

/// The policy as a JSON document.
pub fn to_json(p: &Policy) -> Value {
    let mut top = Map::new();
    if p.version_given {
        top.insert("Version".into(), Value::String(p.version.as_str().into()));
    }
    if let Some(id) = &p.id {
        top.insert("Id".into(), Value::String(id.clone()));
    }
    let stmts: Vec<Value> = p
        .statements
        .iter()
        .map(|s| {
            let mut m = Map::new();
            if let Some(sid) = &s.sid {
                m.insert("Sid".into(), Value::String(sid.clone()));
            }
            let eff = match s.effect {
                Effect::Allow => "Allow",
                Effect::Deny => "Deny",
            };
            m.insert("Effect".into(), Value::String(eff.into()));
            if let Some(pr) = &s.principal {
                let k = if pr.negated {
                    "NotPrincipal"
                } else {
                    "Principal"
                };
                m.insert(k.into(), pr.raw.clone());
            }
            let k = if s.action.negated {
                "NotAction"
            } else {
                "Action"
            };
            m.insert(k.into(), list(&s.action.raw, s.action.single));
            if let Some(r) = &s.resource {
                let k = if r.negated { "NotResource" } else { "Resource" };
                m.insert(k.into(), list(&r.raw, r.single));
            }
            if let Some(c) = &s.condition_raw {
                m.insert("Condition".into(), c.clone());
            }
            Value::Object(m)
        })
        .collect();
    let statement = if p.single_statement && stmts.len() == 1 {
        stmts.into_iter().next().unwrap_or(Value::Null)
    } else {
        Value::Array(stmts)
    };
    top.insert("Statement".into(), statement);
    Value::Object(top)
}
