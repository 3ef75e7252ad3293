//! In-process read caches for the embedded (SQLite) store, which is only ever written by this
//! process: access keys with their opened secrets, the authorization epoch, and entities read
//! by name (IAM users, KMS keys, ...). They take the
//! database off the request path of every authenticated call.
//!
//! Correctness rests on generation counters. A reader notes the generation, reads the
//! database outside any transaction, and caches the result only if the generation did not move
//! meanwhile; every write bumps the generation once its change is visible (after an autocommit
//! statement, or when its transaction ends), so no reader can cache a value that a committed
//! write has replaced. On PostgreSQL several nodes
//! share the database, so these caches are off and every request reads it.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};

use tokio::sync::Notify;

use zeroize::Zeroizing;

use crate::credentials::AccessKey;
use crate::entities::Entity;

/// Most cached keys before the map is cleared wholesale.
const MAX_KEYS: usize = 100_000;

/// What a write touched, so its transaction's end can invalidate the right caches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Domain {
    /// Access keys.
    Credentials,
    /// The authorization epoch.
    Epoch,
    /// Generic entities.
    Entities,
    /// The resource change log (no cache: its end wakes the change log's reader).
    Changes,
}

/// An access key with its opened secret.
#[derive(Debug)]
pub struct KeyWithSecret {
    /// The key.
    pub key: AccessKey,
    /// Its secret access key, in clear (zeroized on drop).
    pub secret: Zeroizing<String>,
}

/// A key with its secret, shared by the cache and its readers (a hit on the request path
/// costs a reference count, not a copy of every string of the key).
pub type SharedKey = Arc<KeyWithSecret>;

/// A cached key: the generation it was read at, and the key.
type CachedKey = (u64, SharedKey);

#[derive(Debug, Default)]
pub(crate) struct LocalCache {
    enabled: bool,
    cred_gen: AtomicU64,
    creds: RwLock<HashMap<String, CachedKey>>,
    epoch_gen: AtomicU64,
    epoch: RwLock<Option<(u64, i64)>>,
    ent_gen: AtomicU64,
    ents: RwLock<HashMap<String, (u64, Entity)>>,
    /// Signalled once a write that appended to the change log is visible (on either backend:
    /// it only wakes this process's reader, other nodes' readers keep their own period).
    changes: Arc<Notify>,
}

/// The cache key of an entity read by account, kind and name key.
pub(crate) fn entity_key(account_id: &str, kind: &str, name_key: &str) -> String {
    format!("{account_id}\u{0}{kind}\u{0}{name_key}")
}

impl LocalCache {
    pub(crate) fn new(enabled: bool) -> LocalCache {
        LocalCache {
            enabled,
            ..LocalCache::default()
        }
    }

    /// Invalidates a domain (call once a write is visible to readers).
    pub(crate) fn bump(&self, domain: Domain) {
        let generation = match domain {
            Domain::Credentials => &self.cred_gen,
            Domain::Epoch => &self.epoch_gen,
            Domain::Entities => &self.ent_gen,
            Domain::Changes => {
                self.changes.notify_one();
                return;
            }
        };
        generation.fetch_add(1, Ordering::SeqCst);
    }

    /// The signal of [`Domain::Changes`] (one permit is kept while nobody waits).
    pub(crate) fn change_signal(&self) -> Arc<Notify> {
        self.changes.clone()
    }

    /// The generation to note before reading the database.
    pub(crate) fn generation(&self, domain: Domain) -> u64 {
        match domain {
            Domain::Credentials => self.cred_gen.load(Ordering::SeqCst),
            Domain::Epoch => self.epoch_gen.load(Ordering::SeqCst),
            Domain::Entities => self.ent_gen.load(Ordering::SeqCst),
            Domain::Changes => 0,
        }
    }

    pub(crate) fn entity(&self, key: &str) -> Option<Entity> {
        if !self.enabled {
            return None;
        }
        let gen = self.generation(Domain::Entities);
        let map = self.ents.read().ok()?;
        match map.get(key) {
            Some((g, e)) if *g == gen => Some(e.clone()),
            _ => None,
        }
    }

    pub(crate) fn put_entity(&self, read_at: u64, key: String, e: &Entity) {
        if !self.enabled || self.generation(Domain::Entities) != read_at {
            return;
        }
        if let Ok(mut map) = self.ents.write() {
            if map.len() >= MAX_KEYS {
                map.clear();
            }
            map.insert(key, (read_at, e.clone()));
        }
    }

    pub(crate) fn key(&self, id: &str) -> Option<SharedKey> {
        if !self.enabled {
            return None;
        }
        let gen = self.generation(Domain::Credentials);
        let map = self.creds.read().ok()?;
        match map.get(id) {
            Some((g, shared)) if *g == gen => Some(shared.clone()),
            _ => None,
        }
    }

    pub(crate) fn put_key(&self, read_at: u64, shared: &SharedKey) {
        if !self.enabled || self.generation(Domain::Credentials) != read_at {
            return;
        }
        if let Ok(mut map) = self.creds.write() {
            if map.len() >= MAX_KEYS {
                map.clear();
            }
            map.insert(shared.key.access_key_id.clone(), (read_at, shared.clone()));
        }
    }

    pub(crate) fn epoch(&self) -> Option<i64> {
        if !self.enabled {
            return None;
        }
        let gen = self.generation(Domain::Epoch);
        match *self.epoch.read().ok()? {
            Some((g, e)) if g == gen => Some(e),
            _ => None,
        }
    }

    pub(crate) fn put_epoch(&self, read_at: u64, epoch: i64) {
        if !self.enabled || self.generation(Domain::Epoch) != read_at {
            return;
        }
        if let Ok(mut slot) = self.epoch.write() {
            *slot = Some((read_at, epoch));
        }
    }
}

/// Which caches a write touched.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Touched {
    credentials: bool,
    epoch: bool,
    entities: bool,
    changes: bool,
}

impl Touched {
    fn mark(&mut self, domain: Domain) {
        match domain {
            Domain::Credentials => self.credentials = true,
            Domain::Epoch => self.epoch = true,
            Domain::Entities => self.entities = true,
            Domain::Changes => self.changes = true,
        }
    }

    /// Adds another write's marks to these.
    pub(crate) fn merge(&mut self, other: Touched) {
        self.credentials |= other.credentials;
        self.epoch |= other.epoch;
        self.entities |= other.entities;
        self.changes |= other.changes;
    }

    /// Invalidates what was touched (call once the write is visible to readers).
    pub(crate) fn bump(self, cache: &LocalCache) {
        if self.credentials {
            cache.bump(Domain::Credentials);
        }
        if self.epoch {
            cache.bump(Domain::Epoch);
        }
        if self.entities {
            cache.bump(Domain::Entities);
        }
        if self.changes {
            cache.bump(Domain::Changes);
        }
    }
}

/// Held by a transaction: bumps the generations of what it touched when it ends (commit,
/// rollback or drop), after the database has made the outcome visible. A write that joins a
/// group commit hands its marks to the batch instead ([`TouchGuard::disarm`]).
#[derive(Debug)]
pub(crate) struct TouchGuard {
    cache: Arc<LocalCache>,
    touched: Touched,
}

impl TouchGuard {
    pub(crate) fn new(cache: Arc<LocalCache>) -> TouchGuard {
        TouchGuard {
            cache,
            touched: Touched::default(),
        }
    }

    /// Remembers that the transaction wrote `domain`; the bump happens when it ends.
    pub(crate) fn mark(&mut self, domain: Domain) {
        self.touched.mark(domain);
    }

    /// Takes the marks away, for whoever makes the write visible later.
    pub(crate) fn disarm(&mut self) -> Touched {
        std::mem::take(&mut self.touched)
    }
}

impl Drop for TouchGuard {
    fn drop(&mut self) {
        self.touched.bump(&self.cache);
    }
}
