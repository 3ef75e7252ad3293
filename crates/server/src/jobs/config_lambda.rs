//! AWS Config's custom Lambda rules: the invocations their triggers queued are sent through
//! the registered Lambda hooks ([`super::lambda_hooks`]) every second; the functions answer
//! with `PutEvaluations` through the one request path, with their own credentials.

use std::time::Duration;

use rampart_services::config::lambda_run::{InvokeError, InvokeFuture, Invoker};
use rampart_store::Lease;
use serde_json::Value;

use super::lambda_hooks::{HookError, Hooks, INVOKE_TIMEOUT};
use super::{Job, Scope, StepFuture};
use crate::app::App;

/// The job's name.
pub const NAME: &str = "config-lambda";

/// Config's custom Lambda rule invocations.
#[derive(Debug)]
pub struct ConfigLambda;

impl Job for ConfigLambda {
    fn name(&self) -> &'static str {
        NAME
    }

    fn scope(&self) -> Scope {
        Scope::Cluster
    }

    /// Short: a change reaches the rule's function within about a second of being recorded.
    fn period(&self) -> Duration {
        Duration::from_secs(1)
    }

    fn step<'a>(&'a self, app: &'a App, lease: Option<&'a Lease>) -> StepFuture<'a> {
        Box::pin(async move {
            let invoker = HookInvoker(&app.lambda_hooks);
            let sent = rampart_services::config::lambda_run::run_due(
                &app.store,
                app.clock.now(),
                lease,
                &invoker,
            )
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?;
            if sent > 0 {
                tracing::info!(sent, "config rule invocations sent");
            }
            Ok(())
        })
    }
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
