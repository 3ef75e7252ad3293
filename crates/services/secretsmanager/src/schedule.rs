//! Rotation schedules: `RotationRules` checked as AWS checks them, and the next rotation date
//! of `AutomaticallyAfterDays`, `rate(N hours|days)` and `cron(min hour dom month dow year)`
//! (AWS's six-field cron: `?` in day-of-month or day-of-week, names `JAN`-`DEC` and
//! `SUN`-`SAT` with Sunday as 1, lists, ranges, steps and `dow#n`).

use chrono::{DateTime, Datelike, Duration, NaiveDate, Timelike, Utc};

use super::{
    error::{SmError, SmResult},
    model::RotationRules,
};

fn invalid(message: impl Into<String>) -> SmError {
    SmError::InvalidParameterException(message.into())
}

/// Checks rules as `RotateSecret` receives them.
pub fn check(rules: &RotationRules) -> SmResult<()> {
    match (rules.after_days, &rules.schedule) {
        (Some(_), Some(_)) => {
            return Err(invalid(
                "You can't specify both AutomaticallyAfterDays and ScheduleExpression in RotationRules.",
            ))
        }
        (Some(d), None) if !(1..=1000).contains(&d) => {
            return Err(invalid(
                "The AutomaticallyAfterDays value must be between 1 and 1000 days.",
            ))
        }
        (None, Some(expr)) => {
            Schedule::parse(expr)?;
        }
        _ => {}
    }
    if let Some(d) = &rules.duration {
        let hours = parse_duration(d)?;
        if let Some(Schedule::Rate(every)) =
            rules.schedule.as_deref().map(Schedule::parse).transpose()?
        {
            if Duration::hours(hours) >= every {
                return Err(invalid(
                    "The rotation window (Duration) must be shorter than the rotation interval.",
                ));
            }
        }
    }
    Ok(())
}

/// The hours of a `Duration` (`1h` to `24h`).
fn parse_duration(d: &str) -> SmResult<i64> {
    d.strip_suffix('h')
        .and_then(|n| n.parse::<i64>().ok())
        .filter(|n| (1..=24).contains(n))
        .ok_or_else(|| invalid("The Duration value must be between 1h and 24h, in whole hours."))
}

/// When the next rotation is due after `from` (the last rotation, or when rotation was set).
pub fn next_after(rules: &RotationRules, from: DateTime<Utc>) -> SmResult<Option<DateTime<Utc>>> {
    if let Some(days) = rules.after_days {
        return Ok(from.checked_add_signed(Duration::days(days)));
    }
    match rules.schedule.as_deref().map(Schedule::parse).transpose()? {
        Some(Schedule::Rate(every)) => Ok(from.checked_add_signed(every)),
        Some(Schedule::Cron(cron)) => Ok(cron.next_after(from)),
        None => Ok(None),
    }
}

/// A parsed `ScheduleExpression`.
#[derive(Debug)]
enum Schedule {
    Rate(Duration),
    Cron(Box<Cron>),
}

impl Schedule {
    fn parse(expr: &str) -> SmResult<Schedule> {
        let expr = expr.trim();
        if let Some(body) = expr.strip_prefix("rate(").and_then(|r| r.strip_suffix(')')) {
            let mut parts = body.split_whitespace();
            let n = parts.next().and_then(|n| n.parse::<i64>().ok());
            let every = match (n, parts.next(), parts.next()) {
                (Some(n), Some("hours" | "hour"), None) if (4..=23).contains(&n) => Duration::hours(n),
                (Some(n), Some("days" | "day"), None) if (1..=1000).contains(&n) => Duration::days(n),
                _ => {
                    return Err(invalid(
                        "The schedule expression rate() must be rate(N hours) with N from 4 to 23, or rate(N days) with N from 1 to 1000.",
                    ))
                }
            };
            return Ok(Schedule::Rate(every));
        }
        if let Some(body) = expr.strip_prefix("cron(").and_then(|r| r.strip_suffix(')')) {
            return Ok(Schedule::Cron(Box::new(Cron::parse(body)?)));
        }
        Err(invalid(
            "The ScheduleExpression must be a rate() or cron() expression.",
        ))
    }
}

/// A six-field cron expression, each field the set of values it allows.
#[derive(Debug)]
struct Cron {
    minutes: Vec<bool>,
    hours: Vec<bool>,
    /// `None`: `?`.
    days: Option<Vec<bool>>,
    months: Vec<bool>,
    /// Days of the week (1 = Sunday) and the `#n` occurrence, if any; `None`: `?`.
    weekdays: Option<(Vec<bool>, Option<u32>)>,
    years: Option<Vec<bool>>,
}

const MONTHS: [&str; 12] = [
    "JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC",
];
const WEEKDAYS: [&str; 7] = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"];

fn bad_cron() -> SmError {
    invalid("The cron() expression is not valid: it takes six fields (minutes hours day-of-month month day-of-week year), with ? in day-of-month or day-of-week.")
}

/// The values `field` allows within `lo..=hi` (names map to `lo`, `lo + 1`, ...).
fn field(field: &str, lo: u32, hi: u32, names: &[&str]) -> SmResult<Vec<bool>> {
    let value = |s: &str| -> SmResult<u32> {
        let upper = s.to_ascii_uppercase();
        let n = match names.iter().position(|n| *n == upper) {
            Some(i) => u32::try_from(i).map_err(|_| bad_cron())? + lo,
            None => s.parse::<u32>().map_err(|_| bad_cron())?,
        };
        if (lo..=hi).contains(&n) {
            Ok(n)
        } else {
            Err(bad_cron())
        }
    };
    let len = usize::try_from(hi).map_err(|_| bad_cron())? + 1;
    let mut allowed = vec![false; len];
    for part in field.split(',') {
        let (range, step) = match part.split_once('/') {
            Some((r, s)) => (
                r,
                s.parse::<u32>()
                    .ok()
                    .filter(|s| *s > 0)
                    .ok_or_else(bad_cron)?,
            ),
            None => (part, 1),
        };
        let (start, end) = match range {
            "*" => (lo, hi),
            r => match r.split_once('-') {
                Some((a, b)) => (value(a)?, value(b)?),
                None if step > 1 => (value(r)?, hi),
                None => (value(r)?, value(r)?),
            },
        };
        let mut v = start;
        while v <= end {
            if let Some(slot) = allowed.get_mut(usize::try_from(v).map_err(|_| bad_cron())?) {
                *slot = true;
            }
            v = v.saturating_add(step);
        }
    }
    Ok(allowed)
}

fn allows(set: &[bool], v: u32) -> bool {
    usize::try_from(v)
        .ok()
        .and_then(|i| set.get(i))
        .copied()
        .unwrap_or(false)
}

impl Cron {
    fn parse(body: &str) -> SmResult<Cron> {
        let fields: Vec<&str> = body.split_whitespace().collect();
        let [min, hour, dom, month, dow, year] = fields.as_slice() else {
            return Err(bad_cron());
        };
        let days = match *dom {
            "?" => None,
            d => Some(field(d, 1, 31, &[])?),
        };
        let weekdays = match *dow {
            "?" => None,
            d => match d.split_once('#') {
                Some((day, n)) => {
                    let n = n.parse::<u32>().ok().filter(|n| (1..=5).contains(n));
                    Some((field(day, 1, 7, &WEEKDAYS)?, Some(n.ok_or_else(bad_cron)?)))
                }
                None => Some((field(d, 1, 7, &WEEKDAYS)?, None)),
            },
        };
        if days.is_some() == weekdays.is_some() {
            return Err(bad_cron());
        }
        Ok(Cron {
            minutes: field(min, 0, 59, &[])?,
            hours: field(hour, 0, 23, &[])?,
            days,
            months: field(month, 1, 12, &MONTHS)?,
            weekdays,
            years: match *year {
                "*" => None,
                y => Some(field(y, 1970, 2199, &[])?),
            },
        })
    }

    fn day_matches(&self, d: NaiveDate) -> bool {
        let year_ok = u32::try_from(d.year())
            .is_ok_and(|y| self.years.as_ref().is_none_or(|ys| allows(ys, y)));
        if !year_ok || !allows(&self.months, d.month()) {
            return false;
        }
        if let Some(days) = &self.days {
            return allows(days, d.day());
        }
        if let Some((weekdays, nth)) = &self.weekdays {
            let dow = d.weekday().number_from_sunday();
            return allows(weekdays, dow) && nth.is_none_or(|n| (d.day() - 1) / 7 + 1 == n);
        }
        false
    }

    /// The first matching minute strictly after `from`, within about five years.
    fn next_after(&self, from: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let start = from.with_second(0)?.with_nanosecond(0)? + Duration::minutes(1);
        let mut day = start.date_naive();
        for _ in 0..(366 * 5) {
            if self.day_matches(day) {
                let first = if day == start.date_naive() {
                    (start.hour(), start.minute())
                } else {
                    (0, 0)
                };
                for h in (first.0..24).filter(|h| allows(&self.hours, *h)) {
                    let m0 = if h == first.0 { first.1 } else { 0 };
                    if let Some(m) = (m0..60).find(|m| allows(&self.minutes, *m)) {
                        return day.and_hms_opt(h, m, 0).map(|t| t.and_utc());
                    }
                }
            }
            day = day.succ_opt()?;
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    fn rules(schedule: &str) -> RotationRules {
        RotationRules {
            schedule: Some(schedule.into()),
            ..Default::default()
        }
    }

    #[test]
    fn rates_and_days_add_their_interval() {
        let from = at("2026-01-01T10:00:00Z");
        let days = RotationRules {
            after_days: Some(30),
            ..Default::default()
        };
        assert_eq!(
            next_after(&days, from).unwrap(),
            Some(at("2026-01-31T10:00:00Z"))
        );
        assert_eq!(
            next_after(&rules("rate(10 days)"), from).unwrap(),
            Some(at("2026-01-11T10:00:00Z"))
        );
        assert_eq!(
            next_after(&rules("rate(4 hours)"), from).unwrap(),
            Some(at("2026-01-01T14:00:00Z"))
        );
        assert!(check(&rules("rate(2 hours)")).is_err());
        assert!(check(&rules("rate(1001 days)")).is_err());
    }

    #[test]
    fn cron_finds_the_next_matching_minute() {
        let from = at("2026-01-01T10:00:00Z"); // a Thursday
        let next = |e: &str| next_after(&rules(e), from).unwrap().unwrap();
        assert_eq!(next("cron(0 16 1,15 * ? *)"), at("2026-01-01T16:00:00Z"));
        assert_eq!(next("cron(0 8 1,15 * ? *)"), at("2026-01-15T08:00:00Z"));
        assert_eq!(next("cron(30 9 ? * MON *)"), at("2026-01-05T09:30:00Z"));
        assert_eq!(next("cron(0 0 ? * 2#1 *)"), at("2026-01-05T00:00:00Z"));
        assert_eq!(next("cron(0/15 * * * ? *)"), at("2026-01-01T10:15:00Z"));
        assert_eq!(next("cron(0 12 1 JAN ? 2027)"), at("2027-01-01T12:00:00Z"));
        for bad in [
            "cron(0 12 * * * *)",
            "cron(0 12 ? * ? *)",
            "cron(0 25 ? * MON *)",
            "cron(0 12)",
            "every day",
        ] {
            assert!(check(&rules(bad)).is_err(), "{bad} was accepted");
        }
    }

    #[test]
    fn rules_refuse_both_forms_and_long_windows() {
        let both = RotationRules {
            after_days: Some(1),
            schedule: Some("rate(1 days)".into()),
            duration: None,
        };
        assert!(check(&both).is_err());
        let long = RotationRules {
            schedule: Some("rate(4 hours)".into()),
            duration: Some("4h".into()),
            ..Default::default()
        };
        assert!(check(&long).is_err());
        let fine = RotationRules {
            schedule: Some("rate(1 days)".into()),
            duration: Some("3h".into()),
            ..Default::default()
        };
        assert!(check(&fine).is_ok());
        assert!(check(&RotationRules {
            duration: Some("25h".into()),
            ..Default::default()
        })
        .is_err());
    }
}
