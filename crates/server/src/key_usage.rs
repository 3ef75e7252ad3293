//! KMS keys' last successful cryptographic use, noted as each call's audit record is built:
//! on the request path (the call's own, and those of the KMS calls services make on a
//! caller's behalf) and in the server's own work (the KMS calls of built-in rotation, secret
//! replication, and the SSE-KMS writes of CloudTrail, Config and GuardDuty, see
//! [`KeyUsage::note_side`]), so the use carries its record's `eventID` and request id, as AWS
//! counts every successful cryptographic operation whoever made it. What is noted
//! waits in memory, latest per key, for the node's flush job (`jobs::key_usage`), which
//! writes it in one transaction (`kms::last_usage::record`).

use std::{collections::HashMap, sync::Mutex};

use chrono::{DateTime, Utc};
use rampart_services::{
    cloudtrail::event::EventFacts,
    kms::last_usage::{self, Usage},
    SideCall,
};
use rampart_store::Store;

/// Keys kept in memory between flushes (bounds memory when the store is unreachable).
const MAX_PENDING: usize = 100_000;

/// One use, as the audit record names it.
#[derive(Debug, Clone, Copy)]
pub struct Used<'a> {
    /// The KMS operation.
    pub operation: &'a str,
    /// The ARNs the call was authorized on (its keys).
    pub resources: &'a [String],
    /// The record's time.
    pub at: DateTime<Utc>,
    /// The record's request id.
    pub request_id: &'a str,
    /// The record's `eventID`.
    pub event_id: &'a str,
}

/// The latest use of each key noted on this node since the last flush.
#[derive(Debug, Default)]
pub struct KeyUsage {
    pending: Mutex<HashMap<String, Usage>>,
}

impl KeyUsage {
    /// True when `service`'s `operation` is a cryptographic use AWS tracks: only then does
    /// the request path keep the call's key ARNs.
    pub fn tracks(service: &str, operation: &str) -> bool {
        service == "kms" && last_usage::TRACKED.contains(&operation)
    }

    /// Notes a successful call of KMS's `used.operation` on each key among its resources.
    pub fn note(&self, used: Used<'_>) {
        if !last_usage::TRACKED.contains(&used.operation) {
            return;
        }
        let keys = used
            .resources
            .iter()
            .filter(|arn| last_usage::key_arn_parts(arn).is_some());
        let Ok(mut pending) = self.pending.lock() else {
            return;
        };
        for arn in keys {
            if pending.len() >= MAX_PENDING && !pending.contains_key(arn) {
                return;
            }
            let newer = pending.get(arn).is_none_or(|u| u.at <= used.at);
            if newer {
                pending.insert(
                    arn.clone(),
                    Usage {
                        operation: used.operation.to_string(),
                        at: used.at,
                        event_id: used.event_id.to_string(),
                        request_id: used.request_id.to_string(),
                    },
                );
            }
        }
    }

    /// Notes a KMS call a service made (`side`, on a caller's behalf or for its own work)
    /// whose audit record has `facts`' time and ids; a failed or refused call, or a call to
    /// another service, is not a use.
    pub fn note_side(&self, side: &SideCall, facts: &EventFacts<'_>) {
        if side.service != "kms" || side.error.is_some() {
            return;
        }
        self.note(Used {
            operation: side.operation,
            resources: &side.resources,
            at: facts.event_time,
            request_id: facts.request_id,
            event_id: facts.event_id,
        });
    }

    /// Writes what was noted (one transaction); on failure the uses are kept for the next
    /// flush, unless a newer use of the same key was noted meanwhile.
    pub async fn flush(&self, store: &Store) -> anyhow::Result<()> {
        let taken: Vec<(String, Usage)> = match self.pending.lock() {
            Ok(mut pending) => pending.drain().collect(),
            Err(_) => return Ok(()),
        };
        if taken.is_empty() {
            return Ok(());
        }
        if let Err(err) = last_usage::record(store, &taken).await {
            for (arn, usage) in taken {
                self.note(Used {
                    operation: &usage.operation,
                    resources: std::slice::from_ref(&arn),
                    at: usage.at,
                    request_id: &usage.request_id,
                    event_id: &usage.event_id,
                });
            }
            return Err(anyhow::anyhow!(
                "key last usage not recorded: {}",
                err.message
            ));
        }
        Ok(())
    }

    /// How many keys wait to be written.
    #[cfg(test)]
    fn pending(&self) -> usize {
        self.pending.lock().map(|p| p.len()).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab";

    fn used<'a>(operation: &'a str, resources: &'a [String], secs: i64) -> Used<'a> {
        Used {
            operation,
            resources,
            at: DateTime::from_timestamp(secs, 0).unwrap(),
            request_id: "r",
            event_id: "e",
        }
    }

    #[test]
    fn only_cryptographic_uses_of_keys_are_noted() {
        let usage = KeyUsage::default();
        let key = [KEY.to_string()];
        usage.note(used("DescribeKey", &key, 1));
        assert_eq!(usage.pending(), 0);
        let alias = ["arn:aws:kms:us-east-1:111122223333:alias/app".to_string()];
        usage.note(used("Encrypt", &alias, 1));
        assert_eq!(usage.pending(), 0);
        usage.note(used("Encrypt", &key, 1));
        assert_eq!(usage.pending(), 1);
        // An older use noted later (a slower call) does not replace a newer one.
        usage.note(used("Sign", &key, 5));
        usage.note(used("Decrypt", &key, 2));
        let kept = usage.pending.lock().unwrap().get(KEY).cloned().unwrap();
        assert_eq!(kept.operation, "Sign");
        assert!(KeyUsage::tracks("kms", "ReEncrypt"));
        assert!(!KeyUsage::tracks("kms", "GenerateRandom"));
        assert!(!KeyUsage::tracks("secretsmanager", "Encrypt"));
    }
}
