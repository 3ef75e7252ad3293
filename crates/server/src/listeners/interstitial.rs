//! CAPTCHA and Challenge on the listener: the interstitials a web ACL's `Captcha` and
//! `Challenge` rules answer with when a request has no valid, unexpired `aws-waf-token`
//! (AWS's statuses and `x-amzn-waf-action` header), and the verification paths under
//! [`PREFIX`] that check an answer and set the cookie.
//!
//! - Challenge: 202 and a page whose script finds a nonce such that SHA-256(seed ‖ nonce)
//!   starts with `POW_BITS` zero bits, then posts it to `PREFIX/challenge`.
//! - CAPTCHA: 405 and a page showing digits drawn as SVG strokes, which a person types and
//!   posts to `PREFIX/captcha`. This puzzle is Rampart's own, not AWS's.
//!
//! A correct answer gets `303 See Other` back to the page first asked for, with the
//! `aws-waf-token` cookie (signed by the token key) carrying the solve time.

use bytes::Bytes;
use http_body_util::Full;
use hyper::{header::HeaderValue, Response, StatusCode};
use rampart_services::wafv2::engine::{
    token::{self, SeedKind, Token, TokenKey, TokenState},
    WebAcl,
};

/// Where the listener takes answers (ahead of the web ACL and the listener's rules).
pub const PREFIX: &str = "/.rampart-waf/";
/// The cookie.
pub const COOKIE: &str = "aws-waf-token";
/// How long a browser keeps the cookie (the timestamps inside decide what it is worth).
const COOKIE_MAX_AGE: u64 = 4 * 24 * 3600;

type Reply = Response<Full<Bytes>>;

/// The request's token, read from its `aws-waf-token` cookie.
pub fn token_of(
    req: &rampart_services::wafv2::engine::fields::Request,
    key: &TokenKey,
) -> TokenState {
    req.cookies()
        .into_iter()
        .find(|(name, _)| *name == COOKIE)
        .map_or(TokenState::Absent, |(_, value)| key.read(value))
}

/// The interstitial for a request a `Captcha` (`captcha`) or `Challenge` rule stopped: 405 or
/// 202 with `x-amzn-waf-action`, and the page when the client accepts HTML.
pub fn interstitial(
    captcha: bool,
    accepts_html: bool,
    back: &str,
    key: &TokenKey,
    now: u64,
) -> Reply {
    let (status, action) = if captcha {
        (StatusCode::METHOD_NOT_ALLOWED, "captcha")
    } else {
        (StatusCode::ACCEPTED, "challenge")
    };
    let body = match (accepts_html, captcha) {
        (false, _) => String::new(),
        (true, true) => captcha_page(key, now, back, false),
        (true, false) => challenge_page(key, now, back),
    };
    let mut r = Response::new(Full::new(Bytes::from(body)));
    *r.status_mut() = status;
    let h = r.headers_mut();
    h.insert("server", HeaderValue::from_static("awselb/2.0"));
    h.insert("x-amzn-waf-action", HeaderValue::from_static(action));
    h.insert(
        "cache-control",
        HeaderValue::from_static("no-store, max-age=0"),
    );
    if accepts_html {
        h.insert(
            "content-type",
            HeaderValue::from_static("text/html; charset=utf-8"),
        );
    }
    r
}

/// An answer posted to [`PREFIX`]`challenge` or `captcha` (a form: `seed` and `nonce`, or
/// `puzzle` and `answer`; `return`, the path to go back to). A correct one gets the cookie
/// and a redirect; a wrong or stale one gets a fresh interstitial.
pub fn verify(
    path: &str,
    form: &[u8],
    req: &rampart_services::wafv2::engine::fields::Request,
    acl: &WebAcl,
    key: &TokenKey,
    now: u64,
    secure: bool,
) -> Reply {
    let fields: Vec<(String, String)> = form_urlencoded::parse(form).into_owned().collect();
    let get = |name: &str| {
        fields
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .unwrap_or_default()
    };
    let back = safe_return(get("return"));
    let captcha = match path.strip_prefix(PREFIX) {
        Some("challenge") => false,
        Some("captcha") => true,
        _ => return not_found(),
    };
    if req.method != "POST" {
        return not_found();
    }
    let solved = if captcha {
        let puzzle = get("puzzle");
        key.seed_valid(puzzle, SeedKind::Captcha, now)
            && get("answer").trim() == key.puzzle_answer(puzzle)
    } else {
        let seed = get("seed");
        key.seed_valid(seed, SeedKind::Challenge, now) && token::pow_solved(seed, get("nonce"))
    };
    if !solved {
        if captcha {
            let mut r = interstitial(true, false, &back, key, now);
            *r.body_mut() = Full::new(Bytes::from(captcha_page(key, now, &back, true)));
            r.headers_mut().insert(
                "content-type",
                HeaderValue::from_static("text/html; charset=utf-8"),
            );
            return r;
        }
        return interstitial(false, true, &back, key, now);
    }
    let host = req.host();
    let domain = token::domain_for(&host, &acl.token_domains);
    // A solve keeps what the client's current token for the same domain already proves.
    let mut t = match &req.token {
        TokenState::Valid(t) if t.domain == domain => t.clone(),
        _ => Token {
            id: token::random_hex(16),
            challenge_at: 0,
            captcha_at: 0,
            domain: domain.clone(),
        },
    };
    t.challenge_at = now;
    if captcha {
        t.captcha_at = now;
    }
    let mut cookie = format!(
        "{COOKIE}={}; Path=/; Max-Age={COOKIE_MAX_AGE}; SameSite=Lax",
        key.mint(&t)
    );
    if domain != host {
        cookie.push_str(&format!("; Domain={domain}"));
    }
    if secure {
        cookie.push_str("; Secure");
    }
    let mut r = Response::new(Full::new(Bytes::new()));
    *r.status_mut() = StatusCode::SEE_OTHER;
    let h = r.headers_mut();
    h.insert("server", HeaderValue::from_static("awselb/2.0"));
    h.insert("cache-control", HeaderValue::from_static("no-store"));
    if let Ok(v) = HeaderValue::from_str(&back) {
        h.insert("location", v);
    }
    if let Ok(v) = HeaderValue::from_str(&cookie) {
        h.insert("set-cookie", v);
    }
    r
}

fn not_found() -> Reply {
    let mut r = Response::new(Full::new(Bytes::from_static(b"404 Not Found")));
    *r.status_mut() = StatusCode::NOT_FOUND;
    r
}

/// A path on this site to go back to (never another site's: `//host` and `/\host` are not
/// paths browsers keep on this site), else `/`.
fn safe_return(back: &str) -> String {
    let ok = back.starts_with('/')
        && !back.starts_with("//")
        && !back.starts_with("/\\")
        && !back.starts_with(PREFIX)
        && back.bytes().all(|b| b.is_ascii_graphic());
    if ok {
        back.to_string()
    } else {
        "/".to_string()
    }
}

/// Text safe inside an HTML attribute or element.
fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

/// The challenge page: a proof of work in plain JavaScript (SHA-256 written out, so it runs
/// over plain HTTP where `crypto.subtle` is not offered).
fn challenge_page(key: &TokenKey, now: u64, back: &str) -> String {
    let seed = key.seed(SeedKind::Challenge, now);
    format!(
        r#"<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>Checking your browser</title></head>
<body>
<noscript>This site checks that you are a person, which needs JavaScript.</noscript>
<p id="status">Checking your browser&hellip;</p>
<form id="answer" method="POST" action="{PREFIX}challenge">
<input type="hidden" name="seed" value="{seed}">
<input type="hidden" name="nonce" value="">
<input type="hidden" name="return" value="{back}">
</form>
<script>
{script}
solve({seed:?}, {bits}, function (nonce) {{
  var form = document.getElementById("answer");
  form.elements["nonce"].value = nonce;
  form.submit();
}});
</script>
</body></html>
"#,
        seed = escape(&seed),
        back = escape(back),
        script = POW_SCRIPT,
        bits = token::POW_BITS,
    )
}

/// The proof-of-work script: `solve(seed, bits, done)` calls `done(nonce)` with the first
/// decimal nonce whose SHA-256(seed + nonce) starts with `bits` (at most 32) zero bits.
const POW_SCRIPT: &str = r#"var K = new Uint32Array([
0x428a2f98,0x71374491,0xb5c0fbcf,0xe9b5dba5,0x3956c25b,0x59f111f1,0x923f82a4,0xab1c5ed5,
0xd807aa98,0x12835b01,0x243185be,0x550c7dc3,0x72be5d74,0x80deb1fe,0x9bdc06a7,0xc19bf174,
0xe49b69c1,0xefbe4786,0x0fc19dc6,0x240ca1cc,0x2de92c6f,0x4a7484aa,0x5cb0a9dc,0x76f988da,
0x983e5152,0xa831c66d,0xb00327c8,0xbf597fc7,0xc6e00bf3,0xd5a79147,0x06ca6351,0x14292967,
0x27b70a85,0x2e1b2138,0x4d2c6dfc,0x53380d13,0x650a7354,0x766a0abb,0x81c2c92e,0x92722c85,
0xa2bfe8a1,0xa81a664b,0xc24b8b70,0xc76c51a3,0xd192e819,0xd6990624,0xf40e3585,0x106aa070,
0x19a4c116,0x1e376c08,0x2748774c,0x34b0bcb5,0x391c0cb3,0x4ed8aa4a,0x5b9cca4f,0x682e6ff3,
0x748f82ee,0x78a5636f,0x84c87814,0x8cc70208,0x90befffa,0xa4506ceb,0xbef9a3f7,0xc67178f2]);
function sha256first(m) {
  var l = m.length, n = ((l + 72) >> 6) << 6, b = new Uint8Array(n), v = new DataView(b.buffer);
  b.set(m); b[l] = 0x80;
  v.setUint32(n - 4, (l * 8) >>> 0); v.setUint32(n - 8, Math.floor(l / 536870912));
  var H = [0x6a09e667,0xbb67ae85,0x3c6ef372,0xa54ff53a,0x510e527f,0x9b05688c,0x1f83d9ab,0x5be0cd19];
  var W = new Uint32Array(64);
  for (var o = 0; o < n; o += 64) {
    for (var i = 0; i < 16; i++) W[i] = v.getUint32(o + i * 4);
    for (i = 16; i < 64; i++) {
      var x = W[i - 15], y = W[i - 2];
      var s0 = ((x >>> 7) | (x << 25)) ^ ((x >>> 18) | (x << 14)) ^ (x >>> 3);
      var s1 = ((y >>> 17) | (y << 15)) ^ ((y >>> 19) | (y << 13)) ^ (y >>> 10);
      W[i] = (W[i - 16] + s0 + W[i - 7] + s1) | 0;
    }
    var a = H[0], c = H[1], d = H[2], e = H[3], f = H[4], g = H[5], h = H[6], k = H[7];
    for (i = 0; i < 64; i++) {
      var S1 = ((f >>> 6) | (f << 26)) ^ ((f >>> 11) | (f << 21)) ^ ((f >>> 25) | (f << 7));
      var t1 = (k + S1 + ((f & g) ^ (~f & h)) + K[i] + W[i]) | 0;
      var S0 = ((a >>> 2) | (a << 30)) ^ ((a >>> 13) | (a << 19)) ^ ((a >>> 22) | (a << 10));
      var t2 = (S0 + ((a & c) ^ (a & d) ^ (c & d))) | 0;
      k = h; h = g; g = f; f = (e + t1) | 0; e = d; d = c; c = a; a = (t1 + t2) | 0;
    }
    H[0] = (H[0] + a) | 0; H[1] = (H[1] + c) | 0; H[2] = (H[2] + d) | 0; H[3] = (H[3] + e) | 0;
    H[4] = (H[4] + f) | 0; H[5] = (H[5] + g) | 0; H[6] = (H[6] + h) | 0; H[7] = (H[7] + k) | 0;
  }
  return H[0] >>> 0;
}
function solve(seed, bits, done) {
  var enc = new TextEncoder(), nonce = 0;
  function work() {
    var until = Date.now() + 50;
    while (Date.now() < until) {
      for (var j = 0; j < 500; j++, nonce++) {
        if (Math.clz32(sha256first(enc.encode(seed + nonce))) >= bits) { done(String(nonce)); return; }
      }
    }
    setTimeout(work, 0);
  }
  work();
}"#;

/// The CAPTCHA page: the puzzle's digits as seven-segment strokes in SVG, each digit turned
/// a little, and a form for the answer.
fn captcha_page(key: &TokenKey, now: u64, back: &str, retry: bool) -> String {
    let puzzle = key.seed(SeedKind::Captcha, now);
    let answer = key.puzzle_answer(&puzzle);
    let svg = digits_svg(&answer);
    let note = if retry {
        "<p>That was not right; here is a new one.</p>"
    } else {
        ""
    };
    format!(
        r#"<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>Are you a person?</title></head>
<body>
<h1>Let's confirm you are human</h1>
{note}
<p>Type the digits you see.</p>
{svg}
<form method="POST" action="{PREFIX}captcha">
<input type="hidden" name="puzzle" value="{puzzle}">
<input type="hidden" name="return" value="{back}">
<input name="answer" inputmode="numeric" autocomplete="off" autofocus>
<button type="submit">Confirm</button>
</form>
</body></html>
"#,
        puzzle = escape(&puzzle),
        back = escape(back),
    )
}

/// The segments (a to g) each digit lights, and where each runs in a 20 × 40 cell.
const SEGMENTS: [(u8, u8, u8, u8); 7] = [
    (2, 2, 18, 2),
    (18, 2, 18, 20),
    (18, 20, 18, 38),
    (2, 38, 18, 38),
    (2, 20, 2, 38),
    (2, 2, 2, 20),
    (2, 20, 18, 20),
];
const LIT: [u8; 10] = [
    0b011_1111, 0b000_0110, 0b101_1011, 0b100_1111, 0b110_0110, 0b110_1101, 0b111_1101, 0b000_0111,
    0b111_1111, 0b110_1111,
];

fn digits_svg(answer: &str) -> String {
    let mut noise = [0u8; 32];
    let _ = aws_lc_rs::rand::fill(&mut noise);
    let mut out = String::from(
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="220" height="70" viewBox="0 0 220 70" role="img" aria-label="puzzle">"#,
    );
    for (i, d) in answer.bytes().enumerate() {
        let lit = LIT
            .get(usize::from(d.wrapping_sub(b'0')))
            .copied()
            .unwrap_or(0);
        let jitter = noise.get(i).copied().unwrap_or(0);
        let x = 15 + i * 40 + usize::from(jitter % 7);
        let y = 12 + usize::from(jitter / 7 % 9);
        let turn = i32::from(jitter % 21) - 10;
        out.push_str(&format!(
            r##"<g transform="translate({x} {y}) rotate({turn} 10 20)" stroke="#333" stroke-width="3" stroke-linecap="round">"##
        ));
        for (s, (x1, y1, x2, y2)) in SEGMENTS.iter().enumerate() {
            if lit & (1 << s) != 0 {
                out.push_str(&format!(
                    r#"<line x1="{x1}" y1="{y1}" x2="{x2}" y2="{y2}"/>"#
                ));
            }
        }
        out.push_str("</g>");
    }
    for pair in noise.get(8..).unwrap_or_default().chunks(4) {
        if let [a, b, c, d] = pair {
            out.push_str(&format!(
                r##"<path d="M{} {} L{} {}" stroke="#999" stroke-width="1"/>"##,
                a % 220,
                b % 70,
                c % 220,
                d % 70
            ));
        }
    }
    out.push_str("</svg>");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_paths_on_this_site_are_returned_to() {
        assert_eq!(safe_return("/app?x=1"), "/app?x=1");
        for bad in [
            "//evil.example",
            "/\\evil",
            "https://evil",
            "",
            "/a b",
            "/.rampart-waf/x",
        ] {
            assert_eq!(safe_return(bad), "/", "{bad}");
        }
    }

    #[test]
    fn each_digit_lights_its_segments() {
        let svg = digits_svg("18");
        let lines = svg.matches("<line").count();
        assert_eq!(lines, 2 + 7);
    }

    #[test]
    fn pages_escape_what_they_echo() {
        assert_eq!(escape(r#"/"><script>"#), "/&quot;&gt;&lt;script&gt;");
    }
}
