//! The service registry: which operations exist, their authorization entries and handlers.
//!
//! Dispatch is a plain match over service names: the set of services is closed and known at
//! compile time, so a trait object would add indirection without adding freedom.

use rampart_store::Store;
use serde_json::Value;

use crate::{
    authz::{AuthzQuestion, AuthzRequest, CallerPolicies},
    cloudtrail,
    context::CallContext,
    db::Db,
    error::ServiceError,
    iam, kms, organizations,
    route::Route,
    secretsmanager, sts,
};

/// The table entry of a service written with [`crate::routes!`].
fn table_route(service: &str, operation: &str) -> Option<Route> {
    use rampart_model::ServiceOp as _;
    match service {
        "secretsmanager" => secretsmanager::route(secretsmanager::Op::from_name(operation)?),
        _ => None,
    }
}

/// How an operation touches state, which decides how its audit record is committed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Reads only (`readOnly: true` in CloudTrail); its record may be group-committed.
    Read,
    /// Changes state; it runs in one transaction with its audit record.
    Write,
}

impl Access {
    /// CloudTrail's read-only classification by operation name, for operations that are
    /// modelled but not built (their refusals are still audited).
    pub fn guess(operation: &str) -> Access {
        const READ_PREFIXES: &[&str] = &[
            "Get", "List", "Describe", "Lookup", "Simulate", "Generate", "Decode", "Batch",
        ];
        if READ_PREFIXES.iter().any(|p| operation.starts_with(p)) {
            Access::Read
        } else {
            Access::Write
        }
    }
}

/// One operation's entry in the registry.
#[derive(Debug, Clone, Copy)]
pub struct Dispatch {
    /// Whether the operation reads or writes.
    pub access: Access,
}

/// The registry of built operations.
#[derive(Debug, Default, Clone, Copy)]
pub struct Registry;

impl Registry {
    /// The entry for a built operation, or `None` when it is modelled but not built yet.
    pub fn lookup(&self, service: &str, operation: &str) -> Option<Dispatch> {
        let access = match service {
            "sts" => sts::access(operation)?,
            "iam" => iam::access(operation)?,
            "cloudtrail" => cloudtrail::access(operation)?,
            "kms" => kms::access(operation)?,
            "organizations" => organizations::access(operation)?,
            _ => table_route(service, operation)?.access,
        };
        Some(Dispatch { access })
    }

    /// The authorization question for a call; `Ok(None)` means the operation has no entry
    /// and is therefore denied. May read the store (resource policies, resource tags).
    pub async fn authz(
        &self,
        service: &str,
        operation: &str,
        input: &Value,
        ctx: &CallContext,
        store: &Store,
    ) -> Result<Option<AuthzQuestion>, ServiceError> {
        // Each service's future is boxed: unboxed, every caller's future would be as large as
        // the largest service's (kilobytes), and be copied that large at each move.
        let single = |r: Option<AuthzRequest>| r.map(AuthzQuestion::from);
        match service {
            "sts" => Box::pin(sts::authz(operation, input, ctx, store))
                .await
                .map(single),
            "iam" => Box::pin(iam::authz(operation, input, ctx, store))
                .await
                .map(single),
            "cloudtrail" => Ok(single(cloudtrail::authz(operation, input, ctx))),
            "kms" => Box::pin(kms::authz(operation, input, ctx, store)).await,
            "organizations" => Box::pin(organizations::authz(operation, input, ctx, store))
                .await
                .map(single),
            _ => match table_route(service, operation) {
                Some(route) => route.authz(input, ctx, store).await,
                None => Ok(None),
            },
        }
    }

    /// Authorizes a call a service makes to `service` on the caller's behalf (`ctx` from
    /// [`CallContext::on_behalf_of`]): the target operation's own question, decided by the one
    /// authorizer. `Ok(None)` means the operation has no entry (so it is refused).
    pub async fn authorize_on_behalf(
        &self,
        service: &str,
        operation: &str,
        input: &Value,
        ctx: &CallContext,
        store: &Store,
    ) -> Result<Result<(), crate::AuthzError>, ServiceError> {
        let Some(question) = self.authz(service, operation, input, ctx, store).await? else {
            return Ok(Err(crate::AuthzError::AccessDenied(format!(
                "User: {} is not authorized to perform: {service}:{operation}",
                ctx.principal.arn
            ))));
        };
        Ok(ctx.authorizer.authorize(ctx, &question).await)
    }

    /// Slow work a mutating call needs that can be done before its write transaction (today:
    /// password hashing), planned from the store; the caller runs it on a blocking thread and
    /// hands the result to the handler in [`CallContext::prepared`]. Call it only once the
    /// call is authorized: the work is costly by design.
    pub async fn prepare(
        &self,
        service: &str,
        operation: &str,
        input: &Value,
        ctx: &CallContext,
        store: &Store,
    ) -> Result<Option<crate::context::Preparation>, ServiceError> {
        match service {
            "iam" => Ok(
                Box::pin(iam::login_profiles::prepare(operation, input, ctx, store))
                    .await?
                    .map(crate::context::Preparation::Password),
            ),
            _ => match table_route(service, operation) {
                Some(route) => route.prepare(input, ctx, store).await,
                None => Ok(None),
            },
        }
    }

    /// Runs a built operation.
    pub async fn handle(
        &self,
        service: &str,
        operation: &str,
        input: Value,
        ctx: &CallContext,
        db: Db<'_>,
    ) -> Result<Value, ServiceError> {
        // Boxed for the reason given in `authz`.
        match service {
            "sts" => Box::pin(sts::handle(operation, input, ctx, db)).await,
            "iam" => Box::pin(iam::handle(operation, input, ctx, db)).await,
            "cloudtrail" => Box::pin(cloudtrail::handle(operation, input, ctx, db)).await,
            "kms" => Box::pin(kms::handle(operation, input, ctx, db)).await,
            "organizations" => Box::pin(organizations::handle(operation, input, ctx, db)).await,
            _ => match table_route(service, operation) {
                Some(route) => route.handle(input, ctx, db).await,
                None => Err(not_implemented(service, operation)),
            },
        }
    }

    /// The caller's own policies (identity, boundary, session), read fresh from the store.
    pub async fn caller_policies(
        &self,
        ctx: &CallContext,
        store: &Store,
    ) -> Result<CallerPolicies, ServiceError> {
        Box::pin(iam::caller_policies(&ctx.principal, store)).await
    }
}

/// The error for a modelled operation that Rampart does not implement yet.
pub fn not_implemented(service: &str, operation: &str) -> ServiceError {
    ServiceError {
        code: "NotImplemented",
        message: format!("{service}:{operation} is not implemented by Rampart yet."),
        sender_fault: false,
        reason: None,
    }
}
