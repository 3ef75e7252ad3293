//! The journal chain's anchors, each under a MAC with the master key's audit subkey:
//!
//! - `GENESIS`: the installation's account id, written once when the trail is created, so an
//!   empty journal ("nothing here yet") differs from an emptied one (genesis, no records).
//! - `HEAD`: the last checkpointed sequence number and hash. Two fixed-size slots written in
//!   turn, in place, each followed by `fdatasync`: a write torn by a crash spoils one slot and
//!   leaves the other. The head at sequence 0 also covers the account id.

use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::Path;

use crate::crypto::MasterKey;
use crate::error::{Result, StoreError};
use crate::journal::frame::Hash;
use crate::journal::{create_private, io_err, sync_dir, HEAD_FILE};

/// The journal's genesis record.
pub(crate) const GENESIS_FILE: &str = "GENESIS";
/// Bytes per head slot: `seq hash mac`, padded with spaces, ending in a newline.
const SLOT_LEN: usize = 192;

fn mac_ok(key: &MasterKey, data: &[u8], mac: &str) -> bool {
    let expected = key.audit_mac(data);
    aws_lc_rs::constant_time::verify_slices_are_equal(expected.as_bytes(), mac.as_bytes()).is_ok()
}

/// The checkpointed chain head: last sequence number, its hash, and a MAC over both.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Head {
    pub(crate) seq: i64,
    pub(crate) hash: Hash,
    mac: String,
}

impl Head {
    /// A head after at least one record.
    pub(crate) fn new(key: &MasterKey, seq: i64, hash: Hash) -> Head {
        Head {
            seq,
            hash,
            mac: key.audit_mac(&Head::mac_input(seq, &hash, None)),
        }
    }

    /// The head of an empty chain, bound to the installation's account id.
    pub(crate) fn genesis(key: &MasterKey, account_id: &str) -> Head {
        let hash = [0u8; 32];
        Head {
            seq: 0,
            hash,
            mac: key.audit_mac(&Head::mac_input(0, &hash, Some(account_id))),
        }
    }

    /// Domain-separated from the audit table's head MAC; the account id only at sequence 0.
    fn mac_input(seq: i64, hash: &Hash, account_id: Option<&str>) -> Vec<u8> {
        let mut data = b"rampart-journal-head".to_vec();
        data.extend_from_slice(&seq.to_be_bytes());
        data.extend_from_slice(hash);
        if let Some(a) = account_id {
            data.extend_from_slice(b"genesis");
            data.extend_from_slice(a.as_bytes());
        }
        data
    }

    /// True when the MAC checks; a head at 0 needs the genesis account id to check.
    pub(crate) fn is_authentic(&self, key: &MasterKey, account_id: Option<&str>) -> bool {
        let account = match (self.seq, account_id) {
            (0, None) => return false,
            (0, a) => a,
            _ => None,
        };
        mac_ok(
            key,
            &Head::mac_input(self.seq, &self.hash, account),
            &self.mac,
        )
    }

    fn slot(&self) -> [u8; SLOT_LEN] {
        let text = format!("{} {} {}", self.seq, hex::encode(self.hash), self.mac);
        let mut out = [b' '; SLOT_LEN];
        for (slot, byte) in out.iter_mut().zip(text.as_bytes()).take(SLOT_LEN - 1) {
            *slot = *byte;
        }
        if let Some(last) = out.last_mut() {
            *last = b'\n';
        }
        out
    }

    fn parse(line: &str) -> Option<Head> {
        let mut parts = line.split_whitespace();
        let seq = parts.next()?.parse().ok()?;
        let hash: Hash = hex::decode(parts.next()?).ok()?.try_into().ok()?;
        let mac = parts.next()?.to_string();
        Some(Head { seq, hash, mac })
    }

    /// The slots of the stored head file (one line per slot; unreadable lines left out);
    /// `None` when there is no head file.
    pub(crate) fn load_slots(dir: &Path) -> Result<Option<Vec<Head>>> {
        let path = dir.join(HEAD_FILE);
        let bytes = match std::fs::read(&path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(io_err(&path, e)),
        };
        let text = String::from_utf8_lossy(&bytes);
        Ok(Some(text.lines().filter_map(Head::parse).collect()))
    }

    /// The authentic slot with the highest sequence number.
    pub(crate) fn best(slots: &[Head], key: &MasterKey, account_id: Option<&str>) -> Option<Head> {
        slots
            .iter()
            .filter(|h| h.is_authentic(key, account_id))
            .max_by_key(|h| h.seq)
            .cloned()
    }

    /// Replaces the head file (both slots set to `self`) atomically: temporary file, rename.
    /// Returns the file opened for in-place slot writes.
    pub(crate) fn store_file(&self, dir: &Path) -> Result<File> {
        let path = dir.join(HEAD_FILE);
        let tmp = dir.join("HEAD.tmp");
        let slot = self.slot();
        let written = create_private(&tmp).and_then(|f| {
            f.write_all_at(&slot, 0)?;
            f.write_all_at(&slot, SLOT_LEN as u64)?;
            f.sync_all()
        });
        written.map_err(|e| io_err(&tmp, e))?;
        std::fs::rename(&tmp, &path).map_err(|e| io_err(&path, e))?;
        sync_dir(dir)?;
        std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open(&path)
            .map_err(|e| io_err(&path, e))
    }

    /// Overwrites one slot (0 or 1) of an open head file and makes it durable.
    pub(crate) fn store_slot(&self, file: &File, slot: u8, dir: &Path) -> Result<()> {
        let at = if slot == 0 { 0 } else { SLOT_LEN as u64 };
        file.write_all_at(&self.slot(), at)
            .and_then(|()| file.sync_data())
            .map_err(|e| io_err(&dir.join(HEAD_FILE), e))
    }
}

/// The journal's genesis: the account id it was created for, under a MAC.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Genesis {
    pub(crate) account_id: String,
    mac: String,
}

impl Genesis {
    pub(crate) fn new(key: &MasterKey, account_id: &str) -> Genesis {
        Genesis {
            account_id: account_id.to_string(),
            mac: key.audit_mac(&Genesis::mac_input(account_id)),
        }
    }

    fn mac_input(account_id: &str) -> Vec<u8> {
        let mut data = b"rampart-journal-genesis".to_vec();
        data.extend_from_slice(account_id.as_bytes());
        data
    }

    pub(crate) fn is_authentic(&self, key: &MasterKey) -> bool {
        mac_ok(key, &Genesis::mac_input(&self.account_id), &self.mac)
    }

    /// The stored genesis, `None` when there is none; an unreadable one is `Corrupt`.
    pub(crate) fn load(dir: &Path) -> Result<Option<Genesis>> {
        let path = dir.join(GENESIS_FILE);
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(io_err(&path, e)),
        };
        let mut parts = text.split_whitespace();
        match (parts.next(), parts.next()) {
            (Some(a), Some(m)) => Ok(Some(Genesis {
                account_id: a.to_string(),
                mac: m.to_string(),
            })),
            _ => Err(StoreError::Corrupt(format!(
                "{} is malformed",
                path.display()
            ))),
        }
    }

    /// Writes the genesis file durably (temporary file, rename, directory sync).
    pub(crate) fn store(&self, dir: &Path) -> Result<()> {
        let path = dir.join(GENESIS_FILE);
        let tmp = dir.join("GENESIS.tmp");
        let text = format!("{} {}\n", self.account_id, self.mac);
        let written = create_private(&tmp).and_then(|mut f| {
            use std::io::Write;
            f.write_all(text.as_bytes())?;
            f.sync_all()
        });
        written.map_err(|e| io_err(&tmp, e))?;
        std::fs::rename(&tmp, &path).map_err(|e| io_err(&path, e))?;
        sync_dir(dir)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_torn_slot_leaves_the_other_and_heads_at_zero_need_the_account() {
        let key = MasterKey::generate().unwrap();
        let dir = std::env::temp_dir().join(format!("rampart-anchor-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        let g = Head::genesis(&key, "123456789012");
        let file = g.store_file(&dir).unwrap();
        let slots = Head::load_slots(&dir).unwrap().unwrap();
        assert_eq!(
            Head::best(&slots, &key, Some("123456789012")),
            Some(g.clone())
        );
        assert_eq!(Head::best(&slots, &key, Some("999999999999")), None);
        assert_eq!(Head::best(&slots, &key, None), None);

        let h5 = Head::new(&key, 5, [5u8; 32]);
        h5.store_slot(&file, 1, &dir).unwrap();
        let slots = Head::load_slots(&dir).unwrap().unwrap();
        assert_eq!(
            Head::best(&slots, &key, Some("123456789012")),
            Some(h5.clone())
        );
        // Slot 0 torn mid-write: the other slot still anchors the chain.
        file.write_all_at(b"7 zz", 0).unwrap();
        let slots = Head::load_slots(&dir).unwrap().unwrap();
        assert_eq!(Head::best(&slots, &key, None), Some(h5));
        // Forged without the key: not authentic.
        let forged = Head {
            seq: 9,
            hash: [9u8; 32],
            mac: "00".repeat(32),
        };
        assert!(!forged.is_authentic(&key, None));
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn genesis_round_trips_and_checks() {
        let key = MasterKey::generate().unwrap();
        let dir = std::env::temp_dir().join(format!("rampart-genesis-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        assert_eq!(Genesis::load(&dir).unwrap(), None);
        Genesis::new(&key, "123456789012").store(&dir).unwrap();
        let g = Genesis::load(&dir).unwrap().unwrap();
        assert!(g.is_authentic(&key));
        let other = MasterKey::generate().unwrap();
        assert!(!g.is_authentic(&other));
        let _ = std::fs::remove_dir_all(&dir);
    }
}
