//! AWS Config's custom Lambda rules: the invocations their triggers queued are sent through
//! the registered Lambda hooks ([`super::lambda_hooks`]) every second; the functions answer
//! with `PutEvaluations` through the one request path, with their own credentials.

use std::time::Duration;

use chrono::{DateTime, Utc};
use rampart_services::config::lambda_run::{self, InvokeError, InvokeFuture, Invoker};
use rampart_store::Lease;
use serde_json::Value;

use super::due::{DueJob, RoundFuture};
use super::lambda_hooks::{HookError, Hooks, INVOKE_TIMEOUT};
use crate::app::App;

/// The job's name.
pub const NAME: &str = "config-lambda";

/// Config's custom Lambda rule invocations, every second: a change reaches the rule's
/// function within about a second of being recorded.
pub const JOB: DueJob = DueJob::new(
    NAME,
    Duration::from_secs(1),
    "config rule invocations sent",
    round,
);

fn round<'a>(app: &'a App, now: DateTime<Utc>, lease: Option<&'a Lease>) -> RoundFuture<'a> {
    Box::pin(async move {
        let invoker = HookInvoker(&app.lambda_hooks);
        let sent = lambda_run::run_due(&app.store, now, lease, &invoker).await?;
        Ok(vec![("sent", sent)])
    })
}

/// The hooks as Config's invoker: a failure in the words of Lambda's `Invoke` errors.
struct HookInvoker<'a>(&'a Hooks);

/// A hook's failure as the rule's status shows it.
fn invoke_error(arn: &str, err: HookError) -> InvokeError {
    let (code, message) = match err {
        HookError::NotRegistered => (
            "ResourceNotFoundException".to_string(),
            format!(
                "Function not found: {arn} (not registered with Rampart: rampart serve --lambda-hook ARN=URL)."
            ),
        ),
        HookError::Timeout => (
            "TimeoutException".to_string(),
            format!(
                "The function did not answer within {} seconds.",
                INVOKE_TIMEOUT.as_secs()
            ),
        ),
        HookError::Unreachable(reason) => (
            "ServiceException".to_string(),
            format!("The function could not be reached: {reason}."),
        ),
        HookError::Failed {
            status,
            error_type,
            message,
        } => (
            error_type.unwrap_or_else(|| "Unhandled".to_string()),
            format!("The function failed (HTTP {status}): {message}"),
        ),
    };
    InvokeError { code, message }
}

impl Invoker for HookInvoker<'_> {
    fn invoke<'a>(&'a self, arn: &'a str, event: &'a Value) -> InvokeFuture<'a> {
        Box::pin(async move {
            self.0
                .invoke(arn, event)
                .await
                .map_err(|e| invoke_error(arn, e))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failures_carry_lambda_codes() {
        let arn = "arn:aws:lambda:us-east-1:123456789012:function:f";
        assert_eq!(
            invoke_error(arn, HookError::NotRegistered).code,
            "ResourceNotFoundException"
        );
        let failed = invoke_error(
            arn,
            HookError::Failed {
                status: 500,
                error_type: Some("KeyError".into()),
                message: "boom".into(),
            },
        );
        assert_eq!(failed.code, "KeyError");
        assert!(failed.message.contains("boom"));
    }
}
