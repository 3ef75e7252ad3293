//! Virtual MFA devices: create (a real seed and QR code), enable with two consecutive codes,
//! resync, deactivate, delete, list, tags; for IAM users and for the root user.

use super::Op;
use base64::Engine;
use rampart_store::{Entity, Store};
use serde_json::{json, Map, Value};
use zeroize::Zeroizing;

use super::{
    account::all,
    common::{
        checked_path, exists_or, opt_str, page, req_str, save_doc, str_list, tags, to_text, ts,
        IamError, Res,
    },
    mfa_device::{
        by_serial, device_key, enabled_for, open_seed, seal_seed, serial_of, Assignee, DeviceDoc,
        DEVICES_PER_USER, LINK_MFA, MFA_DEVICE, ROOT_DEVICE_NAME,
    },
    model::{name_key, UserDoc},
    totp, users,
};
use rampart_kit::{
    authz::AuthzRequest, context::CallContext, db::Db, error::ServiceError,
    principal::PrincipalKind,
};

/// The authorization entry of an operation of this family: device operations act on the
/// device (`arn:aws:iam::A:mfa/...`), assignment operations on the user.
pub async fn authz(
    op: Op,
    input: &Value,
    ctx: &CallContext,
    store: &Store,
) -> Result<Option<AuthzRequest>, ServiceError> {
    let operation = op.name();
    let account = ctx.principal.account_id.as_str();
    let action = format!("iam:{operation}");
    let req = match op {
        Op::CreateVirtualMFADevice => {
            let name = req_str(input, "VirtualMFADeviceName")?;
            let path = checked_path(input, "Path")?;
            let mut req = AuthzRequest::on(
                &action,
                serial_of(ctx.partition(), account, &path, name),
                account,
            );
            req.context = tags::request_context(&tags::from_input(input)?);
            req
        }
        Op::EnableMFADevice
        | Op::ResyncMFADevice
        | Op::DeactivateMFADevice
        | Op::ListMFADevices => match opt_str(input, "UserName") {
            Some(name) if !is_root_call(ctx, input) => {
                users::authz_on_user(&action, name, ctx, store, Vec::new()).await?
            }
            _ => AuthzRequest::on(&action, ctx.principal.arn.clone(), account),
        },
        Op::ListVirtualMFADevices => AuthzRequest::on_any(&action, account),
        Op::DeleteVirtualMFADevice | Op::ListMFADeviceTags | Op::GetMFADevice => {
            device_authz(&action, input, ctx, store, Vec::new()).await?
        }
        Op::TagMFADevice => {
            let context = tags::request_context(&tags::from_input(input)?);
            device_authz(&action, input, ctx, store, context).await?
        }
        Op::UntagMFADevice => {
            let context = vec![tags::tag_keys_context(&str_list(input, "TagKeys"))];
            device_authz(&action, input, ctx, store, context).await?
        }
        _ => return Ok(None),
    };
    Ok(Some(req))
}

/// A request on the device named by `SerialNumber`, with its tags as `aws:ResourceTag/*`.
async fn device_authz(
    action: &str,
    input: &Value,
    ctx: &CallContext,
    store: &Store,
    mut context: Vec<rampart_kit::context::ContextEntry>,
) -> Res<AuthzRequest> {
    let account = &ctx.principal.account_id;
    let serial = req_str(input, "SerialNumber")?;
    if let Some((_, doc)) = by_serial(&mut Db::Read(store), account, serial).await? {
        context.extend(tags::resource_context(&doc.tags));
    }
    let mut req = AuthzRequest::on(action, serial.to_string(), account);
    req.context = context;
    Ok(req)
}

/// The root user acting on its own device: the root device's serial (whatever `UserName`
/// says, which the API requires but the root user does not have).
fn is_root_call(ctx: &CallContext, input: &Value) -> bool {
    ctx.principal.kind == PrincipalKind::Root
        && opt_str(input, "SerialNumber").is_some_and(|s| {
            s == serial_of(
                ctx.partition(),
                &ctx.principal.account_id,
                "/",
                ROOT_DEVICE_NAME,
            )
        })
}

fn no_such_device(serial: &str) -> ServiceError {
    IamError::NoSuchEntity(format!(
        "VirtualMFADevice with serial number {serial} doesn't exist."
    ))
    .into()
}

fn invalid_code() -> ServiceError {
    IamError::InvalidAuthenticationCode("Authentication code for device is not valid.".into())
        .into()
}

pub async fn create(input: &Value, ctx: &CallContext, db: &mut Db<'_>) -> Res<Value> {
    let p = &ctx.principal;
    let account = &p.account_id;
    let name = req_str(input, "VirtualMFADeviceName")?;
    let path = checked_path(input, "Path")?;
    if name_key(name) == name_key(ROOT_DEVICE_NAME) && p.kind != PrincipalKind::Root {
        return Err(IamError::InvalidInput(format!(
            "The device name {ROOT_DEVICE_NAME} is reserved for the account root user."
        ))
        .into());
    }
    let tag_list = tags::from_input(input)?;
    let serial = serial_of(ctx.partition(), account, &path, name);
    let seed = Zeroizing::new(totp::new_seed().ok_or_else(ServiceError::internal)?);
    let doc = DeviceDoc {
        sealed_seed: seal_seed(db, &serial, &seed)?,
        tags: tag_list.clone(),
        ..DeviceDoc::default()
    };
    let e = Entity {
        account_id: account.clone(),
        kind: MFA_DEVICE.into(),
        name: name.to_string(),
        name_key: device_key(&path, name),
        id: serial.clone(),
        path,
        arn: serial.clone(),
        created_at: ctx.now,
        updated_at: ctx.now,
        doc: to_text(&doc)?,
    };
    db.entities().create(&e).await.map_err(|err| {
        exists_or(
            err,
            "MFADevice entity at the same path and name already exists.".into(),
        )
    })?;
    let b32 = Zeroizing::new(totp::base32(&seed));
    // AWS: the account part is the user name if set, otherwise the account id.
    let who = match p.kind {
        PrincipalKind::User => p.name.clone(),
        _ => account.clone(),
    };
    let uri = Zeroizing::new(totp::otpauth_uri(name, &who, &b32));
    let png = totp::qr_png(&uri).ok_or_else(ServiceError::internal)?;
    let b64 = base64::engine::general_purpose::STANDARD;
    let mut dev = Map::new();
    dev.insert("SerialNumber".into(), json!(serial));
    dev.insert("Base32StringSeed".into(), json!(b64.encode(b32.as_bytes())));
    dev.insert("QRCodePNG".into(), json!(b64.encode(png)));
    if !tag_list.is_empty() {
        dev.insert("Tags".into(), tags::to_json(&tag_list));
    }
    Ok(json!({ "VirtualMFADevice": dev }))
}

/// Whom an assignment operation addresses: the root user for the root device called by root,
/// else the named user (or the calling user when `UserName` is absent).
async fn assignee(input: &Value, ctx: &CallContext, db: &mut Db<'_>) -> Res<Assignee> {
    let p = &ctx.principal;
    if is_root_call(ctx, input)
        || (p.kind == PrincipalKind::Root && opt_str(input, "UserName").is_none())
    {
        return Ok(Assignee {
            id: p.account_id.clone(),
            arn: ctx.partition().root_arn(&p.account_id),
            name: None,
        });
    }
    let name = match opt_str(input, "UserName") {
        Some(n) => n.to_string(),
        None if p.kind == PrincipalKind::User => p.name.clone(),
        None => {
            return Err(ServiceError::validation(
                "Must specify userName when calling with non-User credentials",
            ))
        }
    };
    let u = users::load(db, &p.account_id, &name).await?;
    Ok(Assignee {
        id: u.id,
        arn: u.arn,
        name: Some(u.name),
    })
}

pub async fn enable(input: &Value, ctx: &CallContext, db: &mut Db<'_>) -> Res<Value> {
    let account = &ctx.principal.account_id;
    let serial = req_str(input, "SerialNumber")?;
    let code1 = req_str(input, "AuthenticationCode1")?;
    let code2 = req_str(input, "AuthenticationCode2")?;
    let who = assignee(input, ctx, db).await?;
    let (e, mut doc) = by_serial(db, account, serial)
        .await?
        .ok_or_else(|| no_such_device(serial))?;
    if doc.user.is_some() {
        return Err(IamError::EntityAlreadyExists("MFA Device is already in use.".into()).into());
    }
    if e.name_key == name_key(ROOT_DEVICE_NAME) && e.path == "/" && who.name.is_some() {
        return Err(IamError::InvalidInput(format!(
            "The device {ROOT_DEVICE_NAME} can only be enabled for the account root user."
        ))
        .into());
    }
    let enabled = enabled_for(db, account, &who.id).await?;
    if enabled.len() >= DEVICES_PER_USER {
        return Err(IamError::LimitExceeded(format!(
            "Cannot exceed quota for MFADevicesPerUser: {DEVICES_PER_USER}"
        ))
        .into());
    }
    let step = check_pair(db, serial, &doc, code1, code2, ctx).await?;
    db.links().add(account, LINK_MFA, &who.id, serial).await?;
    doc.user = Some(who);
    doc.enable_date = Some(ctx.now);
    doc.last_step = Some(step);
    save_doc(db, e, &doc, ctx.now).await?;
    Ok(json!({}))
}

/// Two consecutive codes of the device, newer than any accepted before; the throttle counts
/// wrong pairs.
async fn check_pair(
    db: &mut Db<'_>,
    serial: &str,
    doc: &DeviceDoc,
    code1: &str,
    code2: &str,
    ctx: &CallContext,
) -> Res<i64> {
    if totp::throttled(serial, ctx.now) {
        return Err(invalid_code());
    }
    let seed = open_seed(db, serial, doc)?;
    match totp::find_consecutive(&seed, code1, code2, ctx.now, doc.last_step) {
        Some(step) => {
            totp::record_success(serial);
            Ok(step)
        }
        None => {
            totp::record_failure(serial, ctx.now);
            Err(invalid_code())
        }
    }
}

/// The device `serial` enabled for `who`, or `NoSuchEntity`.
async fn assigned(
    db: &mut Db<'_>,
    account: &str,
    serial: &str,
    who: &Assignee,
) -> Res<(Entity, DeviceDoc)> {
    match by_serial(db, account, serial).await? {
        Some((e, doc)) if doc.user.as_ref().is_some_and(|u| u.id == who.id) => Ok((e, doc)),
        _ => Err(IamError::NoSuchEntity(format!(
            "MFA Device with serial number {serial} does not exist."
        ))
        .into()),
    }
}

pub async fn resync(input: &Value, ctx: &CallContext, db: &mut Db<'_>) -> Res<Value> {
    let account = &ctx.principal.account_id;
    let serial = req_str(input, "SerialNumber")?;
    let code1 = req_str(input, "AuthenticationCode1")?;
    let code2 = req_str(input, "AuthenticationCode2")?;
    let who = assignee(input, ctx, db).await?;
    let (e, mut doc) = assigned(db, account, serial, &who).await?;
    let step = check_pair(db, serial, &doc, code1, code2, ctx).await?;
    doc.last_step = Some(step);
    save_doc(db, e, &doc, ctx.now).await?;
    Ok(json!({}))
}

pub async fn deactivate(input: &Value, ctx: &CallContext, db: &mut Db<'_>) -> Res<Value> {
    let account = &ctx.principal.account_id;
    let serial = req_str(input, "SerialNumber")?;
    let who = assignee(input, ctx, db).await?;
    let (e, mut doc) = assigned(db, account, serial, &who).await?;
    db.links()
        .remove(account, LINK_MFA, &who.id, serial)
        .await?;
    doc.user = None;
    doc.enable_date = None;
    save_doc(db, e, &doc, ctx.now).await?;
    Ok(json!({}))
}

pub async fn delete(input: &Value, ctx: &CallContext, db: &mut Db<'_>) -> Res<Value> {
    let account = &ctx.principal.account_id;
    let serial = req_str(input, "SerialNumber")?;
    let (e, doc) = by_serial(db, account, serial)
        .await?
        .ok_or_else(|| no_such_device(serial))?;
    if doc.user.is_some() {
        return Err(IamError::DeleteConflict(
            "MFA VirtualDevice in use. Must deactivate first.".into(),
        )
        .into());
    }
    db.entities()
        .delete(account, MFA_DEVICE, &e.name_key)
        .await?;
    Ok(json!({}))
}

/// An `MFADevice` entry; `user` is the current name of its user (the root user is listed
/// under the account id).
fn mfa_json(serial: &str, doc: &DeviceDoc, user: &str) -> Value {
    let name = user;
    let mut m = Map::new();
    m.insert("UserName".into(), json!(name));
    m.insert("SerialNumber".into(), json!(serial));
    if let Some(d) = doc.enable_date {
        m.insert("EnableDate".into(), json!(ts(d)));
    }
    Value::Object(m)
}

pub async fn list_mfa(input: &Value, ctx: &CallContext, db: &mut Db<'_>) -> Res<Value> {
    let account = &ctx.principal.account_id;
    let who = assignee(input, ctx, db).await?;
    let mut items = Vec::new();
    for serial in enabled_for(db, account, &who.id).await? {
        if let Some((_, doc)) = by_serial(db, account, &serial).await? {
            items.push((serial, doc));
        }
    }
    items.sort_by(|a, b| a.0.cmp(&b.0));
    let req = page::page_req(input)?;
    let (page_items, truncated, last) = page::slice(items, |(s, _)| s.clone(), &req);
    let mut out = Map::new();
    out.insert(
        "MFADevices".into(),
        Value::Array(
            page_items
                .iter()
                .map(|(s, d)| mfa_json(s, d, who.name.as_deref().unwrap_or(account)))
                .collect(),
        ),
    );
    page::finish(&mut out, truncated, last.as_deref());
    Ok(Value::Object(out))
}

/// The `User` of a listed virtual device (the root user: id, ARN and account creation).
async fn user_of(db: &mut Db<'_>, account: &str, who: &Assignee) -> Res<Option<Value>> {
    if who.name.is_none() {
        let created = db.accounts().get(account).await?.map(|a| a.created_at);
        let mut m = Map::new();
        m.insert("UserId".into(), json!(who.id));
        m.insert("Arn".into(), json!(who.arn));
        if let Some(c) = created {
            m.insert("CreateDate".into(), json!(ts(c)));
        }
        return Ok(Some(Value::Object(m)));
    }
    match db.entities().get_by_id(&who.id).await? {
        Some(e) => {
            let doc: UserDoc = super::common::read_doc(&e)?;
            Ok(Some(users::user_json(&e, &doc, false)))
        }
        None => Ok(None),
    }
}

pub async fn list_virtual(input: &Value, ctx: &CallContext, db: &mut Db<'_>) -> Res<Value> {
    let account = &ctx.principal.account_id;
    let status = opt_str(input, "AssignmentStatus").unwrap_or("Any");
    let mut items = Vec::new();
    for e in all(db, account, MFA_DEVICE).await? {
        let doc: DeviceDoc = super::common::read_doc(&e)?;
        let keep = match status {
            "Assigned" => doc.user.is_some(),
            "Unassigned" => doc.user.is_none(),
            _ => true,
        };
        if keep {
            items.push((e, doc));
        }
    }
    let req = page::page_req(input)?;
    let (page_items, truncated, last) = page::slice(items, |(e, _)| e.name_key.clone(), &req);
    let mut list = Vec::with_capacity(page_items.len());
    for (e, doc) in &page_items {
        let mut m = Map::new();
        m.insert("SerialNumber".into(), json!(e.arn));
        if let Some(who) = &doc.user {
            if let Some(u) = user_of(db, account, who).await? {
                m.insert("User".into(), u);
            }
        }
        if let Some(d) = doc.enable_date {
            m.insert("EnableDate".into(), json!(ts(d)));
        }
        if !doc.tags.is_empty() {
            m.insert("Tags".into(), tags::to_json(&doc.tags));
        }
        list.push(Value::Object(m));
    }
    let mut out = Map::new();
    out.insert("VirtualMFADevices".into(), Value::Array(list));
    page::finish(&mut out, truncated, last.as_deref());
    Ok(Value::Object(out))
}

pub async fn get(input: &Value, ctx: &CallContext, db: &mut Db<'_>) -> Res<Value> {
    let account = &ctx.principal.account_id;
    let serial = req_str(input, "SerialNumber")?;
    let (_, doc) = by_serial(db, account, serial)
        .await?
        .filter(|(_, d)| d.user.is_some())
        .ok_or_else(|| no_such_device(serial))?;
    let who = doc.user.clone().ok_or_else(|| no_such_device(serial))?;
    // The stored name may predate a rename: read the user's current name.
    let current = match &who.name {
        None => account.to_string(),
        Some(_) => db
            .entities()
            .get_by_id(&who.id)
            .await?
            .map(|u| u.name)
            .ok_or_else(|| no_such_device(serial))?,
    };
    if let Some(name) = opt_str(input, "UserName") {
        if !current.eq_ignore_ascii_case(name) {
            return Err(no_such_device(serial));
        }
    }
    Ok(mfa_json(serial, &doc, &current))
}

async fn device(db: &mut Db<'_>, ctx: &CallContext, input: &Value) -> Res<(Entity, DeviceDoc)> {
    let serial = req_str(input, "SerialNumber")?;
    by_serial(db, &ctx.principal.account_id, serial)
        .await?
        .ok_or_else(|| no_such_device(serial))
}

pub async fn tag(input: &Value, ctx: &CallContext, db: &mut Db<'_>) -> Res<Value> {
    let new = tags::from_input(input)?;
    let (e, mut doc) = device(db, ctx, input).await?;
    doc.tags = tags::merge(&doc.tags, &new)?;
    save_doc(db, e, &doc, ctx.now).await?;
    Ok(json!({}))
}

pub async fn untag(input: &Value, ctx: &CallContext, db: &mut Db<'_>) -> Res<Value> {
    let keys = str_list(input, "TagKeys");
    let (e, mut doc) = device(db, ctx, input).await?;
    doc.tags = tags::remove(&doc.tags, &keys);
    save_doc(db, e, &doc, ctx.now).await?;
    Ok(json!({}))
}

pub async fn list_tags(input: &Value, ctx: &CallContext, db: &mut Db<'_>) -> Res<Value> {
    let (_, doc) = device(db, ctx, input).await?;
    page::tags_page(&doc.tags, input)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn listed_device_names_root_by_account() {
        let doc = DeviceDoc {
            user: Some(Assignee {
                id: "111122223333".into(),
                arn: rampart_kit::Partition::Aws.root_arn("111122223333"),
                name: None,
            }),
            ..DeviceDoc::default()
        };
        let j = mfa_json(
            "arn:aws:iam::111122223333:mfa/root-account-mfa-device",
            &doc,
            "111122223333",
        );
        assert_eq!(j["UserName"], "111122223333");
        assert!(j.get("EnableDate").is_none());
    }
}
