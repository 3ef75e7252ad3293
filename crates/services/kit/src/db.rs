//! How a handler reaches the store: read-only calls on the pool, mutating calls inside the
//! transaction that also commits their audit record.

use rampart_store::{
    Accounts, AuthzEpoch, Changes, Credentials, Entities, Links, Settings, Store, Tx,
};

/// The store access a handler gets. Repositories come from here, never from the [`Store`]
/// directly: inside a write transaction a second SQLite writer would wait for itself.
pub enum Db<'a> {
    /// A read-only operation: each query commits alone.
    Read(&'a Store),
    /// A mutating operation: everything commits together with the audit record, or nothing.
    Write(&'a mut Tx),
}

macro_rules! repo {
    ($(#[$doc:meta] $name:ident -> $ty:ident),* $(,)?) => {
        $(
            #[$doc]
            pub fn $name(&mut self) -> $ty<'_> {
                match self {
                    Db::Read(s) => s.$name(),
                    Db::Write(t) => t.$name(),
                }
            }
        )*
    };
}

impl Db<'_> {
    repo!(
        /// Accounts.
        accounts -> Accounts,
        /// Access keys.
        credentials -> Credentials,
        /// Settings.
        settings -> Settings,
        /// Generic entities (users, roles, policies, keys, ...).
        entities -> Entities,
        /// Links between entities.
        links -> Links,
        /// The authorization epoch.
        authz_epoch -> AuthzEpoch,
        /// The resource change log (AWS Config reads it).
        changes -> Changes,
    );

    /// The master key sealing secrets at rest.
    pub fn master_key(&self) -> &rampart_store::MasterKey {
        match self {
            Db::Read(s) => s.master_key(),
            Db::Write(t) => t.master_key(),
        }
    }

    /// True inside a write transaction.
    pub fn is_write(&self) -> bool {
        matches!(self, Db::Write(_))
    }
}
