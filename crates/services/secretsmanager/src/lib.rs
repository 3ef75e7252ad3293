//! AWS Secrets Manager (awsJson1.1, `secretsmanager`).
//!
//! - [`secrets`]: create, describe, update, delete (recovery window) and restore, tags;
//!   [`list`]: `ListSecrets`.
//! - [`versions`]: new values, versions and staging labels; [`values`]: reading values;
//!   [`crypto`]: values sealed with KMS
//!   data keys, the KMS calls made on the caller's behalf; [`sealing`]: that work done
//!   before a call's write transaction.
//! - [`policy`]: resource policies; [`public_policy`]: whether one grants public access;
//!   [`authz`]: the authorization entries.
//! - [`rotation`]: `RotateSecret`, `CancelRotateSecret`; [`rotation_run`]: the four steps run
//!   in the background; [`schedule`]: rotation rules and the next rotation date.
//! - [`replication`]: replicas in other regions, kept in step by a background job.
//! - [`random_password`]: `GetRandomPassword`; [`deletion`]: the end of recovery windows.
//! - [`repo`], [`model`]: storage; [`common`]: input and paging helpers.

use rampart_kit::routes;

pub mod authz;
pub mod common;
pub mod crypto;
pub mod deletion;
pub mod error;
pub mod list;
pub mod model;
pub mod policy;
pub use rampart_policy::public as public_policy;
pub mod random_password;
pub mod replication;
pub mod repo;
pub mod rotation;
pub mod rotation_run;
pub mod schedule;
pub mod sealing;
pub mod secrets;
pub mod values;
pub mod versions;

pub use error::SmError;
pub use rampart_model::secretsmanager::Op;

routes! {
    authz: authz::authorize;
    built {
        CreateSecret => Write, |i, c, d| secrets::create(i, c, d), prepare: sealing::prepare;
        DescribeSecret => Read, |i, c, d| secrets::describe(i, c, d);
        UpdateSecret => Write, |i, c, d| secrets::update(i, c, d), prepare: sealing::prepare;
        DeleteSecret => Write, |i, c, d| secrets::delete(i, c, d);
        RestoreSecret => Write, |i, c, d| secrets::restore(i, c, d);
        ListSecrets => Read, |i, c, d| list::list(i, c, d);
        TagResource => Write, |i, c, d| secrets::tag(i, c, d);
        UntagResource => Write, |i, c, d| secrets::untag(i, c, d);
        PutSecretValue => Write, |i, c, d| versions::put_value(i, c, d), prepare: sealing::prepare;
        GetSecretValue => Read, |i, c, d| values::get_value(i, c, d);
        BatchGetSecretValue => Read, |i, c, d| values::batch_get(i, c, d);
        ListSecretVersionIds => Read, |i, c, d| versions::list_version_ids(i, c, d);
        UpdateSecretVersionStage => Write, |i, c, d| versions::update_stage(i, c, d);
        PutResourcePolicy => Write, |i, c, d| policy::put(i, c, d);
        GetResourcePolicy => Read, |i, c, d| policy::get(i, c, d);
        DeleteResourcePolicy => Write, |i, c, d| policy::delete(i, c, d);
        ValidateResourcePolicy => Read, |i, c, d| policy::validate_op(i, c, d);
        ReplicateSecretToRegions => Write, |i, c, d| replication::replicate(i, c, d);
        RemoveRegionsFromReplication => Write, |i, c, d| replication::remove(i, c, d);
        StopReplicationToReplica => Write, |i, c, d| replication::stop(i, c, d);
        RotateSecret => Write, |i, c, d| rotation::rotate(i, c, d);
        CancelRotateSecret => Write, |i, c, d| rotation::cancel(i, c, d);
        GetRandomPassword => Read,
            |i, _c, _d| std::future::ready(random_password::get_random_password(i));
    }
    not_built {}
}
