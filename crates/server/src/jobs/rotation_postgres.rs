//! The built-in PostgreSQL strategy (`rampart-builtin-postgresql-single-user`): the secret
//! holds AWS's JSON for RDS credentials (`engine`, `host`, `port`, `username`, `password`,
//! `dbname`), and rotation changes that user's own password (AWS's single-user strategy).
//!
//! - `createSecret`: a new password from `GetRandomPassword` (no quotes, backslash, `/` or
//!   `@`), stored as `AWSPENDING`;
//! - `setSecret`: logs in with the current credentials (the previous ones if those fail) and
//!   runs `ALTER ROLE ... PASSWORD`; it always sets the password, even when the new login
//!   already works, since a server that trusts the client accepts any password;
//! - `testSecret`: logs in with the new credentials and runs `SELECT 1`;
//! - `finishSecret`: moves `AWSCURRENT`.
//!
//! The alternating-users strategy (`rampart-builtin-postgresql-multi-user`, AWS's
//! "alternating users") keeps two roles, `USER` and `USER_clone`, and sets the password of
//! the one not in use, so the previous credentials keep working until the next rotation. The
//! secret names a superuser secret in `masterarn` (read through Secrets Manager, authorized
//! as any read of it):
//! - `createSecret`: the other role's name and a new password, stored as `AWSPENDING`;
//! - `setSecret`: as the superuser, creates the other role (`LOGIN`, member of the current
//!   one, so it has its privileges) or sets its password;
//! - `testSecret` and `finishSecret`: as for the single user.

use std::time::Duration;

use rampart_services::{
    json_field::SetField,
    secretsmanager::rotation_run::{Step, StepCall},
};
use serde_json::{json, Value};
use sqlx::{postgres::PgConnectOptions, ConnectOptions, Connection, PgConnection};

use super::rotation_builtin::{call, finish, member, value_of};
use crate::app::App;

/// Longest a login or a statement may take.
const DB_TIMEOUT: Duration = Duration::from_secs(10);

/// Runs one step.
pub async fn step(app: &App, at: &StepCall) -> Result<(), String> {
    match at.step {
        Step::CreateSecret => create(app, at).await,
        Step::SetSecret => set(app, at).await,
        Step::TestSecret => {
            let pending = value_of(app, at, "AWSPENDING", Some(&at.token)).await?;
            run(pending, "SELECT 1".into())
                .await
                .map_err(|e| format!("The new password does not work: {e}"))
        }
        Step::FinishSecret => finish(app, at).await.map(|_| ()),
    }
}

/// Runs one step of the alternating-users strategy.
pub async fn alternating_step(app: &App, at: &StepCall) -> Result<(), String> {
    match at.step {
        Step::CreateSecret => create_alternate(app, at).await,
        Step::SetSecret => set_alternate(app, at).await,
        Step::TestSecret | Step::FinishSecret => step(app, at).await,
    }
}

/// The role an alternating rotation switches to: `USER_clone` from `USER` and back.
fn other_user(current: &str) -> String {
    match current.strip_suffix(CLONE_SUFFIX) {
        Some(base) => base.to_string(),
        None => format!("{current}{CLONE_SUFFIX}"),
    }
}

/// The suffix of the second role, as AWS's template names it.
const CLONE_SUFFIX: &str = "_clone";

async fn create_alternate(app: &App, at: &StepCall) -> Result<(), String> {
    if value_of(app, at, "AWSPENDING", Some(&at.token))
        .await
        .is_ok()
    {
        return Ok(());
    }
    let current = value_of(app, at, "AWSCURRENT", None).await?;
    member(&current, "masterarn")?;
    let mut value = current.clone();
    value.set_field("username", json!(other_user(member(&current, "username")?)));
    put_pending(app, at, value).await
}

async fn set_alternate(app: &App, at: &StepCall) -> Result<(), String> {
    let pending = value_of(app, at, "AWSPENDING", Some(&at.token)).await?;
    let current = value_of(app, at, "AWSCURRENT", None).await?;
    let master_arn = member(&current, "masterarn")?;
    let master_at = StepCall {
        secret_arn: master_arn.to_string(),
        ..at.clone()
    };
    let mut master = value_of(app, &master_at, "AWSCURRENT", None)
        .await
        .map_err(|e| format!("The master secret could not be read: {e}"))?;
    // The master secret's own database may differ; the roles are created where the user's is.
    if let Some(db) = current.get("dbname") {
        master.set_field("dbname", db.clone());
    }
    let user = member(&pending, "username")?;
    let password = quote_literal(member(&pending, "password")?);
    let sql = format!(
        "DO $rotate$ BEGIN \
           IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = {name}) THEN \
             ALTER ROLE {user} WITH PASSWORD {password}; \
           ELSE \
             CREATE ROLE {user} WITH LOGIN PASSWORD {password}; \
             GRANT {current} TO {user}; \
           END IF; \
         END $rotate$",
        name = quote_literal(user),
        user = quote_ident(user),
        current = quote_ident(member(&current, "username")?),
    );
    run(master, sql)
        .await
        .map_err(|e| format!("Setting the new password failed: {e}"))
}

/// Stores `value`, with a new password, as the rotation's `AWSPENDING` version.
async fn put_pending(app: &App, at: &StepCall, mut value: Value) -> Result<(), String> {
    check_engine(&value)?;
    let input = json!({ "ExcludeCharacters": "/@\"'\\", "PasswordLength": 32 });
    let out = call(app, at, "secretsmanager", "GetRandomPassword", input).await?;
    let password = member(&out, "RandomPassword")?.to_string();
    value.set_field("password", json!(password));
    let put = json!({
        "SecretId": at.secret_arn,
        "ClientRequestToken": at.token,
        "SecretString": value.to_string(),
        "VersionStages": ["AWSPENDING"],
    });
    call(app, at, "secretsmanager", "PutSecretValue", put)
        .await
        .map(|_| ())
}

async fn create(app: &App, at: &StepCall) -> Result<(), String> {
    if value_of(app, at, "AWSPENDING", Some(&at.token))
        .await
        .is_ok()
    {
        return Ok(());
    }
    let value = value_of(app, at, "AWSCURRENT", None).await?;
    put_pending(app, at, value).await
}

async fn set(app: &App, at: &StepCall) -> Result<(), String> {
    let pending = value_of(app, at, "AWSPENDING", Some(&at.token)).await?;
    let current = value_of(app, at, "AWSCURRENT", None).await?;
    let statement = format!(
        "ALTER ROLE {} WITH PASSWORD {}",
        quote_ident(member(&pending, "username")?),
        quote_literal(member(&pending, "password")?)
    );
    match run(current, statement.clone()).await {
        Ok(()) => Ok(()),
        Err(first) => match value_of(app, at, "AWSPREVIOUS", None).await {
            Ok(previous) => run(previous, statement).await.map_err(|_| first),
            Err(_) => Err(first),
        },
    }
    .map_err(|e| format!("Setting the new password failed: {e}"))
}

/// Logs in with the credentials of a secret value and runs `sql`, in a task of its own.
async fn run(creds: Value, sql: String) -> Result<(), String> {
    let work = tokio::spawn(async move {
        let mut conn = login(&creds).await?;
        let done = tokio::time::timeout(DB_TIMEOUT, sqlx::query(&sql).execute(&mut conn))
            .await
            .map_err(|_| "the statement timed out".to_string())?
            .map_err(|e| e.to_string());
        let _ = conn.close().await;
        done.map(|_| ())
    });
    work.await
        .map_err(|_| "the database task failed".to_string())?
}

fn check_engine(value: &Value) -> Result<(), String> {
    match value.get("engine").and_then(Value::as_str) {
        Some("postgres" | "postgresql" | "aurora-postgresql") => Ok(()),
        Some(other) => Err(format!(
            "The engine {other} is not supported by {} (PostgreSQL only).",
            super::rotation_builtin::POSTGRESQL
        )),
        None => Err("The secret's JSON has no engine.".into()),
    }
}

/// Logs in with the credentials of a secret value.
async fn login(value: &Value) -> Result<PgConnection, String> {
    check_engine(value)?;
    let port = match value.get("port") {
        Some(Value::Number(n)) => n.as_u64().and_then(|p| u16::try_from(p).ok()),
        Some(Value::String(s)) => s.parse::<u16>().ok(),
        None => Some(5432),
        _ => None,
    }
    .ok_or("The secret's port is not a port number.")?;
    let mut options = PgConnectOptions::new()
        .host(member(value, "host")?)
        .port(port)
        .username(member(value, "username")?)
        .password(member(value, "password")?)
        .log_statements(tracing::log::LevelFilter::Off);
    if let Some(db) = value.get("dbname").and_then(Value::as_str) {
        options = options.database(db);
    }
    tokio::time::timeout(DB_TIMEOUT, options.connect())
        .await
        .map_err(|_| "the database login timed out".to_string())?
        .map_err(|e| format!("the database login failed: {e}"))
}

fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

fn quote_literal(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alternating_users_switch_between_two_roles() {
        assert_eq!(other_user("app"), "app_clone");
        assert_eq!(other_user("app_clone"), "app");
    }

    #[test]
    fn names_and_passwords_are_quoted() {
        assert_eq!(quote_ident("app\"user"), "\"app\"\"user\"");
        assert_eq!(quote_literal("it's"), "'it''s'");
    }
}
