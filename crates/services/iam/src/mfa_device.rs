//! Virtual MFA devices as stored: the entity, its sealed seed, who it is assigned to, and the
//! one check every MFA-protected path uses (STS, sign-in): is this code, from this device of
//! this principal, good now and not used before?

use base64::Engine;
use chrono::{DateTime, Utc};
use rampart_kit::Partition;
use rampart_store::{aad_for, Entity};
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use super::{
    common::{find, parse_iam_arn, read_doc, save_doc, Res},
    model::{self, Tag},
    totp,
};
use rampart_kit::{db::Db, entity, error::ServiceError};

/// Entity kind of virtual MFA devices (id and ARN: the serial number).
pub const MFA_DEVICE: &str = "iam:mfa-device";
/// Link kind: user id (or account id for the root user) -> serial number of an enabled device.
pub const LINK_MFA: &str = "iam:mfa";
/// The name of the root user's device (its serial is `arn:aws:iam::ACCOUNT:mfa/<this>`).
pub const ROOT_DEVICE_NAME: &str = "root-account-mfa-device";
/// Most MFA devices one user may have enabled.
pub const DEVICES_PER_USER: usize = 8;

/// Who a device is assigned to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Assignee {
    /// The user's id (`AIDA...`), or the account id for the root user.
    pub id: String,
    /// The user's ARN, or the root ARN.
    pub arn: String,
    /// The user's name; none for the root user.
    #[serde(default)]
    pub name: Option<String>,
}

/// A device's document.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeviceDoc {
    /// The seed sealed under the master key (base64), bound to the serial number.
    pub sealed_seed: String,
    /// Tags.
    #[serde(default)]
    pub tags: Vec<Tag>,
    /// The assignee, once enabled.
    #[serde(default)]
    pub user: Option<Assignee>,
    /// When it was enabled.
    #[serde(default)]
    pub enable_date: Option<DateTime<Utc>>,
    /// The time step of the last accepted code: codes at or before it are refused (one use).
    #[serde(default)]
    pub last_step: Option<i64>,
}

fn seed_aad(serial: &str) -> Vec<u8> {
    aad_for("entities", "mfa-seed", serial)
}

/// Seals a fresh seed for the device `serial`.
pub fn seal_seed(db: &Db<'_>, serial: &str, seed: &[u8]) -> Res<String> {
    let sealed = db
        .master_key()
        .seal(&seed_aad(serial), seed)
        .map_err(ServiceError::from)?;
    Ok(base64::engine::general_purpose::STANDARD.encode(sealed))
}

/// Opens a device's seed.
pub fn open_seed(db: &Db<'_>, serial: &str, doc: &DeviceDoc) -> Res<Zeroizing<Vec<u8>>> {
    let sealed = base64::engine::general_purpose::STANDARD
        .decode(&doc.sealed_seed)
        .map_err(|_| ServiceError::internal())?;
    Ok(db.master_key().open(&seed_aad(serial), &sealed)?)
}

/// The serial number (ARN) of a device.
pub fn serial_of(partition: Partition, account: &str, path: &str, name: &str) -> String {
    model::arn(partition, account, "mfa", path, name)
}

/// A device's store key: its name at `/`, its path and name elsewhere, so devices of the same
/// name on different paths (different serial numbers, as in AWS) coexist.
pub fn device_key(path: &str, name: &str) -> String {
    if path == "/" {
        model::name_key(name)
    } else {
        model::name_key(&format!("{path}{name}"))
    }
}

/// The device with this serial number in `account`, with its document.
pub async fn by_serial(
    db: &mut Db<'_>,
    account: &str,
    serial: &str,
) -> Res<Option<(Entity, DeviceDoc)>> {
    let Some((acct, path, name)) = parse_iam_arn(serial, "mfa") else {
        return Ok(None);
    };
    if acct != account {
        return Ok(None);
    }
    let found = match entity::find(db, account, MFA_DEVICE, &device_key(&path, name)).await? {
        Some(e) => Some(e),
        // Devices stored before paths took part in the key.
        None => find(db, account, MFA_DEVICE, name).await?,
    };
    match found {
        Some(e) if e.arn == serial => {
            let doc: DeviceDoc = read_doc(&e)?;
            Ok(Some((e, doc)))
        }
        _ => Ok(None),
    }
}

/// Why an MFA code was not accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MfaRefusal {
    /// No such device, or not enabled for this principal.
    NotAssigned,
    /// Wrong or already used.
    BadCode,
    /// Too many wrong codes recently.
    Throttled,
}

/// Checks `code` from the device `serial` of the principal `owner_id` (a user id, or the
/// account id for root). With `consume`, a good code's step is recorded so the code cannot be
/// used again (inside the caller's write transaction); without, the check is read-only.
pub async fn verify_code(
    db: &mut Db<'_>,
    account: &str,
    serial: &str,
    owner_id: &str,
    code: &str,
    now: DateTime<Utc>,
    consume: bool,
) -> Res<Result<(), MfaRefusal>> {
    let Some((e, mut doc)) = by_serial(db, account, serial).await? else {
        return Ok(Err(MfaRefusal::NotAssigned));
    };
    if doc.user.as_ref().is_none_or(|u| u.id != owner_id) {
        return Ok(Err(MfaRefusal::NotAssigned));
    }
    if totp::throttled(serial, now) {
        return Ok(Err(MfaRefusal::Throttled));
    }
    let seed = open_seed(db, serial, &doc)?;
    let Some(step) = totp::find_step(&seed, code, now, totp::AUTH_WINDOW, doc.last_step) else {
        totp::record_failure(serial, now);
        return Ok(Err(MfaRefusal::BadCode));
    };
    if consume {
        totp::record_success(serial);
        doc.last_step = Some(step);
        save_doc(db, e, &doc, now).await?;
    }
    Ok(Ok(()))
}

/// The serial numbers of the devices enabled for a principal (user id or account id).
pub async fn enabled_for(db: &mut Db<'_>, account: &str, owner_id: &str) -> Res<Vec<String>> {
    Ok(db.links().targets(account, LINK_MFA, owner_id).await?)
}
