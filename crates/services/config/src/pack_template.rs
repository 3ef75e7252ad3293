//! Conformance pack templates: CloudFormation (YAML or JSON) whose `Resources` are
//! `AWS::Config::ConfigRule`s, turned into `PutConfigRule`'s `ConfigRule` members with the
//! template's `Parameters` (their `Default`s, then the pack's input parameters) put in place of
//! each `Ref`.

use std::collections::BTreeMap;

use serde_json::{json, Map, Value};

use crate::error::{ConfigError, ConfigResult};

/// AWS's limit on a rule's name.
const MAX_RULE_NAME: usize = 128;

/// The template-validation error.
pub fn template_error(msg: impl Into<String>) -> ConfigError {
    ConfigError::ConformancePackTemplateValidationException(msg.into())
}

/// A YAML value as JSON, CloudFormation's short tags (`!Ref X`, `!Sub ...`) in their long
/// form (`{"Ref": "X"}`, `{"Fn::Sub": ...}`).
fn to_json(v: serde_yaml::Value) -> ConfigResult<Value> {
    use serde_yaml::Value as Y;
    Ok(match v {
        Y::Null => Value::Null,
        Y::Bool(b) => json!(b),
        Y::Number(n) => {
            if let Some(i) = n.as_i64() {
                json!(i)
            } else if let Some(f) = n.as_f64() {
                json!(f)
            } else {
                json!(n.to_string())
            }
        }
        Y::String(s) => json!(s),
        Y::Sequence(items) => {
            Value::Array(items.into_iter().map(to_json).collect::<Result<_, _>>()?)
        }
        Y::Mapping(m) => {
            let mut out = Map::new();
            for (k, v) in m {
                let key = match k {
                    Y::String(s) => s,
                    other => serde_yaml::to_string(&other)
                        .map_err(|_| template_error("A template key is not valid."))?
                        .trim()
                        .to_string(),
                };
                out.insert(key, to_json(v)?);
            }
            Value::Object(out)
        }
        Y::Tagged(t) => {
            let tag = t.tag.to_string();
            let name = tag.trim_start_matches('!');
            let key = if name == "Ref" {
                "Ref".to_string()
            } else {
                format!("Fn::{name}")
            };
            json!({ key: to_json(t.value)? })
        }
    })
}

/// Replaces each `{"Ref": P}` with the parameter's value; any other intrinsic is refused.
fn resolve(v: Value, params: &BTreeMap<String, String>) -> ConfigResult<Value> {
    Ok(match v {
        Value::Object(m) => {
            if m.len() == 1 {
                if let Some(Value::String(p)) = m.get("Ref") {
                    return params.get(p).map(|s| json!(s)).ok_or_else(|| {
                        template_error(format!("Unresolved resource dependencies [{p}] in the Resources block of the template"))
                    });
                }
                if let Some(k) = m.keys().find(|k| k.starts_with("Fn::")) {
                    return Err(template_error(format!(
                        "The intrinsic function {k} is not supported in conformance pack templates by Rampart."
                    )));
                }
            }
            let mut out = Map::new();
            for (k, v) in m {
                out.insert(k, resolve(v, params)?);
            }
            Value::Object(out)
        }
        Value::Array(a) => Value::Array(
            a.into_iter()
                .map(|v| resolve(v, params))
                .collect::<Result<_, _>>()?,
        ),
        other => other,
    })
}

/// The template's rules as `PutConfigRule`'s `ConfigRule` members, named with `suffix`.
pub fn template_rules(template: &str, given: &Value, suffix: &str) -> ConfigResult<Vec<Value>> {
    let yaml: serde_yaml::Value = serde_yaml::from_str(template)
        .map_err(|e| template_error(format!("Template is not valid YAML or JSON: {e}")))?;
    let t = to_json(yaml)?;
    let mut params = BTreeMap::new();
    if let Some(declared) = t.get("Parameters").and_then(Value::as_object) {
        for (name, p) in declared {
            if let Some(d) = p.get("Default") {
                let text = d.as_str().map_or_else(|| d.to_string(), str::to_string);
                params.insert(name.clone(), text);
            }
        }
    }
    for p in given.as_array().into_iter().flatten() {
        let name = p
            .get("ParameterName")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let value = p
            .get("ParameterValue")
            .and_then(Value::as_str)
            .unwrap_or_default();
        if t.get("Parameters").and_then(|d| d.get(name)).is_none() {
            return Err(template_error(format!(
                "The parameter {name} is not declared in the template."
            )));
        }
        params.insert(name.to_string(), value.to_string());
    }
    let resources = t
        .get("Resources")
        .and_then(Value::as_object)
        .filter(|r| !r.is_empty())
        .ok_or_else(|| template_error("The template has no Resources."))?;
    let mut out = Vec::new();
    for (logical, r) in resources {
        let kind = r.get("Type").and_then(Value::as_str).unwrap_or_default();
        if kind != "AWS::Config::ConfigRule" {
            return Err(template_error(format!(
                "The resource {logical} of type {kind} is not supported; a conformance pack holds AWS::Config::ConfigRule resources."
            )));
        }
        let props = resolve(r.get("Properties").cloned().unwrap_or(json!({})), &params)?;
        let base = props
            .get("ConfigRuleName")
            .and_then(Value::as_str)
            .unwrap_or(logical);
        let name = format!("{base}-conformance-pack-{suffix}");
        if name.len() > MAX_RULE_NAME {
            return Err(template_error(format!(
                "The rule name {name} of {logical} is longer than {MAX_RULE_NAME} characters."
            )));
        }
        let mut rule = json!({ "ConfigRuleName": name });
        for member in [
            "Description",
            "MaximumExecutionFrequency",
            "Scope",
            "Source",
        ] {
            if let Some(v) = props.get(member) {
                crate::common::set(&mut rule, member, v.clone());
            }
        }
        match props.get("InputParameters") {
            Some(Value::Object(p)) => {
                crate::common::set(
                    &mut rule,
                    "InputParameters",
                    json!(Value::Object(p.clone()).to_string()),
                );
            }
            Some(Value::String(s)) => crate::common::set(&mut rule, "InputParameters", json!(s)),
            _ => {}
        }
        out.push(rule);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEMPLATE: &str = r#"
Parameters:
  MaxAge:
    Type: String
    Default: "90"
Resources:
  Versioning:
    Type: AWS::Config::ConfigRule
    Properties:
      ConfigRuleName: s3-bucket-versioning-enabled
      Source:
        Owner: AWS
        SourceIdentifier: S3_BUCKET_VERSIONING_ENABLED
  Keys:
    Type: "AWS::Config::ConfigRule"
    Properties:
      InputParameters:
        maxAccessKeyAge: !Ref MaxAge
      Source:
        Owner: AWS
        SourceIdentifier: ACCESS_KEYS_ROTATED
      MaximumExecutionFrequency: One_Hour
"#;

    #[test]
    fn templates_become_named_rules_with_parameters() {
        let given = json!([{"ParameterName": "MaxAge", "ParameterValue": "30"}]);
        let rules = template_rules(TEMPLATE, &given, "abcd1234").unwrap();
        assert_eq!(rules.len(), 2);
        assert_eq!(
            rules[0]["ConfigRuleName"],
            "s3-bucket-versioning-enabled-conformance-pack-abcd1234"
        );
        assert_eq!(rules[1]["ConfigRuleName"], "Keys-conformance-pack-abcd1234");
        assert_eq!(rules[1]["InputParameters"], r#"{"maxAccessKeyAge":"30"}"#);
        let defaults = template_rules(TEMPLATE, &json!([]), "x").unwrap();
        assert_eq!(
            defaults[1]["InputParameters"],
            r#"{"maxAccessKeyAge":"90"}"#
        );
    }

    #[test]
    fn bad_templates_are_refused() {
        for bad in [
            "Resources: [",
            "Parameters: {}",
            "Resources:\n  B:\n    Type: AWS::S3::Bucket\n",
            "Resources:\n  R:\n    Type: AWS::Config::ConfigRule\n    Properties:\n      InputParameters:\n        a: !Ref Missing\n",
        ] {
            assert!(matches!(
                template_rules(bad, &json!([]), "x"),
                Err(ConfigError::ConformancePackTemplateValidationException(_))
            ), "{bad}");
        }
        let undeclared = json!([{"ParameterName": "Nope", "ParameterValue": "1"}]);
        assert!(template_rules(TEMPLATE, &undeclared, "x").is_err());
    }
}
