//! How S3 calls appear in CloudTrail: object calls are data events, whose records list the
//! object and its bucket as resources; bucket calls are management events.

use rampart_kit::Partition;
use serde_json::Value;

use crate::{
    input::opt_nonempty,
    names::{bucket_arn, object_arn},
    Op,
};

/// Whether an operation is an object-level (data) event.
fn is_data_event(op: Op) -> bool {
    matches!(
        op,
        Op::PutObject
            | Op::GetObject
            | Op::HeadObject
            | Op::DeleteObject
            | Op::DeleteObjects
            | Op::CopyObject
            | Op::CreateMultipartUpload
            | Op::UploadPart
            | Op::UploadPartCopy
            | Op::CompleteMultipartUpload
            | Op::AbortMultipartUpload
            | Op::ListParts
            | Op::PutObjectTagging
            | Op::GetObjectTagging
            | Op::DeleteObjectTagging
            | Op::GetObjectAttributes
            | Op::RestoreObject
            | Op::SelectObjectContent
    )
}

/// The resources of a data event (`AWS::S3::Object` and its `AWS::S3::Bucket`, ARNs in
/// `partition`), `None` for a management event.
pub fn data_event_resources(
    partition: Partition,
    operation: &str,
    input: &Value,
) -> Option<Vec<(&'static str, String)>> {
    let op = Op::from_name(operation)?;
    if !is_data_event(op) {
        return None;
    }
    let bucket = opt_nonempty(input, "Bucket")?;
    let mut out = Vec::with_capacity(2);
    if let Some(key) = opt_nonempty(input, "Key") {
        out.push(("AWS::S3::Object", object_arn(partition, bucket, key)));
    }
    out.push(("AWS::S3::Bucket", bucket_arn(partition, bucket)));
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn object_calls_are_data_events_and_bucket_calls_are_not() {
        let input = json!({ "Bucket": "b", "Key": "k/1" });
        let r = data_event_resources(Partition::Aws, "GetObject", &input).expect("data");
        assert_eq!(r[0], ("AWS::S3::Object", "arn:aws:s3:::b/k/1".to_string()));
        assert_eq!(r[1], ("AWS::S3::Bucket", "arn:aws:s3:::b".to_string()));
        assert!(
            data_event_resources(Partition::Aws, "CreateBucket", &json!({ "Bucket": "b" }))
                .is_none()
        );
        assert!(data_event_resources(Partition::Aws, "Nope", &input).is_none());
    }
}
