//! Amazon S3 (REST-XML, `s3`): buckets and objects behind the shared authentication, policy
//! engine and audit trail.
//!
//! - [`buckets`]: create, delete, head, list, location, tags; [`policy`]: bucket policies;
//!   [`public_access`]: Block Public Access; [`ownership`]: Object Ownership and the ACL
//!   calls, over [`acl`]: ACLs and the grants they stand for; [`object_lock`]: Object Lock.
//! - [`objects`]: put, get, head, delete (one or many), object tags; [`copy`]: `CopyObject`;
//!   [`list`]: `ListObjectsV2`/`ListObjects`; [`multipart`]: multipart uploads.
//! - [`lifecycle`]: lifecycle rules, applied by [`lifecycle_run`].
//! - [`conditions`]: preconditions and ranges; [`authz`]: the authorization entries.
//! - [`repo`]: storage (object bytes are blobs the pipeline stages and streams, see
//!   `rampart_kit::payload`); [`names`], [`input`]: names, ARNs and inputs.

use rampart_kit::routes;

pub mod acl;
pub mod authz;
pub mod blob_refs;
pub mod bucket_key;
pub mod buckets;
pub mod conditions;
pub mod copy;
pub mod error;
pub mod input;
pub mod lifecycle;
pub mod lifecycle_run;
pub mod list;
pub mod list_versions;
pub mod multipart;
pub mod names;
pub mod object_lock;
pub mod objects;
pub mod ownership;
pub mod policy;
pub mod public_access;
pub mod repo;
pub mod sse;
pub mod trail;
pub mod versioning;

pub use error::S3Error;
pub use rampart_model::s3::Op;

routes! {
    authz: authz::authorize;
    built {
        CreateBucket => Write, |i, c, d| buckets::create(i, c, d);
        DeleteBucket => Write, |i, c, d| buckets::delete(i, c, d);
        HeadBucket => Read, |i, c, d| buckets::head(i, c, d);
        ListBuckets => Read, |i, c, d| buckets::list(i, c, d);
        GetBucketLocation => Read, |i, c, d| buckets::location(i, c, d);
        PutBucketTagging => Write, |i, c, d| buckets::put_tagging(i, c, d);
        GetBucketTagging => Read, |i, c, d| buckets::get_tagging(i, c, d);
        DeleteBucketTagging => Write, |i, c, d| buckets::delete_tagging(i, c, d);
        PutBucketPolicy => Write, |i, c, d| policy::put(i, c, d);
        GetBucketPolicy => Read, |i, c, d| policy::get(i, c, d);
        DeleteBucketPolicy => Write, |i, c, d| policy::delete(i, c, d);
        GetBucketPolicyStatus => Read, |i, c, d| policy::status(i, c, d);
        PutPublicAccessBlock => Write, |i, c, d| public_access::put(i, c, d);
        GetPublicAccessBlock => Read, |i, c, d| public_access::get(i, c, d);
        DeletePublicAccessBlock => Write, |i, c, d| public_access::delete(i, c, d);
        PutBucketVersioning => Write, |i, c, d| versioning::put(i, c, d);
        GetBucketVersioning => Read, |i, c, d| versioning::get(i, c, d);
        ListObjectVersions => Read, |i, c, d| list_versions::list(i, c, d);
        PutBucketEncryption => Write, |i, c, d| buckets::put_encryption(i, c, d);
        GetBucketEncryption => Read, |i, c, d| buckets::get_encryption(i, c, d);
        DeleteBucketEncryption => Write, |i, c, d| buckets::delete_encryption(i, c, d);
        PutObject => Write, |i, c, d| objects::put(i, c, d), prepare: objects::prepare_put;
        GetObject => Read, |i, c, d| objects::get(i, c, d);
        HeadObject => Read, |i, c, d| objects::head(i, c, d);
        DeleteObject => Write, |i, c, d| objects::delete(i, c, d);
        DeleteObjects => Write, |i, c, d| objects::delete_many(i, c, d);
        CopyObject => Write, |i, c, d| copy::copy(i, c, d), prepare: copy::prepare;
        PutObjectTagging => Write, |i, c, d| objects::put_tagging(i, c, d);
        GetObjectTagging => Read, |i, c, d| objects::get_tagging(i, c, d);
        DeleteObjectTagging => Write, |i, c, d| objects::delete_tagging(i, c, d);
        ListObjects => Read, |i, c, d| list::list_v1(i, c, d);
        ListObjectsV2 => Read, |i, c, d| list::list_v2(i, c, d);
        CreateMultipartUpload => Write, |i, c, d| multipart::create(i, c, d), prepare: multipart::prepare_create;
        UploadPart => Write, |i, c, d| multipart::upload_part(i, c, d), prepare: multipart::prepare_part;
        UploadPartCopy => Write, |i, c, d| multipart::upload_part_copy(i, c, d), prepare: copy::prepare_part;
        CompleteMultipartUpload => Write, |i, c, d| multipart::complete(i, c, d);
        AbortMultipartUpload => Write, |i, c, d| multipart::abort(i, c, d);
        ListParts => Read, |i, c, d| multipart::list_parts(i, c, d);
        ListMultipartUploads => Read, |i, c, d| multipart::list_uploads(i, c, d);
        PutBucketLifecycleConfiguration => Write, |i, c, d| lifecycle::put(i, c, d);
        GetBucketLifecycleConfiguration => Read, |i, c, d| lifecycle::get(i, c, d);
        DeleteBucketLifecycle => Write, |i, c, d| lifecycle::delete(i, c, d);
        PutBucketOwnershipControls => Write, |i, c, d| ownership::put_controls(i, c, d);
        GetBucketOwnershipControls => Read, |i, c, d| ownership::get_controls(i, c, d);
        DeleteBucketOwnershipControls => Write, |i, c, d| ownership::delete_controls(i, c, d);
        GetBucketAcl => Read, |i, c, d| ownership::get_bucket_acl(i, c, d);
        PutBucketAcl => Write, |i, c, d| ownership::put_bucket_acl(i, c, d);
        GetObjectAcl => Read, |i, c, d| ownership::get_object_acl(i, c, d);
        PutObjectAcl => Write, |i, c, d| ownership::put_object_acl(i, c, d);
        PutObjectLockConfiguration => Write, |i, c, d| object_lock::put_configuration(i, c, d);
        GetObjectLockConfiguration => Read, |i, c, d| object_lock::get_configuration(i, c, d);
        PutObjectRetention => Write, |i, c, d| object_lock::put_retention(i, c, d);
        GetObjectRetention => Read, |i, c, d| object_lock::get_retention(i, c, d);
        PutObjectLegalHold => Write, |i, c, d| object_lock::put_legal_hold(i, c, d);
        GetObjectLegalHold => Read, |i, c, d| object_lock::get_legal_hold(i, c, d);
    }
    not_built {
        CreateBucketMetadataConfiguration, CreateBucketMetadataTableConfiguration, CreateSession, DeleteBucketAnalyticsConfiguration,
        DeleteBucketCors, DeleteBucketIntelligentTieringConfiguration, DeleteBucketInventoryConfiguration,
        DeleteBucketMetadataConfiguration, DeleteBucketMetadataTableConfiguration, DeleteBucketMetricsConfiguration,
        DeleteBucketReplication, DeleteBucketWebsite,
        GetBucketAbac, GetBucketAccelerateConfiguration, GetBucketAnalyticsConfiguration,
        GetBucketCors, GetBucketIntelligentTieringConfiguration, GetBucketInventoryConfiguration,
        GetBucketLifecycle, GetBucketLogging, GetBucketMetadataConfiguration,
        GetBucketMetadataTableConfiguration, GetBucketMetricsConfiguration, GetBucketNotification, GetBucketNotificationConfiguration,
        GetBucketReplication, GetBucketRequestPayment, GetBucketWebsite, GetObjectAttributes,         GetObjectTorrent,
        ListBucketAnalyticsConfigurations, ListBucketIntelligentTieringConfigurations, ListBucketInventoryConfigurations, ListBucketMetricsConfigurations,
        ListDirectoryBuckets, PutBucketAbac, PutBucketAccelerateConfiguration,
        PutBucketAnalyticsConfiguration, PutBucketCors, PutBucketIntelligentTieringConfiguration, PutBucketInventoryConfiguration, PutBucketLifecycle,
        PutBucketLogging, PutBucketMetricsConfiguration, PutBucketNotification, PutBucketNotificationConfiguration,
        PutBucketReplication, PutBucketRequestPayment, PutBucketWebsite,         RenameObject, RestoreObject,
        SelectObjectContent, UpdateBucketMetadataInventoryTableConfiguration, UpdateBucketMetadataJournalTableConfiguration, UpdateObjectEncryption,
        WriteGetObjectResponse,
    }
}
