//! Reading a list file from Rampart's S3: the `Location` of a trusted IP list or threat list
//! names an object (`s3://bucket/key`, or an `https://` object URL in path or virtual-hosted
//! style), read through S3's own `GetObject` on the caller's behalf (the one authorizer
//! decides `s3:GetObject` for the caller, with `aws:ViaAWSService`, and the read is audited
//! as invoked by `guardduty.amazonaws.com`), in the bucket's region. The object's blobs are opened at once and read,
//! and unsealed, on the preparation's blocking thread.

use std::{fs::File, io::Read};

use rampart_kit::{
    blob_cipher::{BlobCipher, BlobKey, SEGMENT, TAG},
    context::CallContext,
    db::Db,
    error::ServiceError,
    payload::Segment,
    route::OnBehalfError,
    Payload,
};
use rampart_store::Store;
use serde_json::json;

use crate::{error::GuardDutyError, lists};

/// The largest list file GuardDuty reads (AWS's 35 MB).
const MAX_BYTES: u64 = 35 * 1024 * 1024;

/// The bucket and key a `Location` names.
pub fn parse_location(location: &str) -> Option<(String, String)> {
    let (bucket, key) = if let Some(rest) = location.strip_prefix("s3://") {
        rest.split_once('/')?
    } else {
        let rest = location
            .strip_prefix("https://")
            .or_else(|| location.strip_prefix("http://"))?;
        let (host, path) = rest.split_once('/')?;
        let host = host.split(':').next().unwrap_or(host);
        match host.split_once(".s3") {
            // Virtual-hosted style: `bucket.s3[.region].amazonaws.com/key`.
            Some((bucket, _)) if !bucket.is_empty() => (bucket, path),
            // Path style: `s3[.region].amazonaws.com/bucket/key` (or any host).
            _ => path.split_once('/')?,
        }
    };
    let valid = !bucket.is_empty() && !key.is_empty();
    valid.then(|| (bucket.to_string(), key.to_string()))
}

/// A segment's blob, opened, with what to read of it.
struct Opened {
    file: File,
    segment: Segment,
}

/// The plaintext of one opened segment.
fn read_segment(o: Opened) -> Result<Vec<u8>, ServiceError> {
    let Opened { mut file, segment } = o;
    let mut raw = Vec::new();
    file.read_to_end(&mut raw)
        .map_err(|_| ServiceError::internal())?;
    let plain = match &segment.key {
        None => raw,
        Some(key) => open_sealed(key, &segment.blob, &raw)?,
    };
    let start = usize::try_from(segment.offset).map_err(|_| ServiceError::internal())?;
    let len = usize::try_from(segment.len).map_err(|_| ServiceError::internal())?;
    plain
        .get(start..start.saturating_add(len))
        .map(<[u8]>::to_vec)
        .ok_or_else(ServiceError::internal)
}

/// A sealed blob's plaintext.
fn open_sealed(key: &BlobKey, blob: &str, raw: &[u8]) -> Result<Vec<u8>, ServiceError> {
    let cipher = BlobCipher::new(key, blob);
    let mut out = Vec::with_capacity(raw.len());
    for (index, sealed) in raw.chunks(SEGMENT + TAG).enumerate() {
        let mut segment = sealed.to_vec();
        cipher
            .open(index as u64, &mut segment)
            .map_err(|_| ServiceError::internal())?;
        out.extend_from_slice(&segment);
    }
    Ok(out)
}

/// A list file, opened: read it with [`Fetched::entries`] (blocking).
pub struct Fetched(Vec<Opened>);

impl Fetched {
    /// The list's entries (see `lists::parse`).
    pub fn entries(self) -> Result<Vec<String>, ServiceError> {
        let mut bytes = Vec::new();
        for o in self.0 {
            bytes.extend(read_segment(o)?);
        }
        lists::parse(&bytes).map_err(|_| {
            GuardDutyError::BadRequestException(
                "The request is rejected because the file at the input location is not a valid list.".into(),
            )
            .into()
        })
    }
}

/// Reads the object `location` names as the caller of `ctx`, through S3's `GetObject`.
pub async fn fetch(
    location: &str,
    expected_owner: Option<&str>,
    ctx: &CallContext,
    store: &Store,
) -> Result<Fetched, ServiceError> {
    let invalid_location = || {
        ServiceError::from(GuardDutyError::BadRequestException(
            "The request is rejected because the input location is not a valid Amazon S3 object URL.".into(),
        ))
    };
    let (bucket, key) = parse_location(location).ok_or_else(invalid_location)?;
    let blobs = ctx.payload.blobs().ok_or_else(ServiceError::internal)?;
    let mut via = ctx.on_behalf_of("guardduty");
    via.payload = Payload::with_blobs(blobs.clone());
    // The read goes to the bucket's region, as an SDK follows S3's region redirect.
    let found = rampart_s3::repo::find_bucket(&mut Db::Read(store), &bucket)
        .await
        .map_err(ServiceError::from)?;
    if let Some(b) = found {
        via.region = b.doc.region.clone();
    }
    let mut input = json!({ "Bucket": bucket, "Key": key });
    if let (Some(owner), Some(obj)) = (expected_owner, input.as_object_mut()) {
        obj.insert("ExpectedBucketOwner".into(), json!(owner));
    }
    let route = rampart_s3::route(rampart_s3::Op::GetObject).ok_or_else(ServiceError::internal)?;
    let read = route
        .call_on_behalf(input, &via, store, Db::Read(store))
        .await;
    let body = via.payload.settle(read.is_ok());
    match read {
        Ok(_) => {}
        Err(OnBehalfError::Refused(message)) => {
            return Err(GuardDutyError::AccessDeniedException(message).into())
        }
        Err(OnBehalfError::Failed(err)) if err.code.starts_with("NoSuch") => {
            return Err(GuardDutyError::BadRequestException(format!(
                "The request is rejected because the input location cannot be read: {}",
                err.message
            ))
            .into())
        }
        Err(OnBehalfError::Failed(err)) => return Err(err),
    }
    let body = body.unwrap_or_default();
    if body.len() > MAX_BYTES {
        return Err(GuardDutyError::BadRequestException(
            "The request is rejected because the file at the input location is larger than 35 MB."
                .into(),
        )
        .into());
    }
    let mut opened = Vec::with_capacity(body.segments.len());
    for segment in body.segments {
        let file = File::open(blobs.path_of(&segment.blob)).map_err(|_| invalid_location())?;
        opened.push(Opened { file, segment });
    }
    Ok(Fetched(opened))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locations_name_a_bucket_and_key() {
        let bk = |b: &str, k: &str| Some((b.to_string(), k.to_string()));
        assert_eq!(
            parse_location("s3://lists/threats.txt"),
            bk("lists", "threats.txt")
        );
        assert_eq!(
            parse_location("https://lists.s3.amazonaws.com/a/threats.txt"),
            bk("lists", "a/threats.txt")
        );
        assert_eq!(
            parse_location("https://lists.s3.us-east-1.amazonaws.com/t.txt"),
            bk("lists", "t.txt")
        );
        assert_eq!(
            parse_location("https://s3.us-east-1.amazonaws.com/lists/t.txt"),
            bk("lists", "t.txt")
        );
        assert_eq!(
            parse_location("http://127.0.0.1:4566/lists/t.txt"),
            bk("lists", "t.txt")
        );
        assert_eq!(parse_location("s3://lists"), None);
        assert_eq!(parse_location("ftp://x/y"), None);
    }
}
