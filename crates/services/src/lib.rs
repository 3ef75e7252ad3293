//! Rampart's AWS services: handlers and authorization tables, one module per service.
//!
//! Services take a decoded input (`serde_json::Value` with AWS member names), the
//! [`CallContext`] of the authenticated caller and the store, and return an output value or an
//! error named after AWS's error code. They never see HTTP: the wire crate decodes and encodes.

#[macro_use]
pub mod route;
pub mod authorizer;
pub mod authz;
pub mod checked_time;
pub mod cloudtrail;
pub mod context;
pub mod db;
pub mod error;
pub mod iam;
pub mod ids;
pub mod json_field;
pub mod kms;
pub mod organizations;
pub mod principal;
pub mod registry;
pub mod secretsmanager;
pub mod sts;
#[cfg(test)]
mod test_support;

pub use authorizer::{Authorizer, AuthzError};
pub use authz::{
    AuthzQuestion, AuthzRequest, CallerPolicies, NamedPolicy, ResourcePolicy, ResourceRef,
};
pub use context::{CallContext, Preparation, Prepared};
pub use db::Db;
pub use error::ServiceError;
pub use principal::{Principal, PrincipalKind};
pub use registry::Registry;
pub use route::Route;
