//! The service registry: which services exist, each by its table ([`crate::route`]).
//!
//! Dispatch is a plain match over service names, then the service's generated operation enum:
//! the set of services is closed and known at compile time, so a trait object would add
//! indirection without adding freedom.

use rampart_store::Store;

use rampart_model::ServiceOp;

use rampart_kit::{authz::CallerPolicies, context::CallContext, error::ServiceError, route::Route};

use crate::{
    accessanalyzer, config, detective, elbv2, events, guardduty, iam, kms, organizations, s3,
    s3control, secretsmanager, securityhub, shield, sts, trails, wafv2,
};

/// The registry of services: one line per service, naming its table.
#[derive(Debug, Default, Clone, Copy)]
pub struct Registry;

/// A service's table keyed by its generated operation enum.
type Table<O> = fn(O) -> Option<Route>;

/// The entry of `operation` in `table`, if the service models and builds it.
fn find<O: ServiceOp>(table: Table<O>, operation: &str) -> Option<Route> {
    table(O::from_name(operation)?)
}

/// The services, one line each: the model name and the crate whose table serves it. Writes
/// [`Registry::lookup`] and the tests' list of tables.
macro_rules! services {
    ($($name:literal => $service:ident),* $(,)?) => {
        impl Registry {
            /// The entry of a built operation, or `None` when it is not modelled or not built.
            pub fn lookup(&self, service: &str, operation: &str) -> Option<Route> {
                match service {
                    $($name => find($service::route, operation),)*
                    _ => None,
                }
            }
        }

        /// Every service's table, by model name: each operation with its entry.
        #[cfg(test)]
        fn tables() -> Vec<(&'static str, Vec<(&'static str, Option<Route>)>)> {
            fn all<O: ServiceOp>(table: Table<O>) -> Vec<(&'static str, Option<Route>)> {
                O::all().iter().map(|op| (op.name(), table(*op))).collect()
            }
            vec![$(($name, all($service::route)),)*]
        }
    };
}

/// IAM's table, with its centralized root access and organizations access report operations,
/// which Organizations serves because their state is the organization's.
mod iam_routes {
    use super::{iam, organizations, Route};

    pub fn route(op: iam::Op) -> Option<Route> {
        iam::route(op)
            .or_else(|| organizations::root_access::route(op))
            .or_else(|| organizations::access_report::route(op))
    }
}

services! {
    "sts" => sts,
    "iam" => iam_routes,
    "cloudtrail" => trails,
    "kms" => kms,
    "organizations" => organizations,
    "secretsmanager" => secretsmanager,
    "s3" => s3,
    "s3control" => s3control,
    "events" => events,
    "accessanalyzer" => accessanalyzer,
    "guardduty" => guardduty,
    "detective" => detective,
    "config" => config,
    "elbv2" => elbv2,
    "wafv2" => wafv2,
    "shield" => shield,
    "securityhub" => securityhub,
}

impl Registry {
    /// The caller's own policies (identity, boundary, session), read fresh from the store.
    pub async fn caller_policies(
        &self,
        ctx: &CallContext,
        store: &Store,
    ) -> Result<CallerPolicies, ServiceError> {
        Box::pin(iam::caller_policies(&ctx.principal, store)).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every table covers its model (the `match` over the generated enum is exhaustive, so an
    /// operation missing from both the built and the not-built lists does not compile); each
    /// entry names its own operation, and the registry finds exactly the built ones.
    #[test]
    fn tables_cover_their_models_and_the_registry_finds_the_built_operations() {
        let mut built = 0;
        for (service, entries) in tables() {
            let model = rampart_model::service(service).unwrap();
            assert_eq!(entries.len(), model.operations.len(), "{service}");
            for (name, route) in entries {
                assert!(model.operation(name).is_some(), "{service}:{name}");
                let found = Registry.lookup(service, name).map(|r| r.operation);
                assert_eq!(found, route.map(|r| r.operation), "{service}:{name}");
                if let Some(r) = route {
                    assert_eq!(r.operation, name, "{service}: entry of {name}");
                    built += 1;
                }
            }
            assert!(Registry.lookup(service, "NoSuchOperation").is_none());
        }
        assert!(Registry.lookup("macie2", "EnableMacie").is_none());
        // The built surface only grows; a drop means an operation fell out of a table.
        assert!(built >= 259, "{built} built operations");
    }
}
