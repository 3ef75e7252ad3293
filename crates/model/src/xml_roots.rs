//! The root element of restXml outputs whose members travel in the body without a payload
//! member. botocore drops the Smithy `@xmlName` of these output structures (its parser ignores
//! the root), so S3's names are listed here by hand; other outputs use the shape's name, as
//! Smithy does.

use crate::{Operation, Service};

/// S3's output root elements by operation, sorted by operation name.
static S3_ROOTS: [(&str, &str); 31] = [
    ("CompleteMultipartUpload", "CompleteMultipartUploadResult"),
    ("CreateMultipartUpload", "InitiateMultipartUploadResult"),
    ("CreateSession", "CreateSessionResult"),
    ("DeleteObjects", "DeleteResult"),
    (
        "GetBucketAccelerateConfiguration",
        "AccelerateConfiguration",
    ),
    ("GetBucketAcl", "AccessControlPolicy"),
    ("GetBucketCors", "CORSConfiguration"),
    ("GetBucketLifecycle", "LifecycleConfiguration"),
    ("GetBucketLifecycleConfiguration", "LifecycleConfiguration"),
    ("GetBucketLocation", "LocationConstraint"),
    ("GetBucketLogging", "BucketLoggingStatus"),
    ("GetBucketNotification", "NotificationConfiguration"),
    (
        "GetBucketNotificationConfiguration",
        "NotificationConfiguration",
    ),
    ("GetBucketRequestPayment", "RequestPaymentConfiguration"),
    ("GetBucketTagging", "Tagging"),
    ("GetBucketVersioning", "VersioningConfiguration"),
    ("GetBucketWebsite", "WebsiteConfiguration"),
    ("GetObjectAcl", "AccessControlPolicy"),
    ("GetObjectAttributes", "GetObjectAttributesResponse"),
    ("GetObjectTagging", "Tagging"),
    (
        "ListBucketAnalyticsConfigurations",
        "ListBucketAnalyticsConfigurationResult",
    ),
    (
        "ListBucketIntelligentTieringConfigurations",
        "ListBucketIntelligentTieringConfigurationsOutput",
    ),
    (
        "ListBucketInventoryConfigurations",
        "ListInventoryConfigurationsResult",
    ),
    (
        "ListBucketMetricsConfigurations",
        "ListMetricsConfigurationsResult",
    ),
    ("ListBuckets", "ListAllMyBucketsResult"),
    ("ListDirectoryBuckets", "ListAllMyDirectoryBucketsResult"),
    ("ListMultipartUploads", "ListMultipartUploadsResult"),
    ("ListObjectVersions", "ListVersionsResult"),
    ("ListObjects", "ListBucketResult"),
    ("ListObjectsV2", "ListBucketResult"),
    ("ListParts", "ListPartsResult"),
];

/// The root element of `operation`'s XML output body when its members travel in the body
/// (no payload member): S3's name from AWS's documentation, else the output shape's name.
/// `None` when the operation has no output.
pub fn output_root(service: &Service, operation: &Operation) -> Option<&'static str> {
    let output = operation.output?;
    let listed = (service.name == "s3")
        .then(|| {
            S3_ROOTS
                .binary_search_by(|(op, _)| (*op).cmp(operation.name))
                .ok()
                .and_then(|i| S3_ROOTS.get(i))
                .map(|(_, root)| *root)
        })
        .flatten();
    Some(listed.unwrap_or(service.shape(output).name))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_is_sorted_and_names_s3_operations() {
        assert!(S3_ROOTS.windows(2).all(|w| w[0].0 < w[1].0));
        let s3 = crate::service("s3").unwrap();
        for (op, _) in S3_ROOTS {
            assert!(s3.operation(op).is_some(), "{op}");
        }
        let op = s3.operation("ListBuckets").unwrap();
        assert_eq!(output_root(s3, op), Some("ListAllMyBucketsResult"));
        let op = s3.operation("DeleteBucket").unwrap();
        assert_eq!(output_root(s3, op), None);
    }
}
