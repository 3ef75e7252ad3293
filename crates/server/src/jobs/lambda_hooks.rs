//! Lambda hooks: a Lambda ARN registered by the operator (`rampart serve --lambda-hook ARN=URL`,
//! or the older `--rotation-hook`) names an HTTP endpoint, and every invocation Rampart makes
//! of that function POSTs it the event JSON the Lambda would receive. A 2xx answer is success;
//! any other status, a refused connection or no answer within [`INVOKE_TIMEOUT`] is a failure,
//! with the body (a Lambda error's `errorMessage` and `errorType` when it is one) as the
//! reason. One registry serves every caller: Secrets Manager's rotation steps and AWS Config's
//! custom Lambda rules. Only the operator registers hooks: no API call can make Rampart send
//! requests elsewhere.

use std::{collections::HashMap, time::Duration};

use rampart_services::secretsmanager::rotation_run::{Rotator, StepCall, StepFuture};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
};

/// Longest an invocation may take.
pub const INVOKE_TIMEOUT: Duration = Duration::from_secs(30);
/// Most bytes of an answer read.
const MAX_ANSWER: u64 = 64 * 1024;

/// The registered hooks: Lambda ARN to URL.
#[derive(Debug, Clone, Default)]
pub struct Hooks {
    urls: HashMap<String, Url>,
}

/// Why an invocation failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HookError {
    /// The ARN is not registered.
    NotRegistered,
    /// No answer within [`INVOKE_TIMEOUT`].
    Timeout,
    /// The endpoint could not be reached.
    Unreachable(String),
    /// The function answered with a non-2xx status: the status, the error type of a Lambda
    /// error answer (`errorType`) and the message.
    Failed {
        status: u16,
        error_type: Option<String>,
        message: String,
    },
}

/// An `http://host:port/path` URL.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Url {
    authority: String,
    path: String,
}

fn parse_url(url: &str) -> Option<Url> {
    let rest = url.strip_prefix("http://")?;
    let (authority, path) = match rest.find('/') {
        Some(i) => (rest.get(..i)?, rest.get(i..)?),
        None => (rest, "/"),
    };
    if authority.is_empty()
        || authority.contains(char::is_whitespace)
        || path.contains(char::is_whitespace)
    {
        return None;
    }
    let authority = if authority.contains(':') {
        authority.to_string()
    } else {
        format!("{authority}:80")
    };
    Some(Url {
        authority,
        path: path.to_string(),
    })
}

impl Hooks {
    /// The hooks of `--lambda-hook` and `--rotation-hook` entries (`ARN=URL`); an entry that
    /// does not parse is an error naming it.
    pub fn parse(entries: &[String]) -> anyhow::Result<Hooks> {
        let mut urls = HashMap::new();
        for entry in entries.iter().filter(|e| !e.trim().is_empty()) {
            let parsed = entry
                .split_once('=')
                .filter(|(arn, _)| {
                    rampart_services::Partition::of_arn(arn)
                        .is_some_and(|p| p.strip_arn(arn, "lambda").is_some())
                })
                .and_then(|(arn, url)| Some((arn.trim().to_string(), parse_url(url.trim())?)));
            let builtin = parsed.as_ref().is_some_and(|(arn, _)| {
                super::rotation_builtin::function_name(arn)
                    .is_some_and(|n| n.starts_with(super::rotation_builtin::BUILTIN_PREFIX))
            });
            if builtin {
                anyhow::bail!(
                    "--lambda-hook {entry:?}: function names starting with {} are Rampart's built-in strategies",
                    super::rotation_builtin::BUILTIN_PREFIX
                );
            }
            let Some((arn, url)) = parsed else {
                anyhow::bail!(
                    "--lambda-hook {entry:?}: expected arn:PARTITION:lambda:REGION:ACCOUNT:function:NAME=http://HOST:PORT/PATH"
                );
            };
            urls.insert(arn, url);
        }
        Ok(Hooks { urls })
    }

    /// Invokes the function `arn` with `event`.
    pub async fn invoke(&self, arn: &str, event: &serde_json::Value) -> Result<(), HookError> {
        let url = self.urls.get(arn).ok_or(HookError::NotRegistered)?;
        let body = event.to_string();
        let request = format!(
            "POST {} HTTP/1.1\r\nHost: {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            url.path,
            url.authority,
            body.len()
        );
        let exchange = async {
            let mut stream = TcpStream::connect(&url.authority).await?;
            stream.write_all(request.as_bytes()).await?;
            let mut answer = Vec::new();
            stream.take(MAX_ANSWER).read_to_end(&mut answer).await?;
            Ok::<_, std::io::Error>(answer)
        };
        let answer = match tokio::time::timeout(INVOKE_TIMEOUT, exchange).await {
            Err(_) => return Err(HookError::Timeout),
            Ok(Err(err)) => return Err(HookError::Unreachable(err.to_string())),
            Ok(Ok(answer)) => String::from_utf8_lossy(&answer).into_owned(),
        };
        let (head, body) = answer
            .split_once("\r\n\r\n")
            .unwrap_or((answer.as_str(), ""));
        let status = head
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse::<u16>().ok())
            .unwrap_or(0);
        if (200..300).contains(&status) {
            return Ok(());
        }
        let parsed = serde_json::from_str::<serde_json::Value>(body.trim()).ok();
        let field = |name: &str| {
            parsed
                .as_ref()
                .and_then(|v| v.get(name))
                .and_then(|m| m.as_str())
                .map(str::to_string)
        };
        Err(HookError::Failed {
            status,
            error_type: field("errorType"),
            message: field("errorMessage").unwrap_or_else(|| body.trim().to_string()),
        })
    }

    /// A rotation step: the hook's failure in Secrets Manager's words.
    async fn rotation_step(&self, call: &StepCall) -> Result<(), String> {
        self.invoke(&call.lambda_arn, &call.event())
            .await
            .map_err(|err| match err {
                HookError::NotRegistered => format!(
                    "Secrets Manager cannot invoke the specified Lambda function: {} is not registered with Rampart (rampart serve --lambda-hook ARN=URL).",
                    call.lambda_arn
                ),
                HookError::Timeout => format!(
                    "The rotation function timed out after {} seconds.",
                    INVOKE_TIMEOUT.as_secs()
                ),
                HookError::Unreachable(err) => {
                    format!("The rotation function could not be reached: {err}.")
                }
                HookError::Failed {
                    status, message, ..
                } => format!("The rotation function failed (HTTP {status}): {message}"),
            })
    }
}

impl Rotator for Hooks {
    fn step<'a>(&'a self, call: &'a StepCall) -> StepFuture<'a> {
        Box::pin(self.rotation_step(call))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hooks_parse_arn_and_url() {
        let hooks = Hooks::parse(&[
            "arn:aws:lambda:us-east-1:123456789012:function:rotate=http://127.0.0.1:9000/hook"
                .into(),
            "arn:aws:lambda:us-east-1:123456789012:function:other=http://localhost".into(),
        ])
        .unwrap();
        assert_eq!(
            hooks.urls["arn:aws:lambda:us-east-1:123456789012:function:rotate"],
            Url {
                authority: "127.0.0.1:9000".into(),
                path: "/hook".into()
            }
        );
        assert_eq!(
            hooks.urls["arn:aws:lambda:us-east-1:123456789012:function:other"].authority,
            "localhost:80"
        );
        assert!(Hooks::parse(&["nope=http://x".into()]).is_err());
        assert!(Hooks::parse(&["arn:aws:lambda:r:a:function:f=https://x".into()]).is_err());
    }
}
