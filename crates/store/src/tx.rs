//! Transactions: a mutating call and its audit record commit together or not at all.

use sqlx::{Postgres, Sqlite};
use tokio::sync::OwnedMutexGuard;

use crate::accounts::Accounts;
use crate::audit::{Appended, AuditRecord};
use crate::credentials::Credentials;
use crate::db::{Conn, Handle};
use crate::error::Result;
use crate::settings::Settings;
use crate::store::Store;

/// An open database transaction. Dropping it without [`Tx::commit`] rolls it back.
pub struct Tx {
    // Field order matters: the transaction ends (drops) before the writer lock is released,
    // and the read caches are invalidated after that.
    inner: TxInner,
    _writer: Option<OwnedMutexGuard<()>>,
    pub(crate) touched: crate::cache::TouchGuard,
    store: Store,
}

pub(crate) enum TxInner {
    Sqlite(sqlx::Transaction<'static, Sqlite>),
    Postgres(sqlx::Transaction<'static, Postgres>),
}

impl std::fmt::Debug for Tx {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Tx")
    }
}

impl Tx {
    pub(crate) fn new(inner: TxInner, writer: Option<OwnedMutexGuard<()>>, store: Store) -> Tx {
        Tx {
            inner,
            _writer: writer,
            touched: crate::cache::TouchGuard::new(store.inner.cache.clone()),
            store,
        }
    }

    pub(crate) fn conn(&mut self) -> Conn<'_> {
        match &mut self.inner {
            TxInner::Sqlite(t) => Conn::Sqlite(t),
            TxInner::Postgres(t) => Conn::Postgres(t),
        }
    }

    pub(crate) fn store(&self) -> &Store {
        &self.store
    }

    /// The master key sealing secrets (for services that seal their own values).
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
        let key = self.store.inner.key.clone();
        let mut appended =
            crate::audit::append_batch(self.conn(), &key, std::slice::from_ref(record)).await?;
        appended
            .pop()
            .ok_or_else(|| crate::error::StoreError::Database("append returned nothing".into()))
    }

    /// Appends several audit records in order (one chain-head update for all of them).
    pub async fn append_audit_batch(&mut self, records: &[AuditRecord]) -> Result<Vec<Appended>> {
        let key = self.store.inner.key.clone();
        crate::audit::append_batch(self.conn(), &key, records).await
    }

    /// Makes every change durable (SQLite `synchronous=FULL`; Postgres commit).
    pub async fn commit(self) -> Result<()> {
        match self.inner {
            TxInner::Sqlite(t) => t.commit().await?,
            TxInner::Postgres(t) => t.commit().await?,
        }
        Ok(())
    }

    /// Discards every change.
    pub async fn rollback(self) -> Result<()> {
        match self.inner {
            TxInner::Sqlite(t) => t.rollback().await?,
            TxInner::Postgres(t) => t.rollback().await?,
        }
        Ok(())
    }
}
