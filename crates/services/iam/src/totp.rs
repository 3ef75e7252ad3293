//! Time-based one-time passwords (RFC 6238) for virtual MFA devices: seeds, the otpauth QR
//! code, code checks with a bounded clock tolerance, and the throttle on wrong codes.
//!
//! The arithmetic is totp-rs's (HMAC-SHA1, 30 s steps, 6 digits, as authenticator apps use);
//! this module decides which time steps are acceptable and keeps codes single-use.

use std::{
    collections::HashMap,
    sync::{Mutex, OnceLock},
};

use aws_lc_rs::rand::{SecureRandom, SystemRandom};
use chrono::{DateTime, Duration, Utc};
use subtle_eq::ct_eq;
use totp_rs::{Algorithm, Secret, TOTP};

/// Seconds per time step.
pub const STEP_SECS: i64 = 30;
/// Digits per code.
pub const DIGITS: usize = 6;
/// Random bytes per seed (AWS's seeds are 64 Base32 characters, i.e. 40 bytes).
pub const SEED_BYTES: usize = 40;
/// Steps either side of now accepted when signing in or calling STS (clock drift and typing
/// time: a code is good for about a minute and a half).
pub const AUTH_WINDOW: i64 = 1;
/// Steps either side of now searched for the two consecutive codes of `EnableMFADevice` and
/// `ResyncMFADevice` (a device clock off by up to ten minutes can be (re)synchronised).
pub const SYNC_WINDOW: i64 = 20;
/// Wrong codes in a row before a device is throttled.
pub const MAX_FAILURES: u32 = 5;
/// How long a throttled device refuses every code.
pub const THROTTLE_SECS: i64 = 300;

/// A fresh random seed as raw bytes.
pub fn new_seed() -> Option<Vec<u8>> {
    let mut bytes = vec![0u8; SEED_BYTES];
    SystemRandom::new().fill(&mut bytes).ok()?;
    Some(bytes)
}

/// The Base32 (RFC 4648, unpadded) text of a seed, as authenticator apps take it.
pub fn base32(seed: &[u8]) -> String {
    match Secret::Raw(seed.to_vec()).to_encoded() {
        Secret::Encoded(s) => s,
        Secret::Raw(_) => String::new(),
    }
}

/// The time step of an instant.
pub fn step_of(at: DateTime<Utc>) -> i64 {
    at.timestamp().div_euclid(STEP_SECS)
}

/// The code a seed shows during time step `step`.
pub fn code_at(seed: &[u8], step: i64) -> String {
    let mut totp = TOTP::new_unchecked(Algorithm::SHA1, DIGITS, 0, STEP_SECS as u64, seed.to_vec());
    let code = totp.generate(u64::try_from(step.max(0) * STEP_SECS).unwrap_or(0));
    zeroize::Zeroize::zeroize(&mut totp.secret);
    code
}

/// True for a six-digit code.
pub fn well_formed(code: &str) -> bool {
    code.len() == DIGITS && code.bytes().all(|b| b.is_ascii_digit())
}

/// The step within `window` of `now` whose code is `code`, later than `after` (codes are
/// single-use: a step at or before the last accepted one never matches again).
pub fn find_step(
    seed: &[u8],
    code: &str,
    now: DateTime<Utc>,
    window: i64,
    after: Option<i64>,
) -> Option<i64> {
    if !well_formed(code) {
        return None;
    }
    let centre = step_of(now);
    // Nearest steps first, so a code valid twice in a wide window resolves to the likelier one.
    let mut offsets: Vec<i64> = (-window..=window).collect();
    offsets.sort_by_key(|o| (o.abs(), *o));
    offsets
        .into_iter()
        .map(|o| centre + o)
        .filter(|s| after.is_none_or(|a| *s > a))
        .find(|s| ct_eq(code_at(seed, *s).as_bytes(), code.as_bytes()))
}

/// Two consecutive codes (`first` then `second`) within the sync window, later than `after`;
/// returns the step of the second.
pub fn find_consecutive(
    seed: &[u8],
    first: &str,
    second: &str,
    now: DateTime<Utc>,
    after: Option<i64>,
) -> Option<i64> {
    if !well_formed(first) || !well_formed(second) {
        return None;
    }
    let centre = step_of(now);
    (centre - SYNC_WINDOW..=centre + SYNC_WINDOW)
        .filter(|s| after.is_none_or(|a| *s > a))
        .find(|s| {
            ct_eq(code_at(seed, *s).as_bytes(), first.as_bytes())
                & ct_eq(code_at(seed, *s + 1).as_bytes(), second.as_bytes())
        })
        .map(|s| s + 1)
}

/// The otpauth URI AWS encodes in `QRCodePNG`: `otpauth://totp/NAME@ACCOUNT?secret=BASE32`
/// (device and user names are limited to `[\w+=,.@-]`, which needs no escaping here).
pub fn otpauth_uri(device_name: &str, account_name: &str, base32_seed: &str) -> String {
    format!("otpauth://totp/{device_name}@{account_name}?secret={base32_seed}")
}

/// A PNG image of the QR code of `text` (black modules on white, 4-module quiet zone, 6 px
/// per module), or `None` when the text does not fit a QR code.
pub fn qr_png(text: &str) -> Option<Vec<u8>> {
    const SCALE: usize = 6;
    const QUIET: usize = 4;
    let code = qrcode::QrCode::with_error_correction_level(text, qrcode::EcLevel::M).ok()?;
    let width = code.width();
    let colors = code.to_colors();
    let side = (width + 2 * QUIET) * SCALE;
    let mut pixels = vec![255u8; side * side];
    for (i, c) in colors.iter().enumerate() {
        if *c != qrcode::Color::Dark {
            continue;
        }
        let (mx, my) = (i % width + QUIET, i / width + QUIET);
        for y in my * SCALE..(my + 1) * SCALE {
            let row = y * side;
            if let Some(run) = pixels.get_mut(row + mx * SCALE..row + (mx + 1) * SCALE) {
                run.fill(0);
            }
        }
    }
    let mut out = Vec::new();
    {
        let side32 = u32::try_from(side).ok()?;
        let mut enc = png::Encoder::new(&mut out, side32, side32);
        enc.set_color(png::ColorType::Grayscale);
        enc.set_depth(png::BitDepth::Eight);
        let mut writer = enc.write_header().ok()?;
        writer.write_image_data(&pixels).ok()?;
    }
    Some(out)
}

/// Wrong-code bookkeeping of one device.
#[derive(Debug, Clone, Copy, Default)]
struct Failures {
    count: u32,
    locked_until: Option<DateTime<Utc>>,
}

fn failures() -> &'static Mutex<HashMap<String, Failures>> {
    static MAP: OnceLock<Mutex<HashMap<String, Failures>>> = OnceLock::new();
    MAP.get_or_init(|| Mutex::new(HashMap::new()))
}

/// True while the device (by serial number) refuses every code after repeated wrong ones.
/// Kept in this process: a wrong code fails its request, whose transaction rolls back, so the
/// count cannot live in the store; each node throttles on its own.
pub fn throttled(serial: &str, now: DateTime<Utc>) -> bool {
    let Ok(map) = failures().lock() else {
        return true;
    };
    map.get(serial)
        .and_then(|f| f.locked_until)
        .is_some_and(|until| now < until)
}

/// Records a wrong code; the [`MAX_FAILURES`]th in a row throttles the device.
pub fn record_failure(serial: &str, now: DateTime<Utc>) {
    let Ok(mut map) = failures().lock() else {
        return;
    };
    if map.len() > 100_000 {
        map.clear();
    }
    let f = map.entry(serial.to_string()).or_default();
    if f.locked_until.is_some_and(|u| now >= u) {
        *f = Failures::default();
    }
    f.count += 1;
    if f.count >= MAX_FAILURES {
        f.locked_until = Some(now + Duration::seconds(THROTTLE_SECS));
    }
}

/// Clears a device's wrong-code count after a good code.
pub fn record_success(serial: &str) {
    if let Ok(mut map) = failures().lock() {
        map.remove(serial);
    }
}

mod subtle_eq {
    /// Constant-time equality of two byte strings of public length.
    pub fn ct_eq(a: &[u8], b: &[u8]) -> bool {
        a.len() == b.len() && aws_lc_rs::constant_time::verify_slices_are_equal(a, b).is_ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(secs: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(secs, 0).unwrap()
    }

    #[test]
    fn rfc6238_sha1_vectors() {
        // RFC 6238 appendix B, SHA-1 seed "12345678901234567890", last 6 digits.
        let seed = b"12345678901234567890";
        assert_eq!(code_at(seed, 59 / 30), "287082");
        assert_eq!(code_at(seed, 1_111_111_109 / 30), "081804");
        assert_eq!(code_at(seed, 1_234_567_890 / 30), "005924");
        assert_eq!(code_at(seed, 2_000_000_000 / 30), "279037");
    }

    #[test]
    fn window_and_single_use() {
        let seed = new_seed().unwrap();
        let now = at(1_700_000_000);
        let s = step_of(now);
        let prev = code_at(&seed, s - 1);
        assert_eq!(find_step(&seed, &prev, now, AUTH_WINDOW, None), Some(s - 1));
        // Already used: steps at or before the last accepted one never match again.
        assert_eq!(find_step(&seed, &prev, now, AUTH_WINDOW, Some(s - 1)), None);
        let far = code_at(&seed, s - 3);
        if far != prev && far != code_at(&seed, s) && far != code_at(&seed, s + 1) {
            assert_eq!(find_step(&seed, &far, now, AUTH_WINDOW, None), None);
        }
        assert_eq!(find_step(&seed, "12a456", now, AUTH_WINDOW, None), None);
    }

    #[test]
    fn consecutive_codes_sync() {
        let seed = new_seed().unwrap();
        let now = at(1_700_000_000);
        let s = step_of(now) + 7;
        let (a, b) = (code_at(&seed, s), code_at(&seed, s + 1));
        assert_eq!(find_consecutive(&seed, &a, &b, now, None), Some(s + 1));
        assert!(find_consecutive(&seed, &b, &a, now, None).is_none());
        assert_eq!(find_consecutive(&seed, &a, &b, now, Some(s + 1)), None);
    }

    #[test]
    fn seeds_encode_as_64_base32_chars() {
        let seed = new_seed().unwrap();
        let b32 = base32(&seed);
        assert_eq!(b32.len(), 64);
        assert!(b32
            .bytes()
            .all(|c| c.is_ascii_uppercase() || (b'2'..=b'7').contains(&c)));
    }

    #[test]
    fn qr_png_is_a_png() {
        let uri = otpauth_uri("alice-phone", "alice", "JBSWY3DPEHPK3PXP");
        assert_eq!(
            uri,
            "otpauth://totp/alice-phone@alice?secret=JBSWY3DPEHPK3PXP"
        );
        let png = qr_png(&uri).unwrap();
        assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
    }

    #[test]
    fn throttle_after_repeated_failures() {
        let serial = format!("arn:aws:iam::1:mfa/t{}", uuid::Uuid::new_v4());
        let now = at(1_700_000_000);
        for _ in 0..MAX_FAILURES - 1 {
            record_failure(&serial, now);
        }
        assert!(!throttled(&serial, now));
        record_failure(&serial, now);
        assert!(throttled(&serial, now));
        assert!(!throttled(&serial, now + Duration::seconds(THROTTLE_SECS)));
        record_success(&serial);
        assert!(!throttled(&serial, now));
    }

    proptest::proptest! {
        /// A code is never accepted twice, and a good code within the window is accepted once
        /// whatever the seed and the time.
        #[test]
        fn codes_are_single_use(seed in proptest::collection::vec(proptest::prelude::any::<u8>(), 20..64),
                                secs in 1_000_000_000i64..4_000_000_000i64,
                                offset in -AUTH_WINDOW..=AUTH_WINDOW) {
            let now = at(secs);
            let step = step_of(now) + offset;
            let code = code_at(&seed, step);
            let accepted = find_step(&seed, &code, now, AUTH_WINDOW, None);
            proptest::prop_assert!(accepted.is_some());
            let used = accepted.unwrap_or_default();
            // Once the accepted step is recorded, no step at or before it matches again.
            let again = find_step(&seed, &code, now, AUTH_WINDOW, Some(used));
            proptest::prop_assert!(again.is_none_or(|s| s > used));
            proptest::prop_assert!(find_step(&seed, &code, now, AUTH_WINDOW, Some(step_of(now) + AUTH_WINDOW)).is_none());
        }
    }
}
