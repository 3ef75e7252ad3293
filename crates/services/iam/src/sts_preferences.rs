//! `SetSecurityTokenServicePreferences`: the version of session tokens the global STS
//! endpoint issues (`v1Token`, valid only in Regions enabled by default, or `v2Token`, valid in
//! every Region). Rampart's tokens are valid everywhere whatever the setting; the setting is
//! kept and reported by `GetAccountSummary` (`GlobalEndpointTokenVersion`) as in AWS.

use rampart_store::Entity;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::common::{find, read_doc, req_str, save_doc, to_text, IamError, Res};
use rampart_kit::{context::CallContext, db::Db};

/// Entity kind of the account's STS preferences (one per account, named `sts`).
pub const STS_PREFERENCES: &str = "iam:sts-preferences";
const NAME: &str = "sts";

/// The stored preferences.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Preferences {
    /// 1 or 2.
    pub global_endpoint_token_version: u8,
}

/// The account's `GlobalEndpointTokenVersion` (1 unless set).
pub async fn token_version(db: &mut Db<'_>, account: &str) -> Res<u8> {
    Ok(match find(db, account, STS_PREFERENCES, NAME).await? {
        Some(e) => read_doc::<Preferences>(&e)?.global_endpoint_token_version,
        None => 1,
    })
}

pub async fn set(input: &Value, ctx: &CallContext, db: &mut Db<'_>) -> Res<Value> {
    let account = &ctx.principal.account_id;
    let version = match req_str(input, "GlobalEndpointTokenVersion")? {
        "v1Token" => 1,
        "v2Token" => 2,
        other => {
            return Err(IamError::ValidationError(format!(
                "1 validation error detected: Value '{other}' at 'globalEndpointTokenVersion' failed to satisfy constraint: Member must satisfy enum value set: [v1Token, v2Token]"
            ))
            .into())
        }
    };
    let doc = Preferences {
        global_endpoint_token_version: version,
    };
    match find(db, account, STS_PREFERENCES, NAME).await? {
        Some(e) => save_doc(db, e, &doc, ctx.now).await?,
        None => {
            let e = Entity {
                account_id: account.clone(),
                kind: STS_PREFERENCES.into(),
                name: NAME.into(),
                name_key: NAME.into(),
                id: format!("sts-preferences:{account}"),
                path: "/".into(),
                arn: ctx.partition().root_arn(account),
                created_at: ctx.now,
                updated_at: ctx.now,
                doc: to_text(&doc)?,
            };
            db.entities().create(&e).await?;
        }
    }
    Ok(json!({}))
}
