//! `rampart investigate PRINCIPAL --since 24h`: a terminal timeline of what an IAM user or
//! role did (each call: time, action, source address and place, outcome, user agent), with
//! the GuardDuty findings on it and the addresses on an active threat list marked, then
//! Detective's indicators for the window. Reads the server's data dir (or PostgreSQL) as
//! `rampart audit verify` does: safe while the server runs.

use std::{path::PathBuf, process::ExitCode};

use anyhow::Context as _;
use chrono::{DateTime, Duration, Utc};
use clap::Args;
use rampart_services::{
    detective::{
        activity::{self, TrailPrincipal},
        geo::{Geo, Locate},
        indicators::{self, Evidence},
        run, timeline,
    },
    Db,
};

/// `rampart investigate`'s arguments.
#[derive(Debug, Args)]
pub struct InvestigateArgs {
    /// The IAM user's or role's ARN (a role's sessions count for the role).
    pub principal: String,
    /// How far back the timeline reaches: a number and `s`, `m`, `h` or `d` (`24h`).
    #[arg(long, default_value = "24h")]
    pub since: String,
    /// The end of the timeline, RFC 3339 (default: now).
    #[arg(long)]
    pub until: Option<String>,
    /// The server's data dir (its store and master key).
    #[arg(long, env = "RAMPART_DATA_DIR", default_value = "rampart-data")]
    pub data_dir: PathBuf,
    /// PostgreSQL URL, when the server uses PostgreSQL.
    #[arg(long, env = "RAMPART_DATABASE_URL")]
    pub database_url: Option<String>,
    /// A MaxMind City database, to show where each address is.
    #[arg(long, env = "RAMPART_GEOIP_CITY_DB")]
    pub geoip_city_db: Option<PathBuf>,
    /// A MaxMind ASN database, for the `NEW_ASO` indicator.
    #[arg(long, env = "RAMPART_GEOIP_ASN_DB")]
    pub geoip_asn_db: Option<PathBuf>,
}

/// Runs `rampart investigate`: exit 0 when it printed the timeline.
pub fn run(args: InvestigateArgs) -> ExitCode {
    match crate::offline::block_on(report(&args)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::FAILURE
        }
    }
}

/// A duration such as `24h`, `30m`, `7d` or `90s`.
pub fn parse_since(text: &str) -> Option<Duration> {
    let unit = text.chars().last()?;
    let n: i64 = text.get(..text.len() - unit.len_utf8())?.parse().ok()?;
    if n <= 0 {
        return None;
    }
    match unit {
        's' => Duration::try_seconds(n),
        'm' => Duration::try_minutes(n),
        'h' => Duration::try_hours(n),
        'd' => Duration::try_days(n),
        _ => None,
    }
}

async fn report(args: &InvestigateArgs) -> anyhow::Result<()> {
    let principal = TrailPrincipal::of_arn(&args.principal).with_context(|| {
        format!(
            "{} is not an IAM user or role ARN (arn:aws:iam::ACCOUNT:user/NAME or role/NAME)",
            args.principal
        )
    })?;
    let account = args.principal.split(':').nth(4).unwrap_or_default();
    let since = parse_since(&args.since)
        .with_context(|| format!("--since {}: expected a number and s, m, h or d", args.since))?;
    let end = match &args.until {
        Some(t) => DateTime::parse_from_rfc3339(t)
            .with_context(|| format!("--until {t}: expected an RFC 3339 time"))?
            .with_timezone(&Utc),
        None => Utc::now(),
    };
    let start = end
        .checked_sub_signed(since)
        .context("--since reaches too far back")?;
    let geo = Geo::open(args.geoip_city_db.as_deref(), args.geoip_asn_db.as_deref())
        .map_err(anyhow::Error::msg)?;
    let geo = (!geo.is_empty()).then_some(&geo as &dyn Locate);
    // Opening a store creates one: refuse a data dir that holds none.
    let db_file = args.data_dir.join(rampart_store::SQLITE_FILE);
    if args.database_url.is_none() && !db_file.exists() {
        anyhow::bail!(
            "no Rampart store at {} (give the server's --data-dir or --database-url)",
            db_file.display()
        );
    }
    let store = crate::offline::open_store(&args.data_dir, args.database_url.as_deref()).await?;
    let activity = activity::read(&store, account, &principal, start, end)
        .await
        .context("cannot read the audit trail")?;
    let (threats, findings) =
        run::guardduty(&mut Db::Read(&store), account, &principal, start, end)
            .await
            .map_err(|e| anyhow::anyhow!("cannot read GuardDuty's state: {e}"))?;
    store.close().await;
    let flagged_text = |ip: &str| ip.parse().is_ok_and(|a| threats.contains(a));
    println!(
        "{} ({}) from {} to {}: {} calls",
        args.principal,
        principal.entity_type(),
        start.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        end.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        activity.calls.len()
    );
    for row in timeline::rows(&activity.calls, &findings, &flagged_text, geo) {
        println!("{}", timeline::line(&row));
    }
    if !findings.is_empty() {
        println!("Findings:");
        for f in &findings {
            println!("  {} (severity {}) {}", f.kind, f.severity, f.arn);
        }
    }
    let flagged = |ip| threats.contains(ip);
    let evidence = Evidence {
        flagged: &flagged,
        findings: &findings,
        geo,
    };
    let found = indicators::compute(&activity, &evidence);
    println!("Severity: {}", indicators::severity(&found, &findings));
    for i in &found {
        println!("  {} {}", i.kind, i.detail);
    }
    if !activity.complete {
        println!(
            "(incomplete: more than {} records; the oldest were not read)",
            activity::MAX_RECORDS
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn since_takes_a_number_and_a_unit() {
        assert_eq!(parse_since("24h"), Some(Duration::hours(24)));
        assert_eq!(parse_since("30m"), Some(Duration::minutes(30)));
        assert_eq!(parse_since("7d"), Some(Duration::days(7)));
        assert_eq!(parse_since("90s"), Some(Duration::seconds(90)));
        assert_eq!(parse_since("24"), None);
        assert_eq!(parse_since("h"), None);
        assert_eq!(parse_since("-1h"), None);
        assert_eq!(parse_since("0h"), None);
        assert_eq!(parse_since("99999999999999d"), None);
        assert_eq!(parse_since(""), None);
    }
}
