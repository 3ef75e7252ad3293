//! Transactions: a mutating call and its audit record commit together or not at all.

use sqlx::Postgres;

use crate::accounts::Accounts;
use crate::audit::{Appended, AuditRecord};
use crate::credentials::Credentials;
use crate::db::{Conn, Handle};
use crate::error::{Result, StoreError};
use crate::settings::Settings;
use crate::store::Store;

/// An open database transaction. Dropping it without [`Tx::commit`] rolls it back.
///
/// On SQLite it is one writer's savepoint inside the shared group-commit transaction
/// (see `group`): [`Tx::commit`] returns once the batch holding it is durable.
pub struct Tx {
    // Field order matters: the transaction ends (drops) before the read caches are
    // invalidated.
    inner: TxInner,
    pub(crate) touched: crate::cache::TouchGuard,
    store: Store,
}

pub(crate) enum TxInner {
    Sqlite(crate::group::Turn),
    Postgres(sqlx::Transaction<'static, Postgres>),
}

impl std::fmt::Debug for Tx {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Tx")
    }
}

impl Tx {
    pub(crate) fn new(inner: TxInner, store: Store) -> Tx {
        Tx {
            inner,
            touched: crate::cache::TouchGuard::new(store.inner.cache.clone()),
            store,
        }
    }

    pub(crate) fn conn(&mut self) -> Result<Conn<'_>> {
        Ok(match &mut self.inner {
            TxInner::Sqlite(turn) => Conn::Sqlite(turn.conn()?),
            TxInner::Postgres(t) => Conn::Postgres(t),
        })
    }

    pub(crate) fn store(&self) -> &Store {
        &self.store
    }

    /// The master key sealing secrets (for services that seal their own values, e.g. KMS).
    pub fn master_key(&self) -> &crate::crypto::MasterKey {
        self.store.master_key()
    }

    /// Accounts inside this transaction.
    pub fn accounts(&mut self) -> Accounts<'_> {
        Accounts::new(Handle::Tx(self))
    }

    /// Access keys inside this transaction.
    pub fn credentials(&mut self) -> Credentials<'_> {
        Credentials::new(Handle::Tx(self))
    }

    /// Settings inside this transaction.
    pub fn settings(&mut self) -> Settings<'_> {
        Settings::new(Handle::Tx(self))
    }

    /// Appends one audit record to the hash chain. This locks the chain head until the
    /// transaction ends, so call it last, right before [`Tx::commit`].
    pub async fn append_audit(&mut self, record: &AuditRecord) -> Result<Appended> {
        let mut appended = self
            .append_audit_batch(std::slice::from_ref(record))
            .await?;
        appended
            .pop()
            .ok_or_else(|| crate::error::StoreError::Database("append returned nothing".into()))
    }

    /// Appends several audit records in order (one chain-head update for all of them).
    pub async fn append_audit_batch(&mut self, records: &[AuditRecord]) -> Result<Vec<Appended>> {
        if records.is_empty() {
            return Ok(Vec::new());
        }
        match &mut self.inner {
            TxInner::Sqlite(turn) => turn.append_audit(records).await,
            TxInner::Postgres(t) => {
                let key = self.store.inner.key.clone();
                crate::audit::append_batch(Conn::Postgres(t), &key, records).await
            }
        }
    }

    /// Forgets what this transaction believes the audit chain head is, after a statement
    /// rewrote the head row directly (the dev-mode wipe).
    pub(crate) fn forget_chain_head(&mut self) {
        if let TxInner::Sqlite(turn) = &mut self.inner {
            turn.forget_chain_head();
        }
    }

    /// Makes every change durable (SQLite `synchronous=FULL`, shared with the other writers
    /// of the same group commit; Postgres commit) and returns once it is.
    pub async fn commit(mut self) -> Result<()> {
        match self.inner {
            TxInner::Sqlite(mut turn) => {
                let touched = self.touched.disarm();
                let durable = turn.release(touched).await?;
                // Ending the turn lets the next writer in and wakes the committer.
                drop(turn);
                durable
                    .await
                    .map_err(|_| StoreError::Database("the group committer stopped".into()))?
            }
            TxInner::Postgres(t) => Ok(t.commit().await?),
        }
    }

    /// Discards every change.
    pub async fn rollback(self) -> Result<()> {
        match self.inner {
            TxInner::Sqlite(mut turn) => turn.rollback().await,
            TxInner::Postgres(t) => Ok(t.rollback().await?),
        }
    }
}
