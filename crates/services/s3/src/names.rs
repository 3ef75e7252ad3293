//! S3's names: bucket naming rules, key limits and ARNs.

use crate::error::{S3Error, S3Result};
use rampart_kit::Partition;

/// The longest key S3 accepts, in bytes of UTF-8.
pub const MAX_KEY_BYTES: usize = 1024;

/// Checks a bucket name against S3's rules for general purpose buckets: 3 to 63 characters
/// of lowercase letters, digits, dots and hyphens, beginning and ending with a letter or
/// digit, no two adjacent dots, not an IP address, and none of the reserved prefixes and
/// suffixes.
pub fn check_bucket_name(name: &str) -> S3Result<()> {
    if is_valid_bucket_name(name) {
        Ok(())
    } else {
        Err(S3Error::InvalidBucketName(
            "The specified bucket is not valid.".into(),
        ))
    }
}

/// Whether `name` is a valid bucket name (see [`check_bucket_name`]).
pub fn is_valid_bucket_name(name: &str) -> bool {
    const PREFIXES: [&str; 3] = ["xn--", "sthree-", "amzn-s3-demo-"];
    const SUFFIXES: [&str; 5] = ["-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3"];
    let bytes = name.as_bytes();
    let edge_ok = |b: Option<&u8>| b.is_some_and(|b| b.is_ascii_lowercase() || b.is_ascii_digit());
    (3..=63).contains(&bytes.len())
        && bytes
            .iter()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'.' || *b == b'-')
        && edge_ok(bytes.first())
        && edge_ok(bytes.last())
        && !name.contains("..")
        && name.parse::<std::net::Ipv4Addr>().is_err()
        && !PREFIXES.iter().any(|p| name.starts_with(p))
        && !SUFFIXES.iter().any(|s| name.ends_with(s))
}

/// Checks an object key: not empty, at most 1024 bytes.
pub fn check_key(key: &str) -> S3Result<()> {
    if key.is_empty() {
        return Err(S3Error::argument("A key must be specified"));
    }
    if key.len() > MAX_KEY_BYTES {
        return Err(S3Error::KeyTooLongError("Your key is too long".into()));
    }
    Ok(())
}

/// A bucket's ARN in `partition`.
pub fn bucket_arn(partition: Partition, bucket: &str) -> String {
    partition.arn("s3", "", "", bucket)
}

/// An object's ARN in `partition`.
pub fn object_arn(partition: Partition, bucket: &str, key: &str) -> String {
    partition.arn("s3", "", "", &format!("{bucket}/{key}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bucket_names_follow_aws_rules() {
        for ok in [
            "abc",
            "my-bucket.logs",
            "a1-b2",
            &"a".repeat(63),
            "docexamplebucket1",
        ] {
            assert!(is_valid_bucket_name(ok), "{ok}");
        }
        for bad in [
            "ab",
            &"a".repeat(64),
            "My-Bucket",
            "-abc",
            "abc-",
            "a..b",
            "192.168.5.4",
            "xn--abc",
            "sthree-abc",
            "abc-s3alias",
            "abc--ol-s3",
            "a_b",
            "abc.",
        ] {
            assert!(!is_valid_bucket_name(bad), "{bad}");
        }
    }

    #[test]
    fn keys_are_limited_to_1024_bytes() {
        assert!(check_key("a/b/c").is_ok());
        assert!(check_key(&"é".repeat(512)).is_ok());
        assert!(matches!(
            check_key(&"é".repeat(513)),
            Err(S3Error::KeyTooLongError(_))
        ));
        assert!(check_key("").is_err());
    }
}
