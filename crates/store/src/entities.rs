//! Generic entities (any service's named resources) and directed links between them.
//!
//! Services keep a resource's typed fields as JSON in [`Entity::doc`]; the store only knows the
//! columns that lookups, uniqueness, `PathPrefix` listing and `Marker` pagination need. One
//! table serves IAM users, groups, roles, policies and instance profiles, and later KMS keys,
//! secrets and organizations, so a new resource family needs no new schema.

use chrono::{DateTime, Utc};
use sqlx::Row;

use crate::cache::Domain;
use crate::db::{dispatch, from_ms, to_ms, Conn, Handle};
use crate::error::{Result, StoreError};
use crate::store::Store;
use crate::tx::Tx;

/// One stored resource.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entity {
    /// The owning account.
    pub account_id: String,
    /// The family, namespaced by service (`iam:user`, `iam:policy`, `kms:key`, ...).
    pub kind: String,
    /// The name as given (`Alice`).
    pub name: String,
    /// The name as uniqueness compares it (IAM names are unique case-insensitively).
    pub name_key: String,
    /// The unique id (`AIDA...`, a key UUID, ...); unique across the store.
    pub id: String,
    /// The path (`/` when the family has none).
    pub path: String,
    /// The ARN.
    pub arn: String,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
    /// The service's typed fields, JSON text.
    pub doc: String,
}

/// A page of entities in `name_key` order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntityPage {
    /// The entities.
    pub items: Vec<Entity>,
    /// True when more follow; pass the last item's `name_key` as the next `after`.
    pub truncated: bool,
}

const COLUMNS: &str =
    "account_id, kind, name_key, name, id, path, arn, created_at_ms, updated_at_ms, doc";

macro_rules! entity_from_row {
    ($r:expr) => {
        Entity {
            account_id: $r.try_get("account_id")?,
            kind: $r.try_get("kind")?,
            name_key: $r.try_get("name_key")?,
            name: $r.try_get("name")?,
            id: $r.try_get("id")?,
            path: $r.try_get("path")?,
            arn: $r.try_get("arn")?,
            created_at: from_ms($r.try_get("created_at_ms")?)?,
            updated_at: from_ms($r.try_get("updated_at_ms")?)?,
            doc: $r.try_get("doc")?,
        }
    };
}

/// Repository of entities, on the pool or inside a transaction.
pub struct Entities<'a> {
    h: Handle<'a>,
}

impl<'a> Entities<'a> {
    pub(crate) fn new(h: Handle<'a>) -> Self {
        Entities { h }
    }

    /// Inserts an entity; `AlreadyExists` if its name (or id) is taken.
    pub async fn create(&mut self, e: &Entity) -> Result<()> {
        let mut g = self.h.write_conn().await?;
        dispatch!(g.conn(), c => {
            sqlx::query(&format!(
                "INSERT INTO entities ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"
            ))
            .bind(&e.account_id)
            .bind(&e.kind)
            .bind(&e.name_key)
            .bind(&e.name)
            .bind(&e.id)
            .bind(&e.path)
            .bind(&e.arn)
            .bind(to_ms(e.created_at))
            .bind(to_ms(e.updated_at))
            .bind(&e.doc)
            .execute(&mut *c)
            .await?;
        });
        let logged =
            crate::changes::log(g.conn(), &e.account_id, &e.kind, &e.name_key, false).await?;
        drop(g);
        if logged {
            self.h.touched(Domain::Changes);
        }
        Ok(())
    }

    /// The entity of `kind` with this name key in the account, if any.
    pub async fn get(
        &mut self,
        account_id: &str,
        kind: &str,
        name_key: &str,
    ) -> Result<Option<Entity>> {
        // Outside a transaction the embedded store serves repeated reads from memory (see
        // `cache`); inside one, reads must see the transaction's own writes.
        let cached = self.h.is_pool().then(|| {
            let cache = self.h.store().inner.cache.clone();
            let key = crate::cache::entity_key(account_id, kind, name_key);
            (cache.generation(Domain::Entities), key, cache)
        });
        if let Some((_, key, cache)) = &cached {
            if let Some(e) = cache.entity(key) {
                return Ok(Some(e));
            }
        }
        let sql = format!(
            "SELECT {COLUMNS} FROM entities WHERE account_id = $1 AND kind = $2 AND name_key = $3"
        );
        let mut g = self.h.conn().await?;
        let found: Option<Entity> = dispatch!(g.conn(), c => {
            match sqlx::query(&sql)
                .bind(account_id)
                .bind(kind)
                .bind(name_key)
                .fetch_optional(&mut *c)
                .await?
            {
                Some(r) => Some(entity_from_row!(r)),
                None => None,
            }
        });
        if let (Some((read_at, key, cache)), Some(e)) = (cached, &found) {
            cache.put_entity(read_at, key, e);
        }
        Ok(found)
    }

    /// The entity with this unique id, if any.
    pub async fn get_by_id(&mut self, id: &str) -> Result<Option<Entity>> {
        let sql = format!("SELECT {COLUMNS} FROM entities WHERE id = $1");
        let mut g = self.h.conn().await?;
        dispatch!(g.conn(), c => {
            match sqlx::query(&sql).bind(id).fetch_optional(&mut *c).await? {
                Some(r) => Ok(Some(entity_from_row!(r))),
                None => Ok(None),
            }
        })
    }

    /// Several entities of one kind by name key (missing ones are skipped), in key order.
    pub async fn get_many(
        &mut self,
        account_id: &str,
        kind: &str,
        name_keys: &[String],
    ) -> Result<Vec<Entity>> {
        let mut out = Vec::with_capacity(name_keys.len());
        for key in name_keys {
            if let Some(e) = self.get(account_id, kind, key).await? {
                out.push(e);
            }
        }
        out.sort_by(|a, b| a.name_key.cmp(&b.name_key));
        Ok(out)
    }

    /// Replaces the entity stored under `previous_name_key` (which may differ from
    /// `e.name_key` for a rename); `NotFound` if absent, `AlreadyExists` if the new name is taken.
    pub async fn update(&mut self, previous_name_key: &str, e: &Entity) -> Result<()> {
        let mut g = self.h.write_conn().await?;
        let n = dispatch!(g.conn(), c => {
            sqlx::query(
                "UPDATE entities SET name_key = $1, name = $2, path = $3, arn = $4,
                    updated_at_ms = $5, doc = $6
                 WHERE account_id = $7 AND kind = $8 AND name_key = $9",
            )
            .bind(&e.name_key)
            .bind(&e.name)
            .bind(&e.path)
            .bind(&e.arn)
            .bind(to_ms(e.updated_at))
            .bind(&e.doc)
            .bind(&e.account_id)
            .bind(&e.kind)
            .bind(previous_name_key)
            .execute(&mut *c)
            .await?
            .rows_affected()
        });
        if n > 0
            && crate::changes::log(g.conn(), &e.account_id, &e.kind, &e.name_key, false).await?
        {
            drop(g);
            self.h.touched(Domain::Changes);
        } else {
            drop(g);
        }
        // Creating needs no invalidation (absence is never cached); changing or deleting does.
        self.h.touched(Domain::Entities);
        if n == 0 {
            return Err(StoreError::NotFound(format!(
                "{} {}",
                e.kind, previous_name_key
            )));
        }
        Ok(())
    }

    /// Deletes an entity; `NotFound` if absent.
    pub async fn delete(&mut self, account_id: &str, kind: &str, name_key: &str) -> Result<()> {
        let mut g = self.h.write_conn().await?;
        let n = dispatch!(g.conn(), c => {
            sqlx::query("DELETE FROM entities WHERE account_id = $1 AND kind = $2 AND name_key = $3")
                .bind(account_id)
                .bind(kind)
                .bind(name_key)
                .execute(&mut *c)
                .await?
                .rows_affected()
        });
        if n > 0 && crate::changes::log(g.conn(), account_id, kind, name_key, true).await? {
            drop(g);
            self.h.touched(Domain::Changes);
        } else {
            drop(g);
        }
        self.h.touched(Domain::Entities);
        if n == 0 {
            return Err(StoreError::NotFound(format!("{kind} {name_key}")));
        }
        Ok(())
    }

    /// Entities of `kind` whose path starts with `path_prefix`, in `name_key` order after
    /// `after`, at most `limit` (IAM's `PathPrefix`/`Marker`/`MaxItems`).
    pub async fn list(
        &mut self,
        account_id: &str,
        kind: &str,
        path_prefix: &str,
        after: Option<&str>,
        limit: u32,
    ) -> Result<EntityPage> {
        // LIKE with an escaped prefix works on every backend; '\' is the escape character.
        let pattern = format!("{}%", escape_like(path_prefix));
        let fetch = i64::from(limit) + 1;
        let mut g = self.h.conn().await?;
        let ranged = matches!(g.conn(), Conn::Sqlite(_)) && path_prefix.len() > 1;
        let mut items = dispatch!(g.conn(), c => {
            let mut query = sqlx::query(if ranged { LIST_RANGED } else { LIST })
                .bind(account_id)
                .bind(kind)
                .bind(&pattern)
                .bind(after.unwrap_or(""))
                .bind(fetch);
            if ranged {
                query = query
                    .bind(path_prefix)
                    .bind(format!("{path_prefix}{}", char::MAX));
            }
            let rows = query.fetch_all(&mut *c).await?;
            let mut v = Vec::with_capacity(rows.len());
            for r in rows {
                v.push(entity_from_row!(r));
            }
            v
        });
        let truncated = items.len() > limit as usize;
        items.truncate(limit as usize);
        Ok(EntityPage { items, truncated })
    }

    /// How many entities of `kind` the account has (quotas, `GetAccountSummary`).
    pub async fn count(&mut self, account_id: &str, kind: &str) -> Result<i64> {
        let mut g = self.h.conn().await?;
        dispatch!(g.conn(), c => {
            Ok(sqlx::query_scalar("SELECT COUNT(*) FROM entities WHERE account_id = $1 AND kind = $2")
                .bind(account_id)
                .bind(kind)
                .fetch_one(&mut *c)
                .await?)
        })
    }
}

/// Repository of directed links between entities, on the pool or inside a transaction.
pub struct Links<'a> {
    h: Handle<'a>,
}

impl<'a> Links<'a> {
    pub(crate) fn new(h: Handle<'a>) -> Self {
        Links { h }
    }

    /// Adds `from -> to`; true if it was new.
    pub async fn add(
        &mut self,
        account_id: &str,
        kind: &str,
        from: &str,
        to: &str,
    ) -> Result<bool> {
        let mut g = self.h.write_conn().await?;
        let n = dispatch!(g.conn(), c => {
            sqlx::query(
                "INSERT INTO links (account_id, kind, from_key, to_key, created_at_ms)
                 VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING",
            )
            .bind(account_id)
            .bind(kind)
            .bind(from)
            .bind(to)
            .bind(to_ms(crate::db::now_ms()))
            .execute(&mut *c)
            .await?
            .rows_affected()
        });
        if n == 1 && crate::changes::log(g.conn(), account_id, kind, from, false).await? {
            drop(g);
            self.h.touched(Domain::Changes);
        }
        Ok(n == 1)
    }

    /// Removes `from -> to`; true if it existed.
    pub async fn remove(
        &mut self,
        account_id: &str,
        kind: &str,
        from: &str,
        to: &str,
    ) -> Result<bool> {
        let mut g = self.h.write_conn().await?;
        let n = dispatch!(g.conn(), c => {
            sqlx::query(
                "DELETE FROM links WHERE account_id = $1 AND kind = $2 AND from_key = $3 AND to_key = $4",
            )
            .bind(account_id)
            .bind(kind)
            .bind(from)
            .bind(to)
            .execute(&mut *c)
            .await?
            .rows_affected()
        });
        if n == 1 && crate::changes::log(g.conn(), account_id, kind, from, false).await? {
            drop(g);
            self.h.touched(Domain::Changes);
        }
        Ok(n == 1)
    }

    /// Every `to` linked from `from`, in key order.
    pub async fn targets(
        &mut self,
        account_id: &str,
        kind: &str,
        from: &str,
    ) -> Result<Vec<String>> {
        let mut g = self.h.conn().await?;
        dispatch!(g.conn(), c => {
            Ok(sqlx::query_scalar(
                "SELECT to_key FROM links WHERE account_id = $1 AND kind = $2 AND from_key = $3
                 ORDER BY to_key",
            )
            .bind(account_id)
            .bind(kind)
            .bind(from)
            .fetch_all(&mut *c)
            .await?)
        })
    }

    /// Every `from` linking to `to`, in key order (any account: a managed policy of AWS is
    /// attached from many accounts).
    pub async fn sources(&mut self, kind: &str, to: &str) -> Result<Vec<(String, String)>> {
        let mut g = self.h.conn().await?;
        dispatch!(g.conn(), c => {
            let rows = sqlx::query(
                "SELECT account_id, from_key FROM links WHERE kind = $1 AND to_key = $2
                 ORDER BY account_id, from_key",
            )
            .bind(kind)
            .bind(to)
            .fetch_all(&mut *c)
            .await?;
            let mut v = Vec::with_capacity(rows.len());
            for r in rows {
                v.push((r.try_get("account_id")?, r.try_get("from_key")?));
            }
            Ok(v)
        })
    }

    /// Removes every link from or to `key` of `kind` in the account; returns how many.
    pub async fn remove_all(&mut self, account_id: &str, kind: &str, key: &str) -> Result<u64> {
        let mut g = self.h.write_conn().await?;
        // The entities losing a link are the ones it came from (logged before they go).
        if crate::changes::is_recorded(kind) {
            dispatch!(g.conn(), c => {
                sqlx::query(
                    "INSERT INTO resource_changes (account_id, kind, key, deleted)
                     SELECT account_id, kind, from_key, 0 FROM links
                     WHERE account_id = $1 AND kind = $2 AND (from_key = $3 OR to_key = $3)",
                )
                .bind(account_id)
                .bind(kind)
                .bind(key)
                .execute(&mut *c)
                .await?;
            });
        }
        let n = dispatch!(g.conn(), c => {
            sqlx::query(
                "DELETE FROM links WHERE account_id = $1 AND kind = $2 AND (from_key = $3 OR to_key = $3)",
            )
            .bind(account_id)
            .bind(kind)
            .bind(key)
            .execute(&mut *c)
            .await?
            .rows_affected()
        });
        Ok(n)
    }
}

/// Reads and bumps the authorization epoch.
pub struct AuthzEpoch<'a> {
    h: Handle<'a>,
}

impl<'a> AuthzEpoch<'a> {
    pub(crate) fn new(h: Handle<'a>) -> Self {
        AuthzEpoch { h }
    }

    /// The current epoch (from the in-process cache on the embedded store).
    pub async fn get(&mut self) -> Result<i64> {
        let cache = self.h.store().inner.cache.clone();
        let cacheable = self.h.is_pool();
        if cacheable {
            if let Some(epoch) = cache.epoch() {
                return Ok(epoch);
            }
        }
        let read_at = cache.generation(Domain::Epoch);
        let mut g = self.h.conn().await?;
        let epoch: i64 = dispatch!(g.conn(), c => {
            sqlx::query_scalar("SELECT epoch FROM authz_epoch WHERE id = 1")
                .fetch_one(&mut *c)
                .await?
        });
        if cacheable {
            cache.put_epoch(read_at, epoch);
        }
        Ok(epoch)
    }

    /// Bumps the epoch (call in the transaction of any change that can alter a decision).
    pub async fn bump(&mut self) -> Result<i64> {
        let mut g = self.h.write_conn().await?;
        let epoch: i64 = dispatch!(g.conn(), c => {
            sqlx::query_scalar("UPDATE authz_epoch SET epoch = epoch + 1 WHERE id = 1 RETURNING epoch")
                .fetch_one(&mut *c)
                .await?
        });
        drop(g);
        self.h.touched(Domain::Epoch);
        Ok(epoch)
    }
}

/// The listing query: the entities of a kind in an account whose path is LIKE a prefix, in
/// `name_key` order from a marker.
const LIST: &str = "SELECT account_id, kind, name_key, name, id, path, arn, created_at_ms,
    updated_at_ms, doc FROM entities
    WHERE account_id = $1 AND kind = $2 AND path LIKE $3 ESCAPE '\\' AND name_key > $4
    ORDER BY name_key LIMIT $5";

/// [`LIST`] for a selective prefix on SQLite. SQLite never serves `LIKE ... ESCAPE` on a
/// case-sensitive column from an index, so [`LIST`] reads every entity of the kind in the
/// account through the primary key (Access Analyzer's findings of one resource among 1,000:
/// most of a 9 ms re-analysis). This reads the path index's range instead (`$6 <= path < $7`:
/// the prefix, and the prefix followed by the last code point; the LIKE stays the exact test)
/// and sorts what it finds (`+name_key` keeps the planner off the primary key). `/` and the
/// empty prefix match everything, so they keep [`LIST`], in whose order a page stops early.
/// PostgreSQL's planner chooses for itself, and its collations do not promise that such a
/// range holds every match.
const LIST_RANGED: &str = "SELECT account_id, kind, name_key, name, id, path, arn,
    created_at_ms, updated_at_ms, doc FROM entities
    WHERE account_id = $1 AND kind = $2 AND path >= $6 AND path < $7
      AND path LIKE $3 ESCAPE '\\' AND +name_key > $4
    ORDER BY name_key LIMIT $5";

fn escape_like(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for ch in s.chars() {
        if matches!(ch, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(ch);
    }
    out
}

impl Store {
    /// Entities, each call committing alone.
    pub fn entities(&self) -> Entities<'_> {
        Entities::new(Handle::Store(self))
    }

    /// Links, each call committing alone.
    pub fn links(&self) -> Links<'_> {
        Links::new(Handle::Store(self))
    }

    /// The authorization epoch.
    pub fn authz_epoch(&self) -> AuthzEpoch<'_> {
        AuthzEpoch::new(Handle::Store(self))
    }
}

impl Tx {
    /// Entities inside this transaction.
    pub fn entities(&mut self) -> Entities<'_> {
        Entities::new(Handle::Tx(self))
    }

    /// Links inside this transaction.
    pub fn links(&mut self) -> Links<'_> {
        Links::new(Handle::Tx(self))
    }

    /// The authorization epoch inside this transaction.
    pub fn authz_epoch(&mut self) -> AuthzEpoch<'_> {
        AuthzEpoch::new(Handle::Tx(self))
    }
}

#[cfg(test)]
mod tests {
    use super::escape_like;

    #[test]
    fn like_metacharacters_are_escaped() {
        assert_eq!(escape_like("/a_b%/"), "/a\\_b\\%/");
    }
}
