//! `rampart billing report`: the consolidated bill of a month, one line per account and
//! service, each account's total and the grand total. Amounts are kept in ten-thousandths of
//! the currency unit, so the lines add up exactly to the totals shown.

use std::{collections::BTreeMap, path::PathBuf, process::ExitCode};

use clap::{Args, Subcommand, ValueEnum};
use rampart_services::{organizations::tree, Db};
use rampart_store::Store;

use super::{
    meter::{self, UsageDoc, USAGE},
    prices::Prices,
};

/// The `billing` subcommands.
#[derive(Debug, Subcommand)]
pub enum BillingCommand {
    /// Print the consolidated bill of a month.
    Report(ReportArgs),
}

/// Options of `billing report`.
#[derive(Debug, Args)]
pub struct ReportArgs {
    /// The server's data dir (its store, master key and price table).
    #[arg(long, env = "RAMPART_DATA_DIR", default_value = "rampart-data")]
    pub data_dir: PathBuf,
    /// PostgreSQL URL, when the server uses PostgreSQL.
    #[arg(long, env = "RAMPART_DATABASE_URL")]
    pub database_url: Option<String>,
    /// The month, `YYYY-MM` (default: the current month).
    #[arg(long)]
    pub month: Option<String>,
    /// Output format.
    #[arg(long, value_enum, default_value = "table")]
    pub format: Format,
}

/// Output formats.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum Format {
    /// An aligned table.
    Table,
    /// CSV with a header row.
    Csv,
}

/// One line of the bill.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    /// The account.
    pub account_id: String,
    /// Its name.
    pub account_name: String,
    /// The service.
    pub service: String,
    /// API requests counted.
    pub requests: u64,
    /// Monthly-charged resources (`2 keys`), empty when none.
    pub resources: String,
    /// The amount, in ten-thousandths.
    pub amount: i64,
}

/// Runs a `billing` subcommand.
pub fn run(cmd: BillingCommand) -> ExitCode {
    let BillingCommand::Report(args) = cmd;
    match crate::offline::block_on(report(&args)) {
        Ok(text) => {
            print!("{text}");
            ExitCode::SUCCESS
        }
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::FAILURE
        }
    }
}

async fn report(args: &ReportArgs) -> anyhow::Result<String> {
    let prices = Prices::load(&args.data_dir)?;
    let store = crate::offline::open_store(&args.data_dir, args.database_url.as_deref()).await?;
    let month = args
        .month
        .clone()
        .unwrap_or_else(|| meter::month_of(chrono::Utc::now()));
    let lines = bill(&store, &prices, &month).await?;
    Ok(match args.format {
        Format::Table => table(&lines, &prices.currency, &month),
        Format::Csv => csv(&lines, &prices.currency),
    })
}

/// The accounts on the bill: the management account's organization, or every account when
/// there is no organization.
async fn accounts(store: &Store) -> anyhow::Result<Vec<rampart_store::Account>> {
    let mut all = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let page = store.accounts().list(after.as_deref(), 1000).await?;
        let done = page.len() < 1000;
        after = page.last().map(|a| a.id.clone());
        all.extend(page);
        if done {
            break;
        }
    }
    let Some(mgmt) = store.accounts().management().await? else {
        return Ok(all);
    };
    let members = tree::all_member_ids(&mut Db::Read(store), &mgmt.id)
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    if members.is_empty() {
        return Ok(all);
    }
    Ok(all
        .into_iter()
        .filter(|a| members.contains(&a.id))
        .collect())
}

/// The month's lines: requests priced per service, monthly resources per kind.
pub async fn bill(store: &Store, prices: &Prices, month: &str) -> anyhow::Result<Vec<Line>> {
    let mut lines = Vec::new();
    for account in accounts(store).await? {
        let mut by_service: BTreeMap<String, Line> = BTreeMap::new();
        let page = store
            .entities()
            .list(&account.id, USAGE, "/", None, 10_000)
            .await?;
        for e in page.items.iter().filter(|e| e.name_key.starts_with(month)) {
            let Some((_, service)) = e.name_key.split_once('/') else {
                continue;
            };
            let doc: UsageDoc = serde_json::from_str(&e.doc).unwrap_or_default();
            let line = entry(&mut by_service, &account, service);
            line.requests += doc.requests;
            line.amount += (doc.requests as f64 * prices.per_10k(service)).round() as i64;
        }
        for (kind, charge) in &prices.monthly {
            let count = store.entities().count(&account.id, kind).await?;
            if count == 0 {
                continue;
            }
            let line = entry(&mut by_service, &account, &charge.service);
            if !line.resources.is_empty() {
                line.resources.push_str("; ");
            }
            line.resources.push_str(&format!("{count} {}", charge.item));
            line.amount += (count as f64 * charge.price * 10_000.0).round() as i64;
        }
        lines.extend(by_service.into_values());
    }
    Ok(lines)
}

fn entry<'a>(
    map: &'a mut BTreeMap<String, Line>,
    account: &rampart_store::Account,
    service: &str,
) -> &'a mut Line {
    map.entry(service.to_string()).or_insert_with(|| Line {
        account_id: account.id.clone(),
        account_name: account.name.clone(),
        service: service.to_string(),
        requests: 0,
        resources: String::new(),
        amount: 0,
    })
}

/// Ten-thousandths as a decimal amount (`1.2345`).
pub fn money(amount: i64) -> String {
    format!("{}.{:04}", amount / 10_000, (amount % 10_000).abs())
}

fn totals(lines: &[Line]) -> (Vec<(String, String, i64)>, i64) {
    let mut per: Vec<(String, String, i64)> = Vec::new();
    for l in lines {
        match per.iter_mut().find(|(a, _, _)| *a == l.account_id) {
            Some(p) => p.2 += l.amount,
            None => per.push((l.account_id.clone(), l.account_name.clone(), l.amount)),
        }
    }
    let grand = per.iter().map(|p| p.2).sum();
    (per, grand)
}

fn csv(lines: &[Line], currency: &str) -> String {
    let mut out = format!(
        "account_id,account_name,service,requests,resources,amount_{}\n",
        currency.to_lowercase()
    );
    let field = |s: &str| {
        if s.contains([',', '"', '\n']) {
            format!("\"{}\"", s.replace('"', "\"\""))
        } else {
            s.to_string()
        }
    };
    for l in lines {
        out.push_str(&format!(
            "{},{},{},{},{},{}\n",
            l.account_id,
            field(&l.account_name),
            l.service,
            l.requests,
            field(&l.resources),
            money(l.amount)
        ));
    }
    let (per, grand) = totals(lines);
    for (id, name, amount) in per {
        out.push_str(&format!(
            "{id},{},TOTAL,,,{}\n",
            field(&name),
            money(amount)
        ));
    }
    out.push_str(&format!("ALL,,TOTAL,,,{}\n", money(grand)));
    out
}

fn table(lines: &[Line], currency: &str, month: &str) -> String {
    let mut out = format!("Consolidated bill for {month} ({currency})\n");
    out.push_str(&format!(
        "{:<12}  {:<20}  {:<16}  {:>10}  {:<20}  {:>12}\n",
        "ACCOUNT", "NAME", "SERVICE", "REQUESTS", "RESOURCES", "AMOUNT"
    ));
    for l in lines {
        out.push_str(&format!(
            "{:<12}  {:<20}  {:<16}  {:>10}  {:<20}  {:>12}\n",
            l.account_id,
            l.account_name,
            l.service,
            l.requests,
            l.resources,
            money(l.amount)
        ));
    }
    let (per, grand) = totals(lines);
    for (id, name, amount) in per {
        out.push_str(&format!(
            "{id:<12}  {name:<20}  {:<16}  {:>10}  {:<20}  {:>12}\n",
            "total",
            "",
            "",
            money(amount)
        ));
    }
    out.push_str(&format!(
        "{:<12}  {:<20}  {:<16}  {:>10}  {:<20}  {:>12}\n",
        "all",
        "",
        "total",
        "",
        "",
        money(grand)
    ));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(account: &str, service: &str, amount: i64) -> Line {
        Line {
            account_id: account.into(),
            account_name: "n".into(),
            service: service.into(),
            requests: 1,
            resources: String::new(),
            amount,
        }
    }

    #[test]
    fn totals_add_up() {
        let lines = vec![
            line("1", "kms", 3),
            line("1", "iam", 10_001),
            line("2", "kms", 5),
        ];
        let text = csv(&lines, "USD");
        assert!(text.contains("1,n,TOTAL,,,1.0004\n"));
        assert!(text.ends_with("ALL,,TOTAL,,,1.0009\n"));
        assert_eq!(money(12_345), "1.2345");
    }
}
