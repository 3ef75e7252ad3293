//! The date values IAM's legacy parser accepts in `Date*` conditions: an ISO 8601 date or
//! date-time (zone `Z`, `+hh`, `+hh:mm`, `-hh:mm`; fraction up to nine digits) or epoch
//! seconds from 0 to `i64::MAX`.

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

#[cfg(test)]
mod tests {
    use super::legacy_date_ok;

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
