//! Random inputs shaped by the model: members that fit their shapes (names of the fixture's
//! resources some of the time), and, in hostile cases, mutations that break them (missing
//! required members, wrong types, too long, out of range, garbage tokens, unicode).

use std::collections::HashMap;

use base64::Engine as _;
use rampart_model::{Location, Operation, Protocol, Service, Shape, ShapeId, ShapeKind};
use serde_json::{json, Map, Value};

/// Deepest structure generated; deeper members are left out.
const MAX_DEPTH: usize = 8;

/// A small seeded generator (SplitMix64): the same seed gives the same inputs.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `0..n` (`0` when `n` is 0).
    pub fn below(&mut self, n: u64) -> u64 {
        if n == 0 {
            0
        } else {
            self.next_u64() % n
        }
    }

    /// True `percent` times in a hundred.
    pub fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }

    /// A number in `lo..=hi`.
    pub fn between(&mut self, lo: i64, hi: i64) -> i64 {
        if hi <= lo {
            return lo;
        }
        let span = (hi as i128 - lo as i128 + 1) as u128;
        (lo as i128 + (u128::from(self.next_u64()) % span) as i128) as i64
    }

    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }
}

/// Values of existing resources by the member names that take them (`UserName`, `KeyId`, ...).
#[derive(Debug, Default)]
pub struct Pool(HashMap<String, Vec<String>>);

impl Pool {
    pub fn add(&mut self, member: &str, value: impl Into<String>) {
        self.0
            .entry(member.to_string())
            .or_default()
            .push(value.into());
    }

    /// The values for a member: by its name, else any ARN for a member named `*Arn`.
    fn values(&self, member: &str) -> Option<&[String]> {
        if let Some(v) = self.0.get(member) {
            return Some(v);
        }
        if member.ends_with("Arn") || member.ends_with("Arns") {
            return self.0.get("*Arn").map(Vec::as_slice);
        }
        None
    }
}

/// Strings that break something: emptiness, length, encoding, numbers where tokens go.
const HOSTILE_STRINGS: &[&str] = &[
    "",
    " ",
    "18446744073709551615",
    "-9223372036854775808",
    "9223372036854775807",
    "99999999999999999999999999999999",
    "-1",
    "0",
    "ünïcödé ☃ 𝄞 \u{202e}",
    "\u{0}\u{1}\u{7f}",
    "%00%ff",
    "../../../etc/passwd",
    "*",
    ":",
    "arn:",
    "arn:aws:iam::000000000000:root",
    "arn:aws:kms:eu-west-1:999999999999:key/00000000-0000-0000-0000-000000000000",
    "alias/",
    "alias/aws/",
    "r-",
    "ou--",
    "AAAA",
    "eyJ0IjoxfQ==",
    "{}",
    "{\"Version\":\"2012-10-17\",\"Statement\":[]}",
    "{\"Version\":\"2012-10-17\",\"Statement\":{\"Effect\":\"Allow\",\"Action\":\"*\",\"Resource\":\"*\",\"Condition\":{\"NumericLessThan\":{\"aws:MultiFactorAuthAge\":\"18446744073709551615\"}}}}",
    "null",
];

/// Pagination tokens that are not ours: numbers at the edges of every integer type and
/// cursors of each token format (`phase:key`, `v2.time.source.seq`), sent as they are,
/// hex-encoded (IAM and Organizations markers) or base64-encoded (CloudTrail tokens).
const HOSTILE_TOKENS: &[&str] = &[
    "18446744073709551615",
    "18446744073709551000",
    "9223372036854775807",
    "9223372036854775808",
    "4294967296",
    "-1",
    "18446744073709551615:x",
    "0:",
    "v2.9223372036854775807.j.9223372036854775807",
    "v2.-9223372036854775808.t.-9223372036854775808",
    "v2.0.j.18446744073709551615",
    "v1.9223372036854775807.9223372036854775807",
    "not-a-token",
];

fn is_token(member: &str) -> bool {
    matches!(
        member,
        "Marker" | "NextToken" | "StartingToken" | "PaginationToken"
    )
}

/// Integers that break ranges and overflow arithmetic.
fn hostile_integer(rng: &mut Rng, shape: &Shape) -> Value {
    match rng.below(9) {
        0 => json!(u64::MAX),
        1 => json!(i64::MIN),
        2 => json!(i64::MAX),
        3 => json!(-1),
        4 => json!(0),
        5 => json!(2_147_483_648u64),
        6 => json!(shape.max.unwrap_or(1000).saturating_add(1)),
        7 => json!(shape.min.unwrap_or(0).saturating_sub(1)),
        _ => json!(1.5),
    }
}

/// Builds one operation's input.
pub struct Generator<'a> {
    pub service: &'static Service,
    pub rng: &'a mut Rng,
    pub pool: &'a Pool,
    /// Whether mutations are allowed in this input.
    pub hostile: bool,
    /// Whether optional members are left out (a minimal input).
    pub minimal: bool,
    /// How often (percent) a member draws from the pool of existing resources: less for
    /// `Create*`, whose names must be new.
    pub reuse: u64,
}

impl Generator<'_> {
    pub fn input(&mut self, op: &Operation) -> Value {
        match op.input {
            Some(id) => self.structure(id, 0),
            None => json!({}),
        }
    }

    /// A mutation happens `percent` times in a hundred, in hostile inputs only.
    fn mutate(&mut self, percent: u64) -> bool {
        self.hostile && self.rng.chance(percent)
    }

    fn structure(&mut self, id: ShapeId, depth: usize) -> Value {
        let mut map = Map::new();
        let ShapeKind::Structure(members) = self.service.shape(id).kind else {
            return Value::Object(map);
        };
        for m in members {
            // A path label is always sent and never empty: an SDK refuses a request without
            // one, and an empty one would address another resource (`/bucket/` is the bucket).
            let label = m.location == Location::Uri;
            let include = if label {
                true
            } else if m.required {
                !self.mutate(10)
            } else if is_token(m.name) && self.hostile {
                // Tokens are where caller-controlled numbers meet paging arithmetic.
                self.rng.chance(80)
            } else if self.minimal {
                false
            } else {
                self.rng.chance(if depth == 0 { 40 } else { 25 })
            };
            if include && depth < MAX_DEPTH {
                let mut v = self.value(m.name, m.shape, depth + 1);
                if label && (v.is_null() || v.as_str() == Some("")) {
                    v = json!(self.word(8));
                }
                map.insert(m.name.to_string(), v);
            }
        }
        if self.mutate(3) {
            map.insert("NoSuchMember".into(), json!("x"));
        }
        Value::Object(map)
    }

    /// A value of shape `id` for the member `name` (list items and map values keep the
    /// member's name, so a list of key ids also draws from the pool).
    fn value(&mut self, name: &str, id: ShapeId, depth: usize) -> Value {
        if self.mutate(5) {
            return self.wrong_type();
        }
        let shape = self.service.shape(id);
        match shape.kind {
            ShapeKind::Structure(_) => self.structure(id, depth),
            ShapeKind::List(info) => {
                let n = self.count(shape);
                Value::Array(
                    (0..n)
                        .map(|_| self.value(name, info.member, depth + 1))
                        .collect(),
                )
            }
            ShapeKind::Map(info) => {
                let n = self.count(shape);
                let mut map = Map::new();
                for _ in 0..n {
                    let key = match self.value("", info.key, depth + 1) {
                        Value::String(s) => s,
                        other => other.to_string(),
                    };
                    let v = self.value(name, info.value, depth + 1);
                    map.insert(key, v);
                }
                Value::Object(map)
            }
            ShapeKind::String => self.string(name, shape),
            ShapeKind::Document => json!({"any": ["json", 1, true]}),
            ShapeKind::Integer | ShapeKind::Long => {
                if self.mutate(30) {
                    hostile_integer(self.rng, shape)
                } else {
                    let lo = shape.min.unwrap_or(0);
                    let hi = shape
                        .max
                        .unwrap_or(lo.saturating_add(100))
                        .min(lo.saturating_add(1000));
                    json!(self.rng.between(lo, hi))
                }
            }
            ShapeKind::Float | ShapeKind::Double => {
                if self.mutate(30) {
                    json!(*self.rng.pick(&[1e308, -1e308, -0.0, 1e-320]))
                } else {
                    json!(self.rng.below(1000) as f64 / 10.0)
                }
            }
            ShapeKind::Boolean => json!(self.rng.chance(50)),
            ShapeKind::Timestamp(_) => self.timestamp(),
            ShapeKind::Blob => self.blob(name, shape),
        }
    }

    /// How many items a list or map gets: within its bounds, or just outside in hostile cases.
    fn count(&mut self, shape: &Shape) -> usize {
        let min = shape.min.unwrap_or(0).max(0);
        let max = shape.max.unwrap_or(3).max(min);
        if self.mutate(20) {
            return match self.rng.below(3) {
                0 => 0,
                1 if max < 40 => usize::try_from(max + 1).unwrap_or(0),
                _ => 40,
            };
        }
        let at_least = min.max(i64::from(self.rng.chance(70)));
        usize::try_from(self.rng.between(at_least, max.min(3))).unwrap_or(0)
    }

    fn string(&mut self, name: &str, shape: &Shape) -> Value {
        if is_token(name) && self.mutate(60) {
            let text = *self.rng.pick(HOSTILE_TOKENS);
            return json!(match self.rng.below(3) {
                0 => text.to_string(),
                1 => text.bytes().map(|b| format!("{b:02x}")).collect(),
                _ => base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(text),
            });
        }
        if self.mutate(30) {
            return json!(self.hostile_string(shape));
        }
        if let Some(values) = self.pool.values(name) {
            if self.rng.chance(self.reuse) {
                return json!(self.rng.pick(values).clone());
            }
        }
        if !shape.enum_values.is_empty() {
            return json!(*self.rng.pick(shape.enum_values));
        }
        if name == "Path" || name == "PathPrefix" {
            return json!(*self.rng.pick(&["/", "/fx/"]));
        }
        let min = shape.min.unwrap_or(1).max(1);
        let max = shape.max.unwrap_or(24).max(min);
        let len = self
            .rng
            .between(min, max.min(min.saturating_add(16)).min(64));
        json!(self.word(usize::try_from(len).unwrap_or(1)))
    }

    fn hostile_string(&mut self, shape: &Shape) -> String {
        match self.rng.below(4) {
            0 => {
                // One past the maximum length, within the request size limit.
                let len = shape.max.unwrap_or(300).saturating_add(1).clamp(1, 3000);
                "x".repeat(usize::try_from(len).unwrap_or(1))
            }
            1 if !shape.enum_values.is_empty() => format!("{}x", self.rng.pick(shape.enum_values)),
            _ => (*self.rng.pick(HOSTILE_STRINGS)).to_string(),
        }
    }

    /// Letters and digits that fit most name patterns.
    fn word(&mut self, len: usize) -> String {
        const CHARS: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
        let mut s = String::from("fz");
        while s.len() < len {
            s.push(char::from(*self.rng.pick(CHARS)));
        }
        s.truncate(len);
        s
    }

    fn timestamp(&mut self) -> Value {
        let now = chrono::Utc::now().timestamp();
        let t = now + self.rng.between(-86_400 * 30, 86_400 * 30);
        if self.mutate(30) {
            return match self.rng.below(5) {
                0 => json!(1e20),
                1 => json!(-1e15),
                2 => json!(u64::MAX),
                3 => json!("9999-99-99T99:99:99Z"),
                _ => json!("yesterday"),
            };
        }
        match self.service.protocol {
            Protocol::Json | Protocol::RestJson | Protocol::RestXml => json!(t),
            Protocol::Query => json!(chrono::DateTime::from_timestamp(t, 0)
                .unwrap_or_default()
                .to_rfc3339()),
        }
    }

    fn blob(&mut self, name: &str, shape: &Shape) -> Value {
        if self.mutate(30) {
            return match self.rng.below(3) {
                0 => json!("!!not base64!!"),
                1 => json!(""),
                _ => json!(base64::engine::general_purpose::STANDARD.encode([7u8; 5000])),
            };
        }
        if let Some(values) = self.pool.values(name) {
            if self.rng.chance(self.reuse) {
                return json!(self.rng.pick(values).clone());
            }
        }
        let min = shape.min.unwrap_or(1).max(1);
        let max = shape.max.unwrap_or(64).clamp(min, 64);
        let len = usize::try_from(self.rng.between(min, max)).unwrap_or(1);
        let bytes: Vec<u8> = (0..len).map(|_| self.rng.next_u64() as u8).collect();
        json!(base64::engine::general_purpose::STANDARD.encode(bytes))
    }

    fn wrong_type(&mut self) -> Value {
        match self.rng.below(6) {
            0 => json!(12345),
            1 => json!("not-this-type"),
            2 => json!([1, "two"]),
            3 => json!({"Nested": {"Deeper": []}}),
            4 => json!(true),
            _ => Value::Null,
        }
    }
}
