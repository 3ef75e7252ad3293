//! The preconditions and ranges of reads: `If-Match`, `If-None-Match`, `If-Modified-Since`,
//! `If-Unmodified-Since` (RFC 9110's order, as S3 applies it) and `Range`.

use crate::error::{S3Error, S3Result};

/// The conditional headers of a request.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Preconditions<'a> {
    /// `If-Match`: ETags (quoted or not), or `*`.
    pub if_match: Option<&'a str>,
    /// `If-None-Match`.
    pub if_none_match: Option<&'a str>,
    /// `If-Modified-Since`, epoch seconds.
    pub if_modified_since: Option<i64>,
    /// `If-Unmodified-Since`, epoch seconds.
    pub if_unmodified_since: Option<i64>,
}

fn etag_matches(list: &str, etag: &str) -> bool {
    list.split(',')
        .map(str::trim)
        .any(|candidate| candidate == "*" || candidate.trim_matches('"') == etag.trim_matches('"'))
}

/// Checks the preconditions against an object's ETag (unquoted) and last-modified time
/// (epoch seconds): `PreconditionFailed` or `NotModified` when the read must not proceed.
/// A true `If-Match` overrides `If-Unmodified-Since`, and a false `If-None-Match` overrides
/// `If-Modified-Since`, as S3 documents.
pub fn check(p: &Preconditions<'_>, etag: &str, last_modified: i64) -> S3Result<()> {
    match p.if_match {
        Some(list) if !etag_matches(list, etag) => return Err(S3Error::precondition()),
        Some(_) => {}
        None => {
            if p.if_unmodified_since.is_some_and(|t| last_modified > t) {
                return Err(S3Error::precondition());
            }
        }
    }
    match p.if_none_match {
        Some(list) if etag_matches(list, etag) => return Err(not_modified()),
        Some(_) => {}
        None => {
            if p.if_modified_since.is_some_and(|t| last_modified <= t) {
                return Err(not_modified());
            }
        }
    }
    Ok(())
}

fn not_modified() -> S3Error {
    S3Error::NotModified("Not Modified".into())
}

/// A satisfiable byte range: first and last byte, inclusive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ByteRange {
    /// The first byte.
    pub first: u64,
    /// The last byte.
    pub last: u64,
}

impl ByteRange {
    /// Its length.
    pub fn len(&self) -> u64 {
        self.last - self.first + 1
    }

    /// Never empty (a range has at least one byte).
    pub fn is_empty(&self) -> bool {
        false
    }

    /// The `Content-Range` value.
    pub fn content_range(&self, size: u64) -> String {
        format!("bytes {}-{}/{size}", self.first, self.last)
    }
}

/// The range a `Range` header asks of an object of `size` bytes: `None` for the whole object
/// (no header, or a header S3 ignores: another unit, several ranges, a malformed one);
/// `InvalidRange` when the range starts past the end.
pub fn range(header: Option<&str>, size: u64) -> S3Result<Option<ByteRange>> {
    let Some(spec) = header.and_then(|h| h.trim().strip_prefix("bytes=")) else {
        return Ok(None);
    };
    if spec.contains(',') {
        return Ok(None);
    }
    let Some((a, b)) = spec.trim().split_once('-') else {
        return Ok(None);
    };
    let (a, b) = (a.trim(), b.trim());
    let parse = |s: &str| s.parse::<u64>().ok();
    let unsatisfiable = || {
        Err(S3Error::InvalidRange(
            "The requested range is not satisfiable".into(),
        ))
    };
    match (a.is_empty(), b.is_empty()) {
        // bytes=-N: the last N bytes.
        (true, false) => {
            let Some(n) = parse(b) else { return Ok(None) };
            if n == 0 || size == 0 {
                return unsatisfiable();
            }
            let n = n.min(size);
            Ok(Some(ByteRange {
                first: size - n,
                last: size - 1,
            }))
        }
        // bytes=A- and bytes=A-B.
        (false, open) => {
            let Some(first) = parse(a) else {
                return Ok(None);
            };
            let last = if open {
                u64::MAX
            } else {
                match parse(b) {
                    Some(last) if last >= first => last,
                    _ => return Ok(None),
                }
            };
            if first >= size {
                return unsatisfiable();
            }
            Ok(Some(ByteRange {
                first,
                last: last.min(size - 1),
            }))
        }
        (true, true) => Ok(None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(h: &str, size: u64) -> S3Result<Option<(u64, u64)>> {
        range(Some(h), size).map(|o| o.map(|r| (r.first, r.last)))
    }

    #[test]
    fn ranges_as_s3_reads_them() {
        assert_eq!(r("bytes=0-9", 100), Ok(Some((0, 9))));
        assert_eq!(r("bytes=90-200", 100), Ok(Some((90, 99))));
        assert_eq!(r("bytes=10-", 100), Ok(Some((10, 99))));
        assert_eq!(r("bytes=-10", 100), Ok(Some((90, 99))));
        assert_eq!(r("bytes=-1000", 100), Ok(Some((0, 99))));
        assert!(matches!(
            r("bytes=100-", 100),
            Err(S3Error::InvalidRange(_))
        ));
        assert!(matches!(r("bytes=-0", 100), Err(S3Error::InvalidRange(_))));
        assert_eq!(r("bytes=5-1", 100), Ok(None));
        assert_eq!(r("bytes=0-1,5-6", 100), Ok(None));
        assert_eq!(r("items=0-1", 100), Ok(None));
        assert_eq!(r("bytes=x-1", 100), Ok(None));
        assert_eq!(range(None, 100), Ok(None));
        let whole = ByteRange { first: 0, last: 99 };
        assert_eq!(whole.len(), 100);
        assert_eq!(whole.content_range(100), "bytes 0-99/100");
    }

    #[test]
    fn preconditions_in_rfc_order() {
        let etag = "abc";
        let at = 1_000;
        let p = |m, nm, ms, us| Preconditions {
            if_match: m,
            if_none_match: nm,
            if_modified_since: ms,
            if_unmodified_since: us,
        };
        assert!(check(&p(Some("\"abc\""), None, None, None), etag, at).is_ok());
        assert!(check(&p(Some("*"), None, None, None), etag, at).is_ok());
        assert!(matches!(
            check(&p(Some("\"x\""), None, None, None), etag, at),
            Err(S3Error::PreconditionFailed(_))
        ));
        // A true If-Match overrides a false If-Unmodified-Since.
        assert!(check(&p(Some("abc"), None, None, Some(10)), etag, at).is_ok());
        assert!(matches!(
            check(&p(None, None, None, Some(10)), etag, at),
            Err(S3Error::PreconditionFailed(_))
        ));
        assert!(matches!(
            check(&p(None, Some("\"abc\""), None, None), etag, at),
            Err(S3Error::NotModified(_))
        ));
        // A false If-None-Match overrides a true If-Modified-Since... check.
        assert!(check(&p(None, Some("\"zzz\""), Some(2_000), None), etag, at).is_ok());
        assert!(matches!(
            check(&p(None, None, Some(1_000), None), etag, at),
            Err(S3Error::NotModified(_))
        ));
        assert!(check(&p(None, None, Some(999), None), etag, at).is_ok());
    }
}
