//! The audit trail's genesis and its verification as a whole.
//!
//! Each chain's start is recorded under the master key's MAC with the installation's account
//! id: the audit table's in the `store.audit_genesis` setting (and a head at sequence 0
//! carries a MAC over the genesis hash and the account id), the journal's in its `GENESIS`
//! file. "Nothing here yet" (a genesis, a head at 0 with its MAC) then differs from
//! "everything deleted" (rows and segments gone, the head reset, files removed).
//!
//! A store gets its genesis on the first start that knows the account id: migration
//! `audit_genesis` leaves a `store.audit_genesis_pending` row, and
//! [`Store::ensure_audit_genesis`] records the genesis only while that row is there and the
//! whole trail verifies from its start, then removes the row. A store created before genesis
//! records existed is upgraded the same way; one whose trail does not verify is refused.

use crate::audit_chain::{genesis_head_mac, ChainBreak, ChainReport};
use crate::db::{dispatch, Handle};
use crate::error::{Result, StoreError};
use crate::journal::{Expect, Genesis};
use crate::store::Store;

/// Where the audit table's genesis is recorded: `<account id> <MAC>`.
pub(crate) const GENESIS_SETTING: &str = "store.audit_genesis";
/// Present while the genesis is still to be recorded.
pub(crate) const PENDING_SETTING: &str = "store.audit_genesis_pending";

/// The audit table's genesis as found.
enum Recorded {
    /// Recorded and authentic, for this account id.
    Valid(String),
    /// Not recorded; `pending` when it is still to be.
    Missing { pending: bool },
    /// Recorded but not authentic.
    Invalid,
}

fn genesis_mac(key: &crate::crypto::MasterKey, account_id: &str) -> String {
    let mut data = b"rampart-audit-genesis".to_vec();
    data.extend_from_slice(account_id.as_bytes());
    key.audit_mac(&data)
}

fn refused(what: &str) -> StoreError {
    StoreError::Corrupt(format!(
        "{what}. Nothing was changed; inspect the trail with `rampart audit verify` (restore it \
         from a backup if records were lost)"
    ))
}

impl Store {
    async fn recorded_genesis(&self) -> Result<Recorded> {
        let Some(value) = self.settings().get(GENESIS_SETTING).await? else {
            let pending = self.settings().get(PENDING_SETTING).await?.is_some();
            return Ok(Recorded::Missing { pending });
        };
        let Some((account, mac)) = value.split_once(' ') else {
            return Ok(Recorded::Invalid);
        };
        let expected = genesis_mac(&self.inner.key, account);
        let ok =
            aws_lc_rs::constant_time::verify_slices_are_equal(expected.as_bytes(), mac.as_bytes())
                .is_ok();
        Ok(if ok {
            Recorded::Valid(account.to_string())
        } else {
            Recorded::Invalid
        })
    }

    /// Walks the audit table's chain and the journal's, from their genesis to their MAC'd
    /// heads, and reports the first break, if any.
    pub async fn verify_chain(&self) -> Result<ChainReport> {
        let (account, genesis_break) = match self.recorded_genesis().await? {
            Recorded::Valid(a) => (Some(a), None),
            Recorded::Missing { pending: true } => (
                None,
                Some("the audit trail's genesis is not recorded yet: start the server once with this version to record it"),
            ),
            Recorded::Missing { pending: false } => (
                None,
                Some("the audit table's genesis record is missing: its records may have been removed"),
            ),
            Recorded::Invalid => (
                None,
                Some("the audit table's genesis record does not verify under the master key"),
            ),
        };
        let mut report = self.verify_table(account.as_deref()).await?;
        let journal = self
            .verify_journal(Expect {
                account_id: account.as_deref(),
                unanchored_ok: false,
            })
            .await?;
        if let Some(j) = journal {
            report.records_checked += j.records_checked;
            report.journal_head_seq = j.last_seq;
            if report.first_break.is_none() {
                report.first_break = j.first_break;
            }
        }
        if let Some(reason) = genesis_break {
            report.first_break = Some(ChainBreak {
                seq: 0,
                reason: reason.into(),
            });
        }
        Ok(report)
    }

    async fn verify_table(&self, genesis_account: Option<&str>) -> Result<ChainReport> {
        let mut h = Handle::Store(self);
        let mut g = h.conn().await?;
        crate::audit_chain::verify(g.conn(), &self.inner.key, genesis_account).await
    }

    async fn verify_journal(
        &self,
        expect: Expect<'_>,
    ) -> Result<Option<crate::journal::read::JournalReport>> {
        if self.inner.journal.is_none() {
            return Ok(None);
        }
        let store = self.clone();
        let account = expect.account_id.map(str::to_string);
        let unanchored_ok = expect.unanchored_ok;
        tokio::task::spawn_blocking(move || match &store.inner.journal {
            Some(j) => crate::journal::verify(
                j,
                Expect {
                    account_id: account.as_deref(),
                    unanchored_ok,
                },
            )
            .map(Some),
            None => Ok(None),
        })
        .await
        .map_err(|e| StoreError::Database(format!("journal verify: {e}")))?
    }

    /// Checks the audit trail's genesis at start, recording it for `account_id` when it is
    /// still to be recorded (a new store, or an upgrade) and the whole trail verifies from its
    /// start. A missing or foreign genesis is refused with a message saying what to run.
    pub async fn ensure_audit_genesis(&self, account_id: &str) -> Result<()> {
        match self.recorded_genesis().await? {
            Recorded::Valid(a) if a == account_id => self.check_journal_genesis(account_id).await,
            Recorded::Valid(a) => Err(refused(&format!(
                "the audit trail was created for account {a}, not {account_id}"
            ))),
            Recorded::Invalid => Err(refused(
                "the audit table's genesis record does not verify under the master key",
            )),
            Recorded::Missing { pending: false } => Err(refused(
                "the audit table's genesis record is missing: its records may have been removed",
            )),
            Recorded::Missing { pending: true } => self.record_genesis(account_id).await,
        }
    }

    async fn check_journal_genesis(&self, account_id: &str) -> Result<()> {
        let Some(j) = &self.inner.journal else {
            return Ok(());
        };
        match Genesis::load(j.dir())? {
            Some(g) if g.is_authentic(&self.inner.key) && g.account_id == account_id => Ok(()),
            Some(_) => Err(refused(
                "the audit journal's GENESIS does not verify for this installation",
            )),
            None => Err(refused(
                "the audit journal's GENESIS file is missing: its records may have been removed",
            )),
        }
    }

    async fn record_genesis(&self, account_id: &str) -> Result<()> {
        let table = self.verify_table(None).await?;
        if let Some(b) = table.first_break {
            return Err(refused(&format!(
                "the audit table does not verify from its start (record {}: {}), so its genesis cannot be recorded",
                b.seq, b.reason
            )));
        }
        let journal = self
            .verify_journal(Expect {
                account_id: Some(account_id),
                unanchored_ok: true,
            })
            .await?;
        if let Some(b) = journal.and_then(|j| j.first_break) {
            return Err(refused(&format!(
                "the audit journal does not verify from its start (record {}: {}), so its genesis cannot be recorded",
                b.seq, b.reason
            )));
        }
        if let Some(w) = self.journal_writer()? {
            let account = account_id.to_string();
            tokio::task::spawn_blocking(move || w.record_genesis(&account))
                .await
                .map_err(|e| StoreError::Database(format!("journal genesis: {e}")))??;
        }
        let key = self.inner.key.clone();
        let mut tx = self.begin().await?;
        dispatch!(tx.conn()?, c => {
            sqlx::query("UPDATE audit_head SET mac = $1 WHERE id = 1 AND seq = 0")
                .bind(genesis_head_mac(&key, account_id))
                .execute(&mut *c)
                .await?;
        });
        tx.settings()
            .set(
                GENESIS_SETTING,
                &format!("{account_id} {}", genesis_mac(&key, account_id)),
            )
            .await?;
        tx.settings().delete(PENDING_SETTING).await?;
        tx.commit().await?;
        tracing::info!(account_id, "audit trail genesis recorded");
        Ok(())
    }
}
