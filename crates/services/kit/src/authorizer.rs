//! The handle through which services ask the one authorizer (the server's pipeline) a
//! question: calls a service makes on the caller's behalf and hypothetical checks (the KMS
//! policy lockout safety check) are decided by the same function, with the same layers
//! (identity, resource, boundary, session, SCP, RCP, closed account), as an API call.

use std::{fmt, future::Future, pin::Pin, sync::Arc};

use crate::{authz::AuthzQuestion, context::CallContext, error::ServiceError};

/// Why a question was not answered with Allow.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthzError {
    /// A request of the question is not allowed; the message is AWS's access-denied text.
    #[error("{0}")]
    AccessDenied(String),
    /// AWS refuses the request whatever the policies say (`rampart_policy::aws_rules`): the
    /// call answers this error (`UnmodifiableEntity`, ...).
    #[error("{0}")]
    Refused(ServiceError),
    /// The decision could not be made (the store failed).
    #[error(transparent)]
    InternalFailure(ServiceError),
}

/// The future of one decision.
pub type Decision<'a> = Pin<Box<dyn Future<Output = Result<(), AuthzError>> + Send + 'a>>;

/// The decision function, implemented once, by the server's pipeline.
pub trait Decide: Send + Sync {
    /// Decides every request of `question` for the caller of `ctx`.
    fn decide<'a>(&'a self, ctx: &'a CallContext, question: &'a AuthzQuestion) -> Decision<'a>;
}

/// A shared handle to the decision function, carried by [`CallContext`].
#[derive(Clone)]
pub struct Authorizer(Arc<dyn Decide>);

impl Authorizer {
    /// A handle to `decide`.
    pub fn new(decide: Arc<dyn Decide>) -> Authorizer {
        Authorizer(decide)
    }

    /// A handle that refuses every question, for contexts with no authorizer behind them
    /// (unit tests, benchmarks of handlers): it fails closed.
    pub fn refusing() -> Authorizer {
        Authorizer(Arc::new(Refuse))
    }

    /// Decides every request of `question` for the caller of `ctx`.
    pub async fn authorize(
        &self,
        ctx: &CallContext,
        question: &AuthzQuestion,
    ) -> Result<(), AuthzError> {
        self.0.decide(ctx, question).await
    }
}

impl fmt::Debug for Authorizer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Authorizer")
    }
}

struct Refuse;

impl Decide for Refuse {
    fn decide<'a>(&'a self, ctx: &'a CallContext, question: &'a AuthzQuestion) -> Decision<'a> {
        let action = question.requests.first().map_or("", |r| r.action.as_str());
        let message = format!(
            "User: {} is not authorized to perform: {action}",
            ctx.principal.arn
        );
        Box::pin(std::future::ready(Err(AuthzError::AccessDenied(message))))
    }
}
