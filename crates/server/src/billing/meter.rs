//! Request metering: a counter per (account, service, month) in memory, flushed to the store
//! every few seconds and at shutdown as generic entities of kind [`USAGE`] under the account.

use std::{
    cell::RefCell,
    collections::HashMap,
    sync::{
        atomic::{AtomicU64, Ordering},
        Arc, Mutex,
    },
};

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

/// One thread's counts.
type Shard = Arc<Mutex<Counts>>;

/// Counts requests in memory. Every call counts, so each thread counts into its own shard:
/// one shared map behind one lock made the worker threads take turns on every request.
#[derive(Debug)]
pub struct Meter {
    /// Tells this meter's shards apart in the per-thread slots (tests run several).
    id: u64,
    /// Every thread's shard, for [`Meter::flush`].
    shards: Mutex<Vec<Shard>>,
}

/// Shards a thread keeps, most recent first (one per meter it counted for).
const SHARDS_PER_THREAD: usize = 4;

thread_local! {
    static SHARDS: RefCell<Vec<(u64, Shard)>> = const { RefCell::new(Vec::new()) };
}

impl Default for Meter {
    fn default() -> Self {
        static NEXT_ID: AtomicU64 = AtomicU64::new(1);
        Meter {
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
            shards: Mutex::new(Vec::new()),
        }
    }
}

impl Meter {
    /// Counts one authenticated request.
    pub fn record(&self, account: &str, service: &'static str, at: DateTime<Utc>) {
        let key = (service, (at.year(), at.month()));
        let count = |map: &mut Counts| match map.get_mut(account) {
            Some(services) => *services.entry(key).or_insert(0) += 1,
            None => {
                map.insert(account.to_string(), HashMap::from([(key, 1)]));
            }
        };
        let counted = SHARDS.with(|cell| {
            let Ok(mut slots) = cell.try_borrow_mut() else {
                return false;
            };
            let at = match slots.iter().position(|(id, _)| *id == self.id) {
                Some(i) => i,
                None => {
                    let Some(shard) = self.new_shard() else {
                        return false;
                    };
                    // An evicted shard stays with its meter, so nothing counted is lost.
                    slots.truncate(SHARDS_PER_THREAD - 1);
                    slots.insert(0, (self.id, shard));
                    0
                }
            };
            let Some(Ok(mut map)) = slots.get(at).map(|(_, shard)| shard.lock()) else {
                return false;
            };
            count(&mut map);
            true
        });
        if !counted {
            if let Some(shard) = self.new_shard() {
                if let Ok(mut map) = shard.lock() {
                    count(&mut map);
                }
            }
        }
    }

    /// A new shard, registered for [`Meter::flush`].
    fn new_shard(&self) -> Option<Shard> {
        let shard = Shard::default();
        self.shards.lock().ok()?.push(shard.clone());
        Some(shard)
    }

    /// Takes every shard's counts, merged.
    fn take(&self) -> Counts {
        let shards = match self.shards.lock() {
            Ok(list) => list.clone(),
            Err(_) => return Counts::new(),
        };
        let mut all = Counts::new();
        for shard in shards {
            if let Ok(mut map) = shard.lock() {
                merge(&mut all, std::mem::take(&mut *map));
            }
        }
        all
    }

    /// Adds the counted requests to the store's counters, in one transaction stamped `now`
    /// (the request clock); the counts are put back if it fails.
    pub async fn flush(&self, store: &Store, now: DateTime<Utc>) -> anyhow::Result<()> {
        let taken = self.take();
        if taken.is_empty() {
            return Ok(());
        }
        match write(store, &taken, now).await {
            Ok(()) => Ok(()),
            Err(err) => {
                if let Some(shard) = self.new_shard() {
                    if let Ok(mut map) = shard.lock() {
                        merge(&mut map, taken);
                    }
                }
                Err(err)
            }
        }
    }
}

/// Adds `from`'s counts to `into`.
fn merge(into: &mut Counts, from: Counts) {
    for (account, services) in from {
        let mine = into.entry(account).or_default();
        for (k, n) in services {
            *mine.entry(k).or_insert(0) += n;
        }
    }
}

async fn write(store: &Store, counts: &Counts, now: DateTime<Utc>) -> anyhow::Result<()> {
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
        let map = m.take();
        assert_eq!(map["111122223333"][&("iam", (2023, 11))], 2);
        assert_eq!(map["111122223333"].len(), 2);
        assert_eq!(month_of(t), "2023-11");
        assert!(m.take().is_empty(), "taken counts are gone");
    }

    /// Threads count into their own shards and a flush sees them all; meters on one thread
    /// keep their counts apart, even past the per-thread slots.
    #[test]
    fn shards_add_up_across_threads_and_meters() {
        let t = DateTime::from_timestamp(1_700_000_000, 0).unwrap();
        let m = Meter::default();
        std::thread::scope(|s| {
            for _ in 0..4 {
                s.spawn(|| {
                    for _ in 0..1000 {
                        m.record("111122223333", "sts", t);
                    }
                });
            }
        });
        let others: Vec<Meter> = (0..SHARDS_PER_THREAD + 2)
            .map(|_| Meter::default())
            .collect();
        for round in 0..3 {
            m.record("111122223333", "sts", t);
            for (i, o) in others.iter().enumerate() {
                for _ in 0..=i + round {
                    o.record("444455556666", "iam", t);
                }
            }
        }
        assert_eq!(m.take()["111122223333"][&("sts", (2023, 11))], 4003);
        for (i, o) in others.iter().enumerate() {
            let n = 3 * (i as u64 + 1) + 3;
            assert_eq!(o.take()["444455556666"][&("iam", (2023, 11))], n);
        }
    }
}
