//! Request metering: a counter per (account, service, month) in memory, flushed to the store
//! every few seconds and at shutdown as generic entities of kind [`USAGE`] under the account.

use std::{collections::HashMap, sync::Mutex};

use chrono::{DateTime, Datelike, Utc};
use rampart_store::{Entity, Store};
use serde::{Deserialize, Serialize};

/// The entity kind of a month's request count for one service.
pub const USAGE: &str = "billing:requests";

/// The stored counter.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct UsageDoc {
    /// Requests counted.
    pub requests: u64,
}

/// `YYYY-MM` of a time.
pub fn month_of(t: DateTime<Utc>) -> String {
    format!("{:04}-{:02}", t.year(), t.month())
}

/// The name key of a month's counter for a service.
pub fn usage_key(month: &str, service: &str) -> String {
    format!("{month}/{service}")
}

/// Counts per account, then per (service, (year, month)): keyed by account first so that
/// counting a request finds its entry by `&str`, without allocating.
type Counts = HashMap<String, HashMap<(&'static str, (i32, u32)), u64>>;

/// Counts requests in memory.
#[derive(Debug, Default)]
pub struct Meter {
    counts: Mutex<Counts>,
}

impl Meter {
    /// Counts one authenticated request.
    pub fn record(&self, account: &str, service: &'static str, at: DateTime<Utc>) {
        if let Ok(mut map) = self.counts.lock() {
            let key = (service, (at.year(), at.month()));
            match map.get_mut(account) {
                Some(services) => *services.entry(key).or_insert(0) += 1,
                None => {
                    map.insert(account.to_string(), HashMap::from([(key, 1)]));
                }
            }
        }
    }

    /// Adds the counted requests to the store's counters, in one transaction; the counts are
    /// put back if it fails.
    pub async fn flush(&self, store: &Store) -> anyhow::Result<()> {
        let taken: Counts = match self.counts.lock() {
            Ok(mut map) => std::mem::take(&mut *map),
            Err(_) => return Ok(()),
        };
        if taken.is_empty() {
            return Ok(());
        }
        match write(store, &taken).await {
            Ok(()) => Ok(()),
            Err(err) => {
                if let Ok(mut map) = self.counts.lock() {
                    for (account, services) in taken {
                        let mine = map.entry(account).or_default();
                        for (k, n) in services {
                            *mine.entry(k).or_insert(0) += n;
                        }
                    }
                }
                Err(err)
            }
        }
    }
}

async fn write(store: &Store, counts: &Counts) -> anyhow::Result<()> {
    let now = Utc::now();
    let mut tx = store.begin().await?;
    for (account, services) in counts {
        for ((service, (year, month)), n) in services {
            let month = format!("{year:04}-{month:02}");
            let key = usage_key(&month, service);
            match tx.entities().get(account, USAGE, &key).await? {
                Some(mut e) => {
                    let mut doc: UsageDoc = serde_json::from_str(&e.doc).unwrap_or_default();
                    doc.requests += n;
                    e.doc = serde_json::to_string(&doc)?;
                    e.updated_at = now;
                    tx.entities().update(&key, &e).await?;
                }
                None => {
                    let doc = UsageDoc { requests: *n };
                    tx.entities()
                        .create(&Entity {
                            account_id: account.clone(),
                            kind: USAGE.into(),
                            name: key.clone(),
                            name_key: key.clone(),
                            id: format!("{USAGE}:{account}:{key}"),
                            path: "/".into(),
                            arn: String::new(),
                            created_at: now,
                            updated_at: now,
                            doc: serde_json::to_string(&doc)?,
                        })
                        .await?;
                }
            }
        }
    }
    tx.commit().await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_per_account_service_and_month() {
        let m = Meter::default();
        let t = DateTime::from_timestamp(1_700_000_000, 0).unwrap();
        m.record("111122223333", "iam", t);
        m.record("111122223333", "iam", t);
        m.record("111122223333", "sts", t);
        let map = m.counts.lock().unwrap();
        assert_eq!(map["111122223333"][&("iam", (2023, 11))], 2);
        assert_eq!(map["111122223333"].len(), 2);
        assert_eq!(month_of(t), "2023-11");
    }
}
