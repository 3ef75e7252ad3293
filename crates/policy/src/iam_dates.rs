//! The date values IAM's legacy parser accepts in `Date*` conditions: an ISO 8601 date or
//! date-time (zone `Z`, `+hh`, `+hh:mm`, `-hh:mm`; fraction up to nine digits) or epoch
//! seconds from 0 to `i64::MAX`. [`legacy_date_millis`] reads every value it accepts, so the
//! engine compiles each document IAM accepts (a year alone, a one-digit hour, an hour-only zone).

/// True when IAM's legacy parser accepts `value` as a date.
pub fn legacy_date_ok(value: &str) -> bool {
    let lower = value.to_ascii_lowercase();
    if lower.contains('t') || lower.contains('-') {
        iso_ok(&lower).is_some()
    } else {
        lower.parse::<i64>().is_ok_and(|n| n >= 0)
    }
}

fn int_in(s: &str, lo: i64, hi: i64) -> Option<()> {
    let n: i64 = s.parse().ok()?;
    (lo..=hi).contains(&n).then_some(())
}

fn iso_ok(v: &str) -> Option<()> {
    let (date, time) = v.split_once('t').unwrap_or((v, ""));
    let (negative, date) = match date.strip_prefix('-') {
        Some(d) => (true, d),
        None => (false, date),
    };
    let parts: Vec<&str> = date.split('-').collect();
    if parts.len() > 3 {
        return None;
    }
    let mut parts = parts.into_iter();
    let year = parts.next()?;
    let year = if negative {
        format!("-{year}")
    } else {
        year.to_string()
    };
    int_in(&year, -292_275_054, 292_278_993)?;
    if let Some(m) = parts.next() {
        int_in(m, 1, 12)?;
    }
    if let Some(d) = parts.next() {
        int_in(d, 1, 31)?;
    }
    time_ok(time)
}

fn time_ok(time: &str) -> Option<()> {
    let (clock, zone) = split_zone(time);
    let mut parts = clock.split(':');
    match parts.next() {
        Some("") | None => {}
        Some(h) => int_in(h, 0, 23)?,
    }
    if let Some(m) = parts.next() {
        int_in(m, 0, 59)?;
    }
    if let Some(s) = parts.next() {
        let (secs, frac) = s.split_once('.').unwrap_or((s, ""));
        int_in(secs, 0, 59)?;
        if s.contains('.') {
            int_in(frac, 0, 999_999_999)?;
        }
    }
    if parts.next().is_some() {
        return None;
    }
    zone_ok(zone)
}

/// Splits `hh:mm:ss[.f]` from its zone (`z`, `+hh[:mm]`, `-hh[:mm]`).
fn split_zone(time: &str) -> (&str, &str) {
    match time.find(['z', '+', '-']) {
        Some(i) => time.split_at(i),
        None => (time, ""),
    }
}

fn zone_ok(zone: &str) -> Option<()> {
    if zone.is_empty() || zone == "z" {
        return Some(());
    }
    let offset = zone.strip_prefix(['+', '-'])?;
    let (h, m) = offset.split_once(':').unwrap_or((offset, ""));
    (h.len() == 2).then_some(())?;
    int_in(h, 0, 23)?;
    if offset.contains(':') {
        (m.len() == 2).then_some(())?;
        int_in(m, 0, 59)?;
    }
    Some(())
}

/// The instant a value [`legacy_date_ok`] accepts stands for, in milliseconds since the epoch
/// (UTC; missing parts are the start of their period; saturated at `i64`'s range).
pub fn legacy_date_millis(value: &str) -> Option<i64> {
    if !legacy_date_ok(value) {
        return None;
    }
    let lower = value.to_ascii_lowercase();
    if !(lower.contains('t') || lower.contains('-')) {
        return lower.parse::<i64>().ok().map(|n| n.saturating_mul(1000));
    }
    let (date, time) = lower.split_once('t').unwrap_or((&lower, ""));
    let (sign, date) = match date.strip_prefix('-') {
        Some(d) => (-1, d),
        None => (1, date),
    };
    let mut parts = date.split('-');
    let year = sign * parts.next()?.parse::<i64>().ok()?;
    let month = parts.next().map_or(Some(1), |m| m.parse::<i64>().ok())?;
    let day = parts.next().map_or(Some(1), |d| d.parse::<i64>().ok())?;
    let (clock, zone) = split_zone(time);
    let mut clock = clock.split(':');
    let hour = number_or_zero(clock.next())?;
    let minute = number_or_zero(clock.next())?;
    let (second, fraction) = clock
        .next()
        .map_or(("0", ""), |s| s.split_once('.').unwrap_or((s, "")));
    let millis_of_second: i64 = format!("{fraction:0<3}").get(..3)?.parse().ok()?;
    let seconds = days_from_civil(year, month, day)
        .saturating_mul(86_400)
        .saturating_add(hour * 3_600 + minute * 60 + second.parse::<i64>().ok()?)
        .saturating_sub(zone_seconds(zone)?);
    Some(
        seconds
            .saturating_mul(1000)
            .saturating_add(millis_of_second),
    )
}

/// A clock part, `0` when absent or empty (`t` alone).
fn number_or_zero(part: Option<&str>) -> Option<i64> {
    match part {
        None | Some("") => Some(0),
        Some(n) => n.parse().ok(),
    }
}

/// A zone's offset east of UTC in seconds (`z` or none: 0).
fn zone_seconds(zone: &str) -> Option<i64> {
    let Some(offset) = zone.strip_prefix(['+', '-']) else {
        return Some(0);
    };
    let sign = if zone.starts_with('-') { -1 } else { 1 };
    let (h, m) = offset.split_once(':').unwrap_or((offset, "0"));
    Some(sign * (h.parse::<i64>().ok()? * 3_600 + m.parse::<i64>().ok()? * 60))
}

/// Days from 1970-01-01 to a proleptic Gregorian date (Hinnant's `days_from_civil`; a day
/// past its month's end runs into the next month, as IAM's parser lets it).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let year_of_era = y - era * 400;
    let day_of_year = (153 * ((month + 9) % 12) + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

#[cfg(test)]
mod tests {
    use super::{legacy_date_millis, legacy_date_ok};

    #[test]
    fn accepted_dates_have_their_instant() {
        let at = |s| legacy_date_millis(s).unwrap();
        assert_eq!(at("1970-01-01"), 0);
        assert_eq!(at("2019-07-01T13:20:15Z"), 1_561_987_215_000);
        assert_eq!(at("2019-07-01T13:20:15.5+02:00"), 1_561_980_015_500);
        assert_eq!(at("2016-12-13t2:00:00.593194+23"), 1_481_511_600_593);
        assert_eq!(at("01T"), -62_135_596_800_000);
        assert_eq!(at("1700000000"), 1_700_000_000_000);
        assert!(at("-292275054") < at("01T"));
        assert_eq!(legacy_date_millis("2024-01-01T25:00:00Z"), None);
    }

    #[test]
    fn dates_as_iam_reads_them() {
        for ok in [
            "2019-07-01T13:20:15Z",
            "2016-12-13T21:20:37.593194+00:00",
            "2016-12-13t2:00:00.593194+23",
            "-292275054",
            "01T",
            "2024-01-01",
            "1700000000",
        ] {
            assert!(legacy_date_ok(ok), "{ok}");
        }
        for bad in [
            "sdfdsf",
            "234-13",
            "2016-12-13t2:00:00.593194+1",
            "2016-12-13t2:00:00.1999999999+10:59",
            "9223372036854775808",
            "2024-01-01T25:00:00Z",
        ] {
            assert!(!legacy_date_ok(bad), "{bad}");
        }
    }
}
