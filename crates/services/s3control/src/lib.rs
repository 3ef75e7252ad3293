//! Amazon S3 Control (REST-XML, signing name `s3`, paths under `/v20180820/`): account-level
//! S3 settings. Built: the account's Block Public Access settings
//! ([`public_access_block`]), which the S3 crate keeps and applies to every bucket of the
//! account together with each bucket's own settings.

use rampart_kit::routes;

pub mod error;
pub mod public_access_block;

pub use error::S3ControlError;
pub use rampart_model::s3control::Op;

routes! {
    authz: public_access_block::authorize;
    built {
        PutPublicAccessBlock => Write, |i, c, d| public_access_block::put(i, c, d);
        GetPublicAccessBlock => Read, |i, c, d| public_access_block::get(i, c, d);
        DeletePublicAccessBlock => Write, |i, c, d| public_access_block::delete(i, c, d);
    }
    not_built {
        AssociateAccessGrantsIdentityCenter, CreateAccessGrant, CreateAccessGrantsInstance,
        CreateAccessGrantsLocation, CreateAccessPoint, CreateAccessPointForObjectLambda, CreateBucket,
        CreateJob, CreateMultiRegionAccessPoint, CreateStorageLensGroup, DeleteAccessGrant,
        DeleteAccessGrantsInstance, DeleteAccessGrantsInstanceResourcePolicy,
        DeleteAccessGrantsLocation, DeleteAccessPoint, DeleteAccessPointForObjectLambda,
        DeleteAccessPointPolicy, DeleteAccessPointPolicyForObjectLambda, DeleteAccessPointScope,
        DeleteBucket, DeleteBucketLifecycleConfiguration, DeleteBucketPolicy, DeleteBucketReplication,
        DeleteBucketTagging, DeleteJobTagging, DeleteMultiRegionAccessPoint,
        DeleteStorageLensConfiguration, DeleteStorageLensConfigurationTagging, DeleteStorageLensGroup,
        DescribeJob, DescribeMultiRegionAccessPointOperation, DissociateAccessGrantsIdentityCenter,
        GetAccessGrant, GetAccessGrantsInstance, GetAccessGrantsInstanceForPrefix,
        GetAccessGrantsInstanceResourcePolicy, GetAccessGrantsLocation, GetAccessPoint,
        GetAccessPointConfigurationForObjectLambda, GetAccessPointForObjectLambda,
        GetAccessPointPolicy, GetAccessPointPolicyForObjectLambda, GetAccessPointPolicyStatus,
        GetAccessPointPolicyStatusForObjectLambda, GetAccessPointScope, GetBucket,
        GetBucketLifecycleConfiguration, GetBucketPolicy, GetBucketReplication, GetBucketTagging,
        GetBucketVersioning, GetDataAccess, GetJobTagging, GetMultiRegionAccessPoint,
        GetMultiRegionAccessPointPolicy, GetMultiRegionAccessPointPolicyStatus,
        GetMultiRegionAccessPointRoutes, GetStorageLensConfiguration,
        GetStorageLensConfigurationTagging, GetStorageLensGroup, ListAccessGrants,
        ListAccessGrantsInstances, ListAccessGrantsLocations, ListAccessPoints,
        ListAccessPointsForDirectoryBuckets, ListAccessPointsForObjectLambda, ListCallerAccessGrants,
        ListJobs, ListMultiRegionAccessPoints, ListRegionalBuckets, ListStorageLensConfigurations,
        ListStorageLensGroups, ListTagsForResource, PutAccessGrantsInstanceResourcePolicy,
        PutAccessPointConfigurationForObjectLambda, PutAccessPointPolicy,
        PutAccessPointPolicyForObjectLambda, PutAccessPointScope, PutBucketLifecycleConfiguration,
        PutBucketPolicy, PutBucketReplication, PutBucketTagging, PutBucketVersioning, PutJobTagging,
        PutMultiRegionAccessPointPolicy, PutStorageLensConfiguration,
        PutStorageLensConfigurationTagging, SubmitMultiRegionAccessPointRoutes, TagResource,
        UntagResource, UpdateAccessGrantsLocation, UpdateJobPriority, UpdateJobStatus,
        UpdateStorageLensGroup,
    }
}
