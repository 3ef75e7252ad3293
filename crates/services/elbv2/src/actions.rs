//! Listener actions (`forward`, `fixed-response`, `redirect`) and rule conditions
//! (`path-pattern`, `host-header`): validated from their AWS shapes, and matched against a
//! request by the listener runtime.

use serde_json::Value;

use crate::error::{ElbError, ElbResult};

/// An action the listener takes for a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Forward to target groups (`ForwardConfig.TargetGroups` or `TargetGroupArn`), by weight.
    Forward(Vec<(String, u32)>),
    /// Answer with a fixed response.
    Fixed {
        /// `StatusCode`.
        status: u16,
        /// `ContentType`.
        content_type: Option<String>,
        /// `MessageBody`.
        body: Option<String>,
    },
    /// Redirect (`#{host}`, `#{path}`, `#{port}`, `#{protocol}`, `#{query}` are kept).
    Redirect {
        /// `Protocol`.
        protocol: String,
        /// `Port`.
        port: String,
        /// `Host`.
        host: String,
        /// `Path`.
        path: String,
        /// `Query`.
        query: String,
        /// 301 or 302.
        status: u16,
    },
}

fn s<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    v.get(key).and_then(Value::as_str)
}

fn bad_action(msg: impl Into<String>) -> ElbError {
    ElbError::InvalidLoadBalancerAction(msg.into())
}

/// The action an `Action` shape describes, checked as AWS checks it. Target groups are
/// returned for the caller to check they exist.
pub fn parse_action(v: &Value) -> ElbResult<Action> {
    match s(v, "Type").unwrap_or_default() {
        "forward" => {
            let mut groups = Vec::new();
            if let Some(arn) = s(v, "TargetGroupArn") {
                groups.push((arn.to_string(), 1));
            }
            let listed = v
                .get("ForwardConfig")
                .and_then(|f| f.get("TargetGroups"))
                .and_then(Value::as_array);
            for g in listed.into_iter().flatten() {
                let Some(arn) = s(g, "TargetGroupArn") else {
                    continue;
                };
                let weight = g.get("Weight").and_then(Value::as_u64).unwrap_or(1);
                if !groups.iter().any(|(a, _)| a == arn) {
                    groups.push((arn.to_string(), u32::try_from(weight).unwrap_or(1)));
                }
            }
            if groups.is_empty() {
                return Err(ElbError::invalid(
                    "A target group ARN must be specified for a forward action",
                ));
            }
            Ok(Action::Forward(groups))
        }
        "fixed-response" => {
            let cfg = v.get("FixedResponseConfig").ok_or_else(|| {
                ElbError::invalid(
                    "A fixed response config must be specified for a fixed-response action",
                )
            })?;
            let code = s(cfg, "StatusCode").unwrap_or_default();
            let status = code
                .parse::<u16>()
                .ok()
                .filter(|c| matches!(c / 100, 2 | 4 | 5))
                .ok_or_else(|| bad_action(format!("Invalid status code '{code}'")))?;
            Ok(Action::Fixed {
                status,
                content_type: s(cfg, "ContentType").map(str::to_string),
                body: s(cfg, "MessageBody").map(str::to_string),
            })
        }
        "redirect" => {
            let cfg = v.get("RedirectConfig").ok_or_else(|| {
                ElbError::invalid("A redirect config must be specified for a redirect action")
            })?;
            let status = match s(cfg, "StatusCode").unwrap_or_default() {
                "HTTP_301" => 301,
                "HTTP_302" => 302,
                other => {
                    return Err(bad_action(format!(
                        "Invalid redirect status code '{other}'"
                    )))
                }
            };
            let protocol = s(cfg, "Protocol").unwrap_or("#{protocol}").to_string();
            if !matches!(protocol.as_str(), "#{protocol}" | "HTTP" | "HTTPS") {
                return Err(bad_action(format!(
                    "Invalid redirect protocol '{protocol}'"
                )));
            }
            Ok(Action::Redirect {
                protocol,
                port: s(cfg, "Port").unwrap_or("#{port}").to_string(),
                host: s(cfg, "Host").unwrap_or("#{host}").to_string(),
                path: s(cfg, "Path").unwrap_or("/#{path}").to_string(),
                query: s(cfg, "Query").unwrap_or("#{query}").to_string(),
                status,
            })
        }
        other => Err(bad_action(format!(
            "Action type '{other}' is not supported by Rampart (forward, fixed-response, redirect)"
        ))),
    }
}

/// The one routing action of a list (AWS orders actions by `Order`; the last one routes).
pub fn parse_actions(list: &[Value]) -> ElbResult<Action> {
    if list.is_empty() {
        return Err(ElbError::invalid("At least one action must be specified"));
    }
    if list.len() > 1 {
        return Err(ElbError::invalid(
            "Rampart takes one action per rule or listener (forward, fixed-response or redirect)",
        ));
    }
    list.first()
        .map(parse_action)
        .unwrap_or_else(|| Err(ElbError::invalid("At least one action must be specified")))
}

/// A rule condition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Condition {
    /// `path-pattern`: the path matches one of the patterns (case-sensitive, `*` and `?`).
    Path(Vec<String>),
    /// `host-header`: the host matches one of the patterns (case-insensitive).
    Host(Vec<String>),
}

impl Condition {
    /// Whether a request with this host (port stripped) and path meets the condition.
    pub fn matches(&self, host: &str, path: &str) -> bool {
        match self {
            Condition::Path(p) => p.iter().any(|p| wildcard(p.as_bytes(), path.as_bytes())),
            Condition::Host(p) => {
                let host = host.to_ascii_lowercase();
                p.iter()
                    .any(|p| wildcard(p.to_ascii_lowercase().as_bytes(), host.as_bytes()))
            }
        }
    }
}

/// A `Condition` shape, checked.
pub fn parse_condition(v: &Value) -> ElbResult<Condition> {
    let field = s(v, "Field").unwrap_or_default();
    let config = match field {
        "path-pattern" => "PathPatternConfig",
        "host-header" => "HostHeaderConfig",
        other => {
            return Err(ElbError::invalid(format!(
                "Condition field '{other}' is not supported by Rampart (path-pattern, host-header)"
            )))
        }
    };
    let mut values: Vec<String> = v
        .get(config)
        .and_then(|c| c.get("Values"))
        .or_else(|| v.get("Values"))
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default();
    values.dedup();
    if values.is_empty() {
        return Err(ElbError::invalid(format!(
            "A condition value must be specified for the '{field}' field"
        )));
    }
    if values.iter().any(|p| p.len() > 128) {
        return Err(ElbError::invalid(
            "A condition value cannot exceed 128 characters",
        ));
    }
    Ok(match field {
        "path-pattern" => Condition::Path(values),
        _ => Condition::Host(values),
    })
}

/// Glob matching with `*` (any run) and `?` (one byte), iterative with backtracking to the
/// last star: linear in practice, never exponential.
pub fn wildcard(pattern: &[u8], text: &[u8]) -> bool {
    let (mut p, mut t) = (0usize, 0usize);
    let mut star: Option<(usize, usize)> = None;
    while t < text.len() {
        match pattern.get(p) {
            Some(b'*') => {
                star = Some((p, t));
                p += 1;
            }
            Some(&c) if c == b'?' || Some(&c) == text.get(t) => {
                p += 1;
                t += 1;
            }
            _ => match star {
                Some((sp, st)) => {
                    p = sp + 1;
                    t = st + 1;
                    star = Some((sp, st + 1));
                }
                None => return false,
            },
        }
    }
    pattern
        .get(p..)
        .is_some_and(|rest| rest.iter().all(|&c| c == b'*'))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn globs_match_as_alb_does() {
        assert!(wildcard(b"/api/*", b"/api/x/y"));
        assert!(!wildcard(b"/api/*", b"/apix"));
        assert!(wildcard(b"/img/?.png", b"/img/a.png"));
        assert!(!wildcard(b"/img/?.png", b"/img/ab.png"));
        assert!(wildcard(b"*", b""));
        assert!(wildcard(b"*.example.com", b"www.example.com"));
        assert!(Condition::Host(vec!["*.Example.com".into()]).matches("A.example.COM", "/"));
        assert!(!Condition::Path(vec!["/A".into()]).matches("h", "/a"));
    }

    #[test]
    fn actions_are_checked() {
        let f = parse_action(&json!({"Type": "fixed-response",
            "FixedResponseConfig": {"StatusCode": "418", "MessageBody": "tea"}}))
        .unwrap();
        assert_eq!(
            f,
            Action::Fixed {
                status: 418,
                content_type: None,
                body: Some("tea".into())
            }
        );
        let e = parse_action(&json!({"Type": "fixed-response",
            "FixedResponseConfig": {"StatusCode": "302"}}))
        .unwrap_err();
        assert_eq!(e.code(), "InvalidLoadBalancerAction");
        let e = parse_action(&json!({"Type": "forward"})).unwrap_err();
        assert_eq!(e.code(), "ValidationError");
        let r = parse_action(&json!({"Type": "redirect",
            "RedirectConfig": {"StatusCode": "HTTP_301", "Host": "example.com"}}))
        .unwrap();
        assert!(matches!(r, Action::Redirect { status: 301, .. }));
        let c = parse_condition(&json!({"Field": "path-pattern", "Values": ["/a/*"]})).unwrap();
        assert!(c.matches("h", "/a/b"));
        assert!(parse_condition(&json!({"Field": "source-ip"})).is_err());
    }
}
