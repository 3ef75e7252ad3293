//! A service's table: for every operation of its generated enum, whether it is built and, if
//! so, how it touches state, how it is authorized and what runs it.
//!
//! A service writes its table with [`routes!`]: a `match` over the generated enum with one
//! arm per built operation and one list of the operations not built yet. The match is
//! exhaustive, so a modelled operation missing from both fails to compile; nothing else in
//! the service names its operations as strings.

use std::{future::Future, pin::Pin};

use rampart_store::Store;
use serde_json::Value;

use crate::{
    authorizer::AuthzError,
    authz::AuthzQuestion,
    context::{CallContext, Preparation, SideCall},
    db::Db,
    error::ServiceError,
};

/// How an operation touches state, which decides how its audit record is committed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Reads only (`readOnly: true` in CloudTrail); its record may be group-committed.
    Read,
    /// Changes state; it runs in one transaction with its audit record.
    Write,
}

impl Access {
    /// CloudTrail's read-only classification by operation name, for operations that are
    /// modelled but not built (their refusals are still audited).
    pub fn guess(operation: &str) -> Access {
        const READ_PREFIXES: &[&str] = &[
            "Get", "List", "Describe", "Lookup", "Simulate", "Generate", "Decode", "Batch",
        ];
        if READ_PREFIXES.iter().any(|p| operation.starts_with(p)) {
            Access::Read
        } else {
            Access::Write
        }
    }
}

/// Why a call made on the caller's behalf did not succeed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OnBehalfError {
    /// The one authorizer refused it (AWS's access-denied message).
    #[error("{0}")]
    Refused(String),
    /// It was allowed, and failed (or the decision could not be made).
    #[error(transparent)]
    Failed(ServiceError),
}

/// A boxed, sendable future: the table's entries have one type whatever their handler, at the
/// price of one allocation per call (which the registry paid before as well).
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// The authorization question of a call; `Ok(None)` means no entry, so the call is denied.
pub type AuthzFn = for<'a> fn(
    &'a Value,
    &'a CallContext,
    &'a Store,
) -> BoxFuture<'a, Result<Option<AuthzQuestion>, ServiceError>>;

/// Runs a call (read-only on the pool, or inside the write transaction).
pub type HandleFn =
    for<'a> fn(Value, &'a CallContext, Db<'a>) -> BoxFuture<'a, Result<Value, ServiceError>>;

/// Plans the slow work of a call before its write transaction (see [`Preparation`]).
pub type PrepareFn = for<'a> fn(
    &'a Value,
    &'a CallContext,
    &'a Store,
) -> BoxFuture<'a, Result<Option<Preparation>, ServiceError>>;

/// What an unsigned call's own proof (a web identity token, a SAML assertion) established:
/// the caller, and what the proof said, which the call's authorization and handler read back
/// from [`CallContext::prepared`].
pub struct Proof {
    /// The caller the proof names.
    pub principal: crate::principal::Principal,
    /// The verified content of the proof.
    pub facts: crate::context::Prepared,
}

/// Process-wide state a service keeps for authentication (the JWKS cache of OpenID Connect
/// issuers, the operator's offline key sets), one value per type, set up when the server
/// starts.
#[derive(Clone, Default)]
pub struct Extensions(
    std::collections::HashMap<std::any::TypeId, std::sync::Arc<dyn std::any::Any + Send + Sync>>,
);

impl Extensions {
    /// Adds (or replaces) the value of type `T`.
    pub fn insert<T: std::any::Any + Send + Sync>(&mut self, value: T) {
        self.0
            .insert(std::any::TypeId::of::<T>(), std::sync::Arc::new(value));
    }

    /// The value of type `T`, if the server set one up.
    pub fn get<T: std::any::Any + Send + Sync>(&self) -> Option<&T> {
        self.0.get(&std::any::TypeId::of::<T>())?.downcast_ref()
    }
}

impl std::fmt::Debug for Extensions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Extensions({})", self.0.len())
    }
}

/// Verifies the proof an unsigned call brings in its input (the context's principal is the
/// anonymous caller); an error is the call's answer (`InvalidIdentityToken`, ...).
pub type AuthnFn = for<'a> fn(
    &'a Value,
    &'a CallContext,
    &'a Store,
    &'a Extensions,
) -> BoxFuture<'a, Result<Proof, ServiceError>>;

/// One built operation's entry.
#[derive(Clone, Copy)]
pub struct Route {
    /// The service's model name (`kms`).
    pub service: &'static str,
    /// The operation's name (`CreateKey`).
    pub operation: &'static str,
    /// Whether it reads or writes, which decides how its audit record is committed.
    pub access: Access,
    /// Its authorization question.
    pub authz: AuthzFn,
    /// Its handler.
    pub handle: HandleFn,
    /// Its slow work before the write transaction, if any.
    pub prepare: Option<PrepareFn>,
    /// For an operation AWS accepts unsigned with a proof of its own, the proof's check.
    pub authn: Option<AuthnFn>,
}

impl std::fmt::Debug for Route {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Route")
            .field("service", &self.service)
            .field("operation", &self.operation)
            .field("access", &self.access)
            .field("prepare", &self.prepare.is_some())
            .field("authn", &self.authn.is_some())
            .finish()
    }
}

impl Route {
    /// The call's authorization question; `Ok(None)` denies it.
    pub async fn authz(
        &self,
        input: &Value,
        ctx: &CallContext,
        store: &Store,
    ) -> Result<Option<AuthzQuestion>, ServiceError> {
        (self.authz)(input, ctx, store).await
    }

    /// Asks the one authorizer this operation's question for a call made on the caller's
    /// behalf (`ctx` from [`CallContext::on_behalf_of`]) or a hypothetical one; an operation
    /// whose question is `None` is refused.
    pub async fn authorize(
        &self,
        input: &Value,
        ctx: &CallContext,
        store: &Store,
    ) -> Result<Result<(), AuthzError>, ServiceError> {
        match self.authz(input, ctx, store).await? {
            Some(question) => Ok(ctx.authorizer.authorize(ctx, &question).await),
            None => Ok(Err(self.no_question(ctx))),
        }
    }

    /// The refusal of an operation whose question is `None` (deny by default).
    fn no_question(&self, ctx: &CallContext) -> AuthzError {
        AuthzError::AccessDenied(format!(
            "User: {} is not authorized to perform: {}",
            ctx.principal.arn, self.operation
        ))
    }

    /// Makes this call on the caller's behalf (`via` from [`CallContext::on_behalf_of`]):
    /// asks the one authorizer its question, runs it, and notes it in the caller's side calls
    /// whatever the outcome, so that the pipeline audits it as AWS does (the caller, invoked
    /// by the calling service). A refusal is `Err(Refused(..))`; the handler's error is
    /// `Err(Failed(..))`.
    pub async fn call_on_behalf(
        &self,
        input: Value,
        via: &CallContext,
        store: &Store,
        db: Db<'_>,
    ) -> Result<Value, OnBehalfError> {
        let invoked_by = format!(
            "{}.amazonaws.com",
            via.via_service.as_deref().unwrap_or_default()
        );
        let mut note = SideCall {
            service: self.service,
            operation: self.operation,
            invoked_by,
            request_parameters: input.clone(),
            error: None,
            read_only: self.access == Access::Read,
            resources: Vec::new(),
        };
        let decided = match self.authz(&input, via, store).await {
            Ok(Some(question)) => {
                note.resources = question
                    .requests
                    .iter()
                    .flat_map(|r| r.resources.iter().map(|res| res.arn.clone()))
                    .collect();
                Ok(via.authorizer.authorize(via, &question).await)
            }
            Ok(None) => Ok(Err(self.no_question(via))),
            Err(err) => Err(err),
        };
        let outcome = match decided {
            Ok(Ok(())) => self
                .handle(input, via, db)
                .await
                .map_err(OnBehalfError::Failed),
            Ok(Err(AuthzError::AccessDenied(message))) => Err(OnBehalfError::Refused(message)),
            Ok(Err(AuthzError::InternalFailure(err) | AuthzError::Refused(err))) | Err(err) => {
                Err(OnBehalfError::Failed(err))
            }
        };
        note.error = match &outcome {
            Ok(_) => None,
            Err(OnBehalfError::Refused(message)) => {
                Some(("AccessDeniedException", message.clone()))
            }
            Err(OnBehalfError::Failed(err)) => Some((err.code, err.message.clone())),
        };
        via.side_calls.push(note);
        outcome
    }

    /// Runs the call.
    pub async fn handle(
        &self,
        input: Value,
        ctx: &CallContext,
        db: Db<'_>,
    ) -> Result<Value, ServiceError> {
        (self.handle)(input, ctx, db).await
    }

    /// Runs the call straight on the store, in its own transaction when it writes: no
    /// authorization, no preparation, no audit record. For tests and benchmarks of a service
    /// alone; the server never calls it.
    #[doc(hidden)]
    pub async fn call_unaudited(
        &self,
        input: Value,
        ctx: &CallContext,
        store: &Store,
    ) -> Result<Value, ServiceError> {
        match self.access {
            Access::Read => self.handle(input, ctx, Db::Read(store)).await,
            Access::Write => {
                let mut tx = store.begin().await?;
                let out = self.handle(input, ctx, Db::Write(&mut tx)).await?;
                tx.commit().await?;
                Ok(out)
            }
        }
    }

    /// Checks the proof of an unsigned call; `None` when the operation takes none.
    pub async fn authenticate(
        &self,
        input: &Value,
        ctx: &CallContext,
        store: &Store,
        extensions: &Extensions,
    ) -> Option<Result<Proof, ServiceError>> {
        match self.authn {
            Some(f) => Some(f(input, ctx, store, extensions).await),
            None => None,
        }
    }

    /// Plans the call's slow work; `Ok(None)` when it has none.
    pub async fn prepare(
        &self,
        input: &Value,
        ctx: &CallContext,
        store: &Store,
    ) -> Result<Option<Preparation>, ServiceError> {
        match self.prepare {
            Some(f) => f(input, ctx, store).await,
            None => Ok(None),
        }
    }
}

/// Writes a service's table as `pub fn route(op: Op) -> Option<Route>`.
///
/// ```ignore
/// routes! {
///     authz: authz::entry;             // async fn(Op, &Value, &CallContext, &Store)
///     guard: session_token_gate;       // optional: fn(&CallContext) -> Result<(), ServiceError>,
///                                      // checked before every operation's authorization
///     built {
///         CreateKey => Write, |i, c, d| keys::create_key(i, c, d);
///         EnableKey => Write, |i, c, d| keys::set_enabled(i, c, d, true);
///         // an arm may name its own authorization and a preparation:
///         ChangePassword => Write, |i, c, mut d| passwords::change(i, c, &mut d),
///             authz: passwords::authz, prepare: login_profiles::prepare;
///         // an operation AWS takes unsigned names the check of its own proof:
///         AssumeRoleWithWebIdentity => Write, |i, c, d| web_identity::handle(i, c, d),
///             authz: web_identity::authz, authn: web_identity::authenticate;
///     }
///     not_built { ConnectCustomKeyStore, CreateCustomKeyStore }
/// }
/// ```
///
/// A handler is an expression over the input (`&Value`), the context and the `Db`, giving a
/// future of `Result<Value, E>` with `E: Into<ServiceError>`. An authorization function takes
/// the operation first, so one function can serve several operations; so does a preparation
/// (`async fn(Op, &Value, &CallContext, &Store) -> Result<Option<Preparation>, E>`).
#[macro_export]
macro_rules! routes {
    (
        authz: $default_authz:path;
        $(guard: $guard:path;)?
        built {
            $(
                $op:ident => $access:ident, |$i:ident, $c:ident, $d:pat_param| $body:expr
                $(, authz: $authz:path)? $(, prepare: $prepare:path)? $(, authn: $authn:path)?
            );* $(;)?
        }
        not_built { $($missing:ident),* $(,)? }
    ) => {
        /// The table of this service: the entry of each built operation, `None` for the
        /// operations not built yet.
        pub fn route(op: Op) -> Option<$crate::route::Route> {
            /// Runs before every authorization function of the table (`guard:`).
            fn guard(
                _ctx: &$crate::context::CallContext,
            ) -> Result<(), $crate::error::ServiceError> {
                $($guard(_ctx)?;)?
                Ok(())
            }
            match op {
                $(
                    Op::$op => Some($crate::route::Route {
                        service: <Op as ::rampart_model::ServiceOp>::service().name,
                        operation: stringify!($op),
                        access: $crate::route::Access::$access,
                        authz: {
                            fn authz<'a>(
                                input: &'a ::serde_json::Value,
                                ctx: &'a $crate::context::CallContext,
                                store: &'a ::rampart_store::Store,
                            ) -> $crate::route::BoxFuture<
                                'a,
                                Result<Option<$crate::authz::AuthzQuestion>, $crate::error::ServiceError>,
                            > {
                                Box::pin(async move {
                                    guard(ctx)?;
                                    $crate::routes!(@authz $default_authz $(, $authz)?)(Op::$op, input, ctx, store)
                                        .await
                                        .map(|q| q.map(Into::into))
                                        .map_err(Into::into)
                                })
                            }
                            authz
                        },
                        handle: {
                            #[allow(unused_variables)]
                            fn handle<'a>(
                                input: ::serde_json::Value,
                                $c: &'a $crate::context::CallContext,
                                $d: $crate::db::Db<'a>,
                            ) -> $crate::route::BoxFuture<'a, Result<::serde_json::Value, $crate::error::ServiceError>> {
                                Box::pin(async move {
                                    let $i = &input;
                                    $body.await.map_err(Into::into)
                                })
                            }
                            handle
                        },
                        prepare: $crate::routes!(@prepare $op $($prepare)?),
                        authn: $crate::routes!(@authn $op $($authn)?),
                    }),
                )*
                $(Op::$missing => None,)*
            }
        }
    };
    (@authz $default:path) => { $default };
    (@authz $default:path, $own:path) => { $own };
    (@authn $op:ident) => { None };
    (@authn $op:ident $authn:path) => {{
        fn authn<'a>(
            input: &'a ::serde_json::Value,
            ctx: &'a $crate::context::CallContext,
            store: &'a ::rampart_store::Store,
            extensions: &'a $crate::route::Extensions,
        ) -> $crate::route::BoxFuture<'a, Result<$crate::route::Proof, $crate::error::ServiceError>> {
            Box::pin(async move { $authn(input, ctx, store, extensions).await.map_err(Into::into) })
        }
        Some(authn as $crate::route::AuthnFn)
    }};
    (@prepare $op:ident) => { None };
    (@prepare $op:ident $prepare:path) => {{
        fn prepare<'a>(
            input: &'a ::serde_json::Value,
            ctx: &'a $crate::context::CallContext,
            store: &'a ::rampart_store::Store,
        ) -> $crate::route::BoxFuture<
            'a,
            Result<Option<$crate::context::Preparation>, $crate::error::ServiceError>,
        > {
            Box::pin(async move { $prepare(Op::$op, input, ctx, store).await.map_err(Into::into) })
        }
        Some(prepare as $crate::route::PrepareFn)
    }};
}
