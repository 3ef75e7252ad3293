//! Accounts: 12-digit id, name, email, status, and whether it is the management account.

use chrono::{DateTime, Utc};
use sqlx::Row;

use crate::db::{dispatch, from_ms, to_ms, Handle};
use crate::error::{Result, StoreError};

/// An account's lifecycle state (AWS Organizations' `AccountStatus`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum AccountStatus {
    /// In use.
    Active,
    /// Suspended: its principals cannot act.
    Suspended,
    /// Closing.
    PendingClosure,
}

impl AccountStatus {
    /// The AWS spelling (`ACTIVE`, `SUSPENDED`, `PENDING_CLOSURE`), also the stored value.
    pub fn as_str(self) -> &'static str {
        match self {
            AccountStatus::Active => "ACTIVE",
            AccountStatus::Suspended => "SUSPENDED",
            AccountStatus::PendingClosure => "PENDING_CLOSURE",
        }
    }

    /// Parses the stored spelling.
    pub fn parse(s: &str) -> Result<AccountStatus> {
        match s {
            "ACTIVE" => Ok(AccountStatus::Active),
            "SUSPENDED" => Ok(AccountStatus::Suspended),
            "PENDING_CLOSURE" => Ok(AccountStatus::PendingClosure),
            other => Err(StoreError::Corrupt(format!("account status {other:?}"))),
        }
    }
}

/// One account.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Account {
    /// 12 decimal digits.
    pub id: String,
    /// Display name.
    pub name: String,
    /// Root user's email; unique across accounts.
    pub email: String,
    /// Lifecycle state.
    pub status: AccountStatus,
    /// True for the organization's management account.
    pub is_management: bool,
    /// Creation time (millisecond precision).
    pub created_at: DateTime<Utc>,
}

/// True for exactly 12 ASCII digits.
pub fn is_valid_account_id(id: &str) -> bool {
    id.len() == 12 && id.bytes().all(|b| b.is_ascii_digit())
}

const COLUMNS: &str = "id, name, email, status, is_management, created_at_ms";

macro_rules! account_from_row {
    ($r:expr) => {{
        let r = &$r;
        let status: String = r.try_get("status")?;
        Account {
            id: r.try_get("id")?,
            name: r.try_get("name")?,
            email: r.try_get("email")?,
            status: AccountStatus::parse(&status)?,
            is_management: r.try_get("is_management")?,
            created_at: from_ms(r.try_get("created_at_ms")?)?,
        }
    }};
}

/// Repository of accounts, on the pool or inside a transaction.
pub struct Accounts<'a> {
    h: Handle<'a>,
}

impl<'a> Accounts<'a> {
    pub(crate) fn new(h: Handle<'a>) -> Self {
        Accounts { h }
    }

    /// Inserts an account; `AlreadyExists` if the id or email is taken.
    pub async fn create(&mut self, account: &Account) -> Result<()> {
        if !is_valid_account_id(&account.id) {
            return Err(StoreError::InvalidInput(format!(
                "account id {:?} is not 12 digits",
                account.id
            )));
        }
        let mut g = self.h.write_conn().await?;
        dispatch!(g.conn(), c => {
            sqlx::query(
                "INSERT INTO accounts (id, name, email, status, is_management, created_at_ms)
                 VALUES ($1, $2, $3, $4, $5, $6)",
            )
            .bind(&account.id)
            .bind(&account.name)
            .bind(&account.email)
            .bind(account.status.as_str())
            .bind(account.is_management)
            .bind(to_ms(account.created_at))
            .execute(&mut *c)
            .await?;
        });
        Ok(())
    }

    /// The account with this id, if any.
    pub async fn get(&mut self, id: &str) -> Result<Option<Account>> {
        let sql = format!("SELECT {COLUMNS} FROM accounts WHERE id = $1");
        let mut g = self.h.conn().await?;
        dispatch!(g.conn(), c => {
            match sqlx::query(&sql).bind(id).fetch_optional(&mut *c).await? {
                Some(r) => Ok(Some(account_from_row!(r))),
                None => Ok(None),
            }
        })
    }

    /// The accounts with these ids that exist, in one query (a page of listed accounts costs
    /// one round trip, not one per account).
    pub async fn get_many(&mut self, ids: &[&str]) -> Result<Vec<Account>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let placeholders: Vec<String> = (1..=ids.len()).map(|i| format!("${i}")).collect();
        let sql = format!(
            "SELECT {COLUMNS} FROM accounts WHERE id IN ({})",
            placeholders.join(", ")
        );
        let mut g = self.h.conn().await?;
        dispatch!(g.conn(), c => {
            let mut q = sqlx::query(&sql);
            for id in ids {
                q = q.bind(*id);
            }
            let mut out = Vec::with_capacity(ids.len());
            for r in q.fetch_all(&mut *c).await? {
                out.push(account_from_row!(r));
            }
            Ok(out)
        })
    }

    /// The account whose root email is `email`, if any.
    pub async fn get_by_email(&mut self, email: &str) -> Result<Option<Account>> {
        let sql = format!("SELECT {COLUMNS} FROM accounts WHERE email = $1");
        let mut g = self.h.conn().await?;
        dispatch!(g.conn(), c => {
            match sqlx::query(&sql).bind(email).fetch_optional(&mut *c).await? {
                Some(r) => Ok(Some(account_from_row!(r))),
                None => Ok(None),
            }
        })
    }

    /// The management account, if one has been created.
    pub async fn management(&mut self) -> Result<Option<Account>> {
        let sql =
            format!("SELECT {COLUMNS} FROM accounts WHERE is_management = $1 ORDER BY id LIMIT 1");
        let mut g = self.h.conn().await?;
        dispatch!(g.conn(), c => {
            match sqlx::query(&sql).bind(true).fetch_optional(&mut *c).await? {
                Some(r) => Ok(Some(account_from_row!(r))),
                None => Ok(None),
            }
        })
    }

    /// Up to `limit` accounts ordered by id, starting after `after_id` (keyset pagination).
    pub async fn list(&mut self, after_id: Option<&str>, limit: u32) -> Result<Vec<Account>> {
        let sql = format!("SELECT {COLUMNS} FROM accounts WHERE id > $1 ORDER BY id LIMIT $2");
        let after = after_id.unwrap_or("");
        let mut g = self.h.conn().await?;
        dispatch!(g.conn(), c => {
            let rows = sqlx::query(&sql)
                .bind(after)
                .bind(i64::from(limit))
                .fetch_all(&mut *c)
                .await?;
            let mut out = Vec::with_capacity(rows.len());
            for r in rows {
                out.push(account_from_row!(r));
            }
            Ok(out)
        })
    }

    /// Changes an account's status; `NotFound` if it does not exist.
    pub async fn set_status(&mut self, id: &str, status: AccountStatus) -> Result<()> {
        let mut g = self.h.write_conn().await?;
        let n = dispatch!(g.conn(), c => {
            sqlx::query("UPDATE accounts SET status = $1 WHERE id = $2")
                .bind(status.as_str())
                .bind(id)
                .execute(&mut *c)
                .await?
                .rows_affected()
        });
        if n == 0 {
            return Err(StoreError::NotFound(format!("account {id}")));
        }
        Ok(())
    }

    /// Deletes an account; `Conflict` while rows (e.g. access keys) still refer to it.
    pub async fn delete(&mut self, id: &str) -> Result<()> {
        let mut g = self.h.write_conn().await?;
        let n = dispatch!(g.conn(), c => {
            sqlx::query("DELETE FROM accounts WHERE id = $1")
                .bind(id)
                .execute(&mut *c)
                .await?
                .rows_affected()
        });
        if n == 0 {
            return Err(StoreError::NotFound(format!("account {id}")));
        }
        Ok(())
    }
}
