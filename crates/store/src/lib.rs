//! rampart-store: Rampart's persistence on SQLite (embedded default) or PostgreSQL.
//!
//! Repositories per aggregate ([`Accounts`], [`Credentials`], [`Settings`]) run either on the
//! pool (each call commits alone) or inside a [`Tx`], where a mutating call and its audit
//! record commit together. Secrets are sealed under the [`MasterKey`]; audit records form a
//! hash chain checked by [`Store::verify_chain`].

#![deny(missing_docs)]

mod accounts;
mod audit;
mod audit_chain;
mod audit_encoded;
mod audit_genesis;
mod audit_lookup;
mod audit_stream;
mod audit_writer;
mod backup;
mod cache;
mod changes;
mod config;
mod credentials;
mod crypto;
mod db;
mod dump;
mod entities;
mod error;
mod group;
mod jobs;
mod journal;
mod migrate;
mod outbox;
mod settings;
mod sqlite_check;
mod store;
mod tx;
mod wipe;

pub use accounts::{is_valid_account_id, Account, AccountStatus, Accounts};
pub use audit::{Appended, AuditRecord, AuditResource, StoredEvent};
pub use audit_chain::{ChainBreak, ChainReport, GENESIS_HASH};
pub use audit_encoded::{AuditFields, EncodedAudit};
pub use audit_lookup::{EventPage, LookupAttribute, LookupQuery, MAX_PAGE};
pub use audit_stream::{StreamBatch, StreamPosition, StreamRecord, StreamSource};
pub use audit_writer::{AuditWriter, AuditWriterConfig, Durability};
pub use backup::{backup_embedded, BackupReport};
pub use cache::{KeyWithSecret, SharedKey};
pub use changes::{Change, Changes, ACCESS_KEY_KIND, RECORDED_KINDS};
pub use config::{Backend, StoreConfig, SQLITE_FILE};
pub use credentials::{
    hash_session_token, is_valid_access_key_id, AccessKey, Credentials, KeyStatus, LastUsed,
    Principal, PrincipalKind, Session,
};
pub use crypto::{aad_for, MasterKey, MASTER_KEY_ENV, MASTER_KEY_FILE};
pub use db::now_ms;
pub use entities::{AuthzEpoch, Entities, Entity, EntityPage, Links};
pub use error::{Result, StoreError};
pub use group::GroupStats;
pub use jobs::{JobRecord, Jobs, Lease};
pub use journal::DEFAULT_SEGMENT_BYTES;
pub use outbox::{Outbox, OutboxItem};
pub use settings::Settings;
pub use store::{BackendKind, Store};
pub use tx::Tx;
pub use zeroize::Zeroizing;
