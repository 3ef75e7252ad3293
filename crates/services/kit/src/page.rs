//! Pagination shared by the services: opaque tokens, paging after a sort key and paging by
//! offset. Each service keeps only its own member names (`Marker`/`IsTruncated`,
//! `Marker`/`NextMarker`/`Truncated`, `NextToken`) and its error for a token it refuses.
//!
//! A token is the lowercase hex of a sort key's bytes (an offset's decimal digits for
//! offset paging): opaque to clients, and checked on the way back in.

/// The opaque token of a sort key.
pub fn encode(key: &str) -> String {
    key.bytes().map(|b| format!("{b:02x}")).collect()
}

/// The sort key of a token, if it is one this module issued (hex digits only, of UTF-8 text).
pub fn decode(token: &str) -> Option<String> {
    if !token.len().is_multiple_of(2) || !token.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    let bytes: Option<Vec<u8>> = (0..token.len())
        .step_by(2)
        .map(|i| {
            token
                .get(i..i + 2)
                .and_then(|h| u8::from_str_radix(h, 16).ok())
        })
        .collect();
    String::from_utf8(bytes?).ok()
}

/// One page of a list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page<T> {
    /// The page's items, in list order.
    pub items: Vec<T>,
    /// The token of the next page, when more items follow.
    pub next: Option<String>,
}

impl<T> Page<T> {
    /// True when more items follow.
    pub fn truncated(&self) -> bool {
        self.next.is_some()
    }
}

/// A page of a list sorted by `key`: the items whose key sorts strictly after `after`, at most
/// `max`; the next token is that of the last returned key.
pub fn after_key<T>(
    items: Vec<T>,
    key: impl Fn(&T) -> String,
    after: Option<&str>,
    max: usize,
) -> Page<T> {
    let mut out: Vec<T> = items
        .into_iter()
        .filter(|i| after.is_none_or(|a| key(i).as_str() > a))
        .collect();
    let truncated = out.len() > max;
    out.truncate(max);
    let next = if truncated {
        out.last().map(|i| encode(&key(i)))
    } else {
        None
    };
    Page { items: out, next }
}

/// A zero-padded position, so that computed lists sort and page by position with
/// [`after_key`].
pub fn index_key(i: usize) -> String {
    format!("{i:010}")
}

/// The token of an offset into a list.
pub fn offset_token(offset: usize) -> String {
    encode(&offset.to_string())
}

/// The offset a token names, if it is an offset token.
pub fn offset_of(token: &str) -> Option<usize> {
    decode(token)?.parse().ok()
}

/// The page of at most `max` items starting at the offset `token` names (the start when
/// absent). `None` when the token is not an offset token or names an offset past the end of
/// the list, whatever its size: the service answers with its invalid-token error.
pub fn at_offset<T>(items: Vec<T>, token: Option<&str>, max: usize) -> Option<Page<T>> {
    let start = match token {
        Some(t) => offset_of(t)?,
        None => 0,
    };
    let total = items.len();
    if start > total {
        return None;
    }
    let end = start.saturating_add(max);
    let page: Vec<T> = items.into_iter().skip(start).take(max).collect();
    let next = (end < total).then(|| offset_token(end));
    Some(Page { items: page, next })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn tokens_round_trip_and_reject_garbage() {
        assert_eq!(encode("alice"), "616c696365");
        assert_eq!(decode(&encode("alice")).as_deref(), Some("alice"));
        assert_eq!(decode("").as_deref(), Some(""));
        for bad in ["zz", "abc", "ff", "c3", "+1", "-1", "é0"] {
            assert_eq!(decode(bad), None, "{bad}");
        }
    }

    #[test]
    fn pages_after_a_key() {
        let items = vec!["a", "b", "c"];
        let first = after_key(items.clone(), |s| s.to_string(), None, 2);
        assert_eq!(first.items, vec!["a", "b"]);
        assert!(first.truncated());
        let after = first.next.as_deref().and_then(decode);
        assert_eq!(after.as_deref(), Some("b"));
        let rest = after_key(items.clone(), |s| s.to_string(), after.as_deref(), 2);
        assert_eq!(
            rest,
            Page {
                items: vec!["c"],
                next: None
            }
        );
        let exact = after_key(items, |s| s.to_string(), None, 3);
        assert_eq!(exact.next, None);
        assert_eq!(index_key(7), "0000000007");
    }

    #[test]
    fn pages_by_offset() {
        let items: Vec<u32> = (0..5).collect();
        let first = at_offset(items.clone(), None, 2).unwrap();
        assert_eq!(first.items, vec![0, 1]);
        assert_eq!(first.next.as_deref().and_then(offset_of), Some(2));
        let last = at_offset(items.clone(), first.next.as_deref(), 10).unwrap();
        assert_eq!(
            last,
            Page {
                items: vec![2, 3, 4],
                next: None
            }
        );
        let end = offset_token(5);
        assert_eq!(
            at_offset(items, Some(&end), 2).unwrap(),
            Page {
                items: vec![],
                next: None
            }
        );
    }

    #[test]
    fn offsets_past_the_end_are_refused_without_overflow() {
        let items: Vec<u32> = (0..5).collect();
        let huge = offset_token(usize::MAX);
        for token in [
            huge.as_str(),
            "3138343436373434303733373039353531363135",
            "18446744073709551615",
            "3138343436373434303733373039353531363136",
            "36",
            "2d31",
            "x",
        ] {
            assert_eq!(
                at_offset(items.clone(), Some(token), usize::MAX),
                None,
                "{token}"
            );
        }
        let all = at_offset(items, None, usize::MAX).unwrap();
        assert_eq!((all.items.len(), all.next), (5, None));
    }

    proptest! {
        #[test]
        fn any_key_round_trips(key in ".*") {
            prop_assert_eq!(decode(&encode(&key)), Some(key));
        }

        #[test]
        fn any_offset_round_trips(offset in any::<usize>()) {
            prop_assert_eq!(offset_of(&offset_token(offset)), Some(offset));
        }

        #[test]
        fn offset_pages_cover_the_list_once(len in 0usize..60, max in 1usize..25) {
            let items: Vec<usize> = (0..len).collect();
            let mut seen = Vec::new();
            let mut token: Option<String> = None;
            loop {
                let page = at_offset(items.clone(), token.as_deref(), max).unwrap();
                prop_assert!(page.items.len() <= max);
                seen.extend(page.items);
                match page.next {
                    Some(t) => token = Some(t),
                    None => break,
                }
            }
            prop_assert_eq!(seen, items);
        }
    }
}
