//! The service registry: which operations exist, their authorization entries and handlers.
//!
//! Dispatch is a plain match over service names: the set of services is closed and known at
//! compile time, so a trait object would add indirection without adding freedom.

use rampart_store::Store;
use serde_json::Value;

use crate::{authz::AuthzRequest, cloudtrail, context::CallContext, error::ServiceError, sts};

/// How an operation touches state, which decides how its audit record is committed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Reads only (`readOnly: true` in CloudTrail); its record may be group-committed.
    Read,
    /// Changes state; its record commits with the change.
    Write,
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
            "cloudtrail" => cloudtrail::access(operation)?,
            _ => return None,
        };
        Some(Dispatch { access })
    }

    /// The authorization question for a call; `None` means the operation has no entry and is
    /// therefore denied.
    pub fn authz(
        &self,
        service: &str,
        operation: &str,
        input: &Value,
        ctx: &CallContext,
    ) -> Option<AuthzRequest> {
        match service {
            "sts" => sts::authz(operation, input, ctx),
            "cloudtrail" => cloudtrail::authz(operation, input, ctx),
            _ => None,
        }
    }

    /// Runs a built operation.
    pub async fn handle(
        &self,
        service: &str,
        operation: &str,
        input: Value,
        ctx: &CallContext,
        store: &Store,
    ) -> Result<Value, ServiceError> {
        match service {
            "sts" => sts::handle(operation, input, ctx, store).await,
            "cloudtrail" => cloudtrail::handle(operation, input, ctx, store).await,
            _ => Err(not_implemented(service, operation)),
        }
    }
}

/// The error for a modelled operation that Rampart does not implement yet.
pub fn not_implemented(service: &str, operation: &str) -> ServiceError {
    ServiceError {
        code: "NotImplemented",
        message: format!("{service}:{operation} is not implemented by Rampart yet."),
        sender_fault: false,
    }
}
