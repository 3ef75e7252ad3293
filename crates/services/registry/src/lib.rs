//! Rampart's AWS services: the registry naming each service's table, over one crate per
//! service (`rampart-iam`, `rampart-kms`, ...) built from the shared kit (`rampart-kit`).
//!
//! The kit's items and each service crate are re-exported here under their usual names
//! (`rampart_services::iam`, `rampart_services::context`, ...), so the server depends on this
//! crate alone.

pub mod registry;

pub use rampart_accessanalyzer as accessanalyzer;
pub use rampart_cloudtrail as cloudtrail;
pub use rampart_config as config;
pub use rampart_detective as detective;
pub use rampart_elbv2 as elbv2;
pub use rampart_events as events;
pub use rampart_guardduty as guardduty;
pub use rampart_iam as iam;
pub use rampart_kit::{
    authorizer, authz, blob_cipher, checked_time, context, db, entity, error, ids, json_field,
    log_buffer, payload, principal, route,
};
pub use rampart_kit::{
    Access, Authorizer, AuthzError, AuthzQuestion, AuthzRequest, BlobStore, CallContext,
    CallerPolicies, Db, Extensions, NamedPolicy, Partition, Payload, Preparation, Prepared,
    Principal, PrincipalKind, ResourcePolicy, ResourceRef, Route, ServiceError, SideCall,
    SideCalls,
};
pub use rampart_kms as kms;
pub use rampart_organizations as organizations;
pub use rampart_s3 as s3;
pub use rampart_s3control as s3control;
pub use rampart_secretsmanager as secretsmanager;
pub use rampart_securityhub as securityhub;
pub use rampart_shield as shield;
pub use rampart_sts as sts;
pub use rampart_sts::saml_signatures_available;
pub use rampart_trails as trails;
pub use rampart_wafv2 as wafv2;
pub use registry::Registry;
