//! What every Rampart service is built from, below the services themselves.
//!
//! Services take a decoded input (`serde_json::Value` with AWS member names), the
//! [`CallContext`] of the authenticated caller and the store, and return an output value or an
//! error named after AWS's error code. They never see HTTP: the wire crate decodes and encodes.
//! Each service is a crate that writes its table with [`routes!`] and its errors with
//! [`service_errors!`](error::service_errors); the `rampart-services` crate names the tables.

#[macro_use]
pub mod route;
pub mod authorizer;
pub mod authz;
pub mod blob_cipher;
pub mod checked_time;
pub mod context;
pub mod db;
pub mod entity;
pub mod error;
pub mod ids;
pub mod input;
pub mod json_field;
pub mod log_buffer;
pub mod page;
pub mod parse_cache;
pub mod payload;
pub mod principal;
#[cfg(any(test, feature = "test-support"))]
pub mod test_support;
pub mod timestamp;
pub mod trail_principal;

pub use authorizer::{Authorizer, AuthzError};
pub use authz::{
    AuthzQuestion, AuthzRequest, CallerPolicies, NamedPolicy, ResourcePolicy, ResourceRef,
};
pub use context::{CallContext, Preparation, Prepared, SideCall, SideCalls};
pub use db::Db;
pub use error::ServiceError;
pub use payload::{BlobStore, OutboundBody, Payload, StagedBody};
pub use principal::{Principal, PrincipalKind};
pub use rampart_policy::Partition;
pub use route::{Access, Extensions, OnBehalfError, Proof, Route};
