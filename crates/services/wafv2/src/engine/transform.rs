//! WAF's text transformations, applied in priority order to a request component before it
//! is inspected. Each is a byte-to-byte function, as AWS documents it (ModSecurity's
//! definitions, which AWS WAF follows).

use base64::Engine as _;

/// A text transformation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transform {
    /// `NONE`.
    None,
    /// `LOWERCASE`: A-Z to a-z.
    Lowercase,
    /// `URL_DECODE`: `%XX` and `+` decoded; invalid escapes left as they are.
    UrlDecode,
    /// `URL_DECODE_UNI`: as `URL_DECODE`, and `%uXXXX` (its low byte, as ModSecurity).
    UrlDecodeUni,
    /// `HTML_ENTITY_DECODE`: `&quot;`, `&amp;`, `&lt;`, `&gt;`, `&nbsp;`, `&#N;`, `&#xH;`.
    HtmlEntityDecode,
    /// `COMPRESS_WHITE_SPACE`: `\f \t \n \r \v` and NBSP to spaces, runs of spaces to one.
    CompressWhiteSpace,
    /// `CMD_LINE`: the command-line normalisation.
    CmdLine,
    /// `BASE64_DECODE`: standard Base64 (unchanged when it does not decode).
    Base64Decode,
    /// `BASE64_DECODE_EXT`: Base64 ignoring characters outside the alphabet.
    Base64DecodeExt,
    /// `HEX_DECODE`: pairs of hex digits to bytes (unchanged when it does not decode).
    HexDecode,
    /// `REMOVE_NULLS`: NUL bytes removed.
    RemoveNulls,
    /// `REPLACE_NULLS`: NUL bytes to spaces.
    ReplaceNulls,
}

impl Transform {
    /// The transformation AWS's `Type` names, if Rampart has it.
    pub fn parse(name: &str) -> Option<Transform> {
        Some(match name {
            "NONE" => Transform::None,
            "LOWERCASE" => Transform::Lowercase,
            "URL_DECODE" => Transform::UrlDecode,
            "URL_DECODE_UNI" => Transform::UrlDecodeUni,
            "HTML_ENTITY_DECODE" => Transform::HtmlEntityDecode,
            "COMPRESS_WHITE_SPACE" => Transform::CompressWhiteSpace,
            "CMD_LINE" => Transform::CmdLine,
            "BASE64_DECODE" => Transform::Base64Decode,
            "BASE64_DECODE_EXT" => Transform::Base64DecodeExt,
            "HEX_DECODE" => Transform::HexDecode,
            "REMOVE_NULLS" => Transform::RemoveNulls,
            "REPLACE_NULLS" => Transform::ReplaceNulls,
            _ => return None,
        })
    }

    /// Applies the transformation.
    pub fn apply(self, v: &[u8]) -> Vec<u8> {
        match self {
            Transform::None => v.to_vec(),
            Transform::Lowercase => v.to_ascii_lowercase(),
            Transform::UrlDecode => url_decode(v, false),
            Transform::UrlDecodeUni => url_decode(v, true),
            Transform::HtmlEntityDecode => html_decode(v),
            Transform::CompressWhiteSpace => compress(v),
            Transform::CmdLine => cmd_line(v),
            Transform::Base64Decode => base64::engine::general_purpose::STANDARD
                .decode(v)
                .or_else(|_| base64::engine::general_purpose::STANDARD_NO_PAD.decode(v))
                .unwrap_or_else(|_| v.to_vec()),
            Transform::Base64DecodeExt => {
                let clean: Vec<u8> = v
                    .iter()
                    .copied()
                    .filter(|b| b.is_ascii_alphanumeric() || *b == b'+' || *b == b'/')
                    .collect();
                base64::engine::general_purpose::STANDARD_NO_PAD
                    .decode(&clean)
                    .unwrap_or_else(|_| v.to_vec())
            }
            Transform::HexDecode => hex_decode(v).unwrap_or_else(|| v.to_vec()),
            Transform::RemoveNulls => v.iter().copied().filter(|b| *b != 0).collect(),
            Transform::ReplaceNulls => v.iter().map(|b| if *b == 0 { b' ' } else { *b }).collect(),
        }
    }
}

/// Applies transformations in order.
pub fn apply_all(transforms: &[Transform], v: &[u8]) -> Vec<u8> {
    let mut out = v.to_vec();
    for t in transforms {
        if *t != Transform::None {
            out = t.apply(&out);
        }
    }
    out
}

fn hex_val(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

fn url_decode(v: &[u8], uni: bool) -> Vec<u8> {
    let mut out = Vec::with_capacity(v.len());
    let mut i = 0;
    while let Some(&b) = v.get(i) {
        if b == b'+' {
            out.push(b' ');
            i += 1;
            continue;
        }
        if b == b'%' {
            if uni && matches!(v.get(i + 1), Some(b'u' | b'U')) {
                let digits: Option<Vec<u8>> = (2..6)
                    .map(|k| v.get(i + k).and_then(|c| hex_val(*c)))
                    .collect();
                if let Some(d) = digits {
                    let low = d.get(2).copied().unwrap_or(0) * 16 + d.get(3).copied().unwrap_or(0);
                    out.push(low);
                    i += 6;
                    continue;
                }
            }
            if let (Some(h), Some(l)) = (
                v.get(i + 1).and_then(|c| hex_val(*c)),
                v.get(i + 2).and_then(|c| hex_val(*c)),
            ) {
                out.push(h * 16 + l);
                i += 3;
                continue;
            }
        }
        out.push(b);
        i += 1;
    }
    out
}

fn html_decode(v: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(v.len());
    let mut i = 0;
    while let Some(&b) = v.get(i) {
        if b == b'&' {
            let rest = v.get(i + 1..).unwrap_or_default();
            let end = rest.iter().take(12).position(|c| *c == b';');
            if let Some(end) = end {
                let name = rest.get(..end).unwrap_or_default();
                if let Some(decoded) = entity(name) {
                    out.extend_from_slice(&decoded);
                    i += end + 2;
                    continue;
                }
            }
        }
        out.push(b);
        i += 1;
    }
    out
}

fn entity(name: &[u8]) -> Option<Vec<u8>> {
    let code: u32 = match name {
        b"quot" => 34,
        b"amp" => 38,
        b"lt" => 60,
        b"gt" => 62,
        b"apos" => 39,
        b"nbsp" => 160,
        _ => {
            let n = name.strip_prefix(b"#")?;
            let (digits, radix) = match n.strip_prefix(b"x").or_else(|| n.strip_prefix(b"X")) {
                Some(h) => (h, 16),
                None => (n, 10),
            };
            u32::from_str_radix(std::str::from_utf8(digits).ok()?, radix).ok()?
        }
    };
    // ModSecurity keeps the low byte of a numeric entity.
    if code < 256 {
        Some(vec![u8::try_from(code).ok()?])
    } else {
        let c = char::from_u32(code)?;
        let mut buf = [0u8; 4];
        Some(c.encode_utf8(&mut buf).as_bytes().to_vec())
    }
}

fn is_ws(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c | 0xa0)
}

fn compress(v: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(v.len());
    let mut last_space = false;
    for &b in v {
        if is_ws(b) {
            if !last_space {
                out.push(b' ');
            }
            last_space = true;
        } else {
            out.push(b);
            last_space = false;
        }
    }
    out
}

fn cmd_line(v: &[u8]) -> Vec<u8> {
    let mut out: Vec<u8> = Vec::with_capacity(v.len());
    for &b in v {
        match b {
            b'\\' | b'"' | b'\'' | b'^' => {}
            b'/' | b'(' => {
                while out.last() == Some(&b' ') {
                    out.pop();
                }
                out.push(b);
            }
            b',' | b';' => {
                if out.last() != Some(&b' ') {
                    out.push(b' ');
                }
            }
            b if is_ws(b) => {
                if out.last() != Some(&b' ') {
                    out.push(b' ');
                }
            }
            b => out.push(b.to_ascii_lowercase()),
        }
    }
    out
}

fn hex_decode(v: &[u8]) -> Option<Vec<u8>> {
    if !v.len().is_multiple_of(2) {
        return None;
    }
    v.chunks(2)
        .map(|p| Some(hex_val(*p.first()?)? * 16 + hex_val(*p.get(1)?)?))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn each_transformation_does_what_aws_documents() {
        assert_eq!(Transform::Lowercase.apply(b"SeLeCT"), b"select");
        assert_eq!(Transform::UrlDecode.apply(b"a%20b+c%zz%4"), b"a b c%zz%4");
        assert_eq!(Transform::UrlDecodeUni.apply(b"%u0041x"), b"Ax");
        assert_eq!(
            Transform::HtmlEntityDecode.apply(b"&lt;script&gt;&#65;&#x42;&amp;&bogus;"),
            b"<script>AB&&bogus;"
        );
        assert_eq!(
            Transform::CompressWhiteSpace.apply(b"a \t\n b\x0cc"),
            b"a b c"
        );
        assert_eq!(
            Transform::CmdLine.apply(b"C^MD.E\"XE /c  w'ho,am;i"),
            b"cmd.exe/c who am i"
        );
        assert_eq!(Transform::Base64Decode.apply(b"c2VsZWN0"), b"select");
        assert_eq!(Transform::Base64Decode.apply(b"!!"), b"!!");
        assert_eq!(Transform::Base64DecodeExt.apply(b"c2Vs.ZWN0"), b"select");
        assert_eq!(Transform::HexDecode.apply(b"414a"), b"AJ");
        assert_eq!(Transform::RemoveNulls.apply(b"a\0b"), b"ab");
        assert_eq!(Transform::ReplaceNulls.apply(b"a\0b"), b"a b");
        assert_eq!(
            apply_all(&[Transform::UrlDecode, Transform::Lowercase], b"%53ELECT"),
            b"select"
        );
        assert!(Transform::parse("UNKNOWN").is_none());
    }

    proptest! {
        #[test]
        fn lowercase_is_idempotent_and_keeps_length(v in proptest::collection::vec(any::<u8>(), 0..64)) {
            let once = Transform::Lowercase.apply(&v);
            prop_assert_eq!(once.len(), v.len());
            prop_assert_eq!(Transform::Lowercase.apply(&once), once);
        }

        #[test]
        fn url_decode_inverts_percent_encoding(v in proptest::collection::vec(any::<u8>(), 0..64)) {
            let encoded: String = v.iter().map(|b| format!("%{b:02X}")).collect();
            prop_assert_eq!(Transform::UrlDecode.apply(encoded.as_bytes()), v);
        }

        #[test]
        fn base64_decode_inverts_encoding(v in proptest::collection::vec(any::<u8>(), 1..64)) {
            let encoded = base64::engine::general_purpose::STANDARD.encode(&v);
            prop_assert_eq!(Transform::Base64Decode.apply(encoded.as_bytes()), v);
        }

        #[test]
        fn compressed_white_space_has_no_runs(v in proptest::collection::vec(any::<u8>(), 0..64)) {
            let out = Transform::CompressWhiteSpace.apply(&v);
            prop_assert!(!out.windows(2).any(|w| w == b"  "));
            prop_assert!(out.len() <= v.len());
            prop_assert_eq!(Transform::CompressWhiteSpace.apply(&out), out.clone());
        }

        #[test]
        fn cmd_line_output_is_lowercase_without_deleted_characters(v in proptest::collection::vec(any::<u8>(), 0..64)) {
            let out = Transform::CmdLine.apply(&v);
            prop_assert!(!out.iter().any(|b| matches!(b, b'\\' | b'"' | b'\'' | b'^' | b',' | b';') || b.is_ascii_uppercase()));
            prop_assert!(!out.windows(2).any(|w| w == b" /" || w == b" (" || w == b"  "));
        }
    }
}
