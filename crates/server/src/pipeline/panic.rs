//! Catching panics on the request path: a panic in any stage of a call (decode, authn, authz,
//! handler, encode) becomes AWS's `InternalFailure` (500) in the service's protocol, and the
//! call's audit record is still written, with that error. Operator routes (`/_rampart/*`,
//! `/metrics`) answer a plain 500 instead of dropping the connection.

use std::{
    any::Any,
    future::Future,
    panic::{catch_unwind, AssertUnwindSafe},
    task::Poll,
};

use axum::{
    extract::Request,
    http::{header, StatusCode},
    middleware::Next,
    response::{IntoResponse, Response},
};

/// Runs `future` to completion, or to its first panic, whose message it returns. A future
/// that panicked is never polled again; it is dropped here.
pub async fn catch_panic<F: Future>(future: F) -> Result<F::Output, String> {
    let mut future = std::pin::pin!(future);
    std::future::poll_fn(move |cx| {
        match catch_unwind(AssertUnwindSafe(|| future.as_mut().poll(cx))) {
            Ok(Poll::Ready(output)) => Poll::Ready(Ok(output)),
            Ok(Poll::Pending) => Poll::Pending,
            Err(payload) => Poll::Ready(Err(panic_message(payload.as_ref()))),
        }
    })
    .await
}

/// The text a panic was raised with, when it has one.
fn panic_message(payload: &(dyn Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "panic without a message".to_string()
    }
}

/// Middleware for the operator routes: a panicking handler answers 500 `InternalFailure`.
pub async fn guard_route(request: Request, next: Next) -> Response {
    let path = request.uri().path().to_string();
    match catch_panic(next.run(request)).await {
        Ok(response) => response,
        Err(panic) => {
            tracing::error!(%path, %panic, "operator route panicked");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                [(header::CONTENT_TYPE, "application/json")],
                r#"{"error":"InternalFailure","message":"The request processing has failed because of an unknown error, exception or failure."}"#,
            )
                .into_response()
        }
    }
}

#[cfg(test)]
mod tests {
    use std::{sync::Arc, time::Instant};

    use axum::{body::to_bytes, http::HeaderMap};
    use rampart_store::{LookupAttribute, LookupQuery};

    use super::catch_panic;
    use crate::{
        app::{App, Started},
        config::ServeConfig,
        pipeline::{finish, Call},
    };

    async fn app(dir: &std::path::Path) -> Arc<App> {
        let config = ServeConfig::new(dir.to_path_buf());
        let Started { app, .. } = App::start(config).await.unwrap();
        app
    }

    #[tokio::test]
    async fn a_future_that_panics_is_caught_with_its_message() {
        let caught = catch_panic(async {
            tokio::task::yield_now().await;
            panic!("boom {}", 7)
        })
        .await;
        assert_eq!(caught, Err::<(), _>("boom 7".to_string()));
        assert_eq!(catch_panic(async { 5 }).await, Ok(5));
    }

    /// An operator route that panics answers 500 `InternalFailure` through the guard.
    #[tokio::test]
    async fn a_panicking_operator_route_answers_500() {
        use axum::{body::Body, http::Request, routing::get, Router};
        use tower::ServiceExt;
        async fn broken() -> &'static str {
            panic!("operator route panicked")
        }
        let router = Router::new()
            .route("/_rampart/broken", get(broken))
            .route_layer(axum::middleware::from_fn(super::guard_route));
        let request = Request::get("/_rampart/broken")
            .body(Body::empty())
            .unwrap();
        let response = router.oneshot(request).await.unwrap();
        assert_eq!(response.status(), 500);
        let body = to_bytes(response.into_body(), 1 << 16).await.unwrap();
        assert!(String::from_utf8_lossy(&body).contains("InternalFailure"));
    }

    /// The stages of a call panic after it was routed: the client gets KMS's JSON
    /// `InternalFailure` with status 500, and the call's audit record says so.
    #[tokio::test]
    async fn a_panicking_call_answers_internal_failure_and_is_audited() {
        let dir = tempfile::tempdir().unwrap();
        let app = app(dir.path()).await;
        let peer = "127.0.0.1:9".parse().unwrap();
        let mut call = Call::new(&app, peer, &HeaderMap::new());
        let request_id = call.request_id.clone();
        let outcome = catch_panic(async {
            let kms = rampart_model::service("kms").unwrap();
            call.service = Some(kms);
            call.protocol = kms.protocol;
            call.operation = kms.operations.iter().find(|o| o.name == "ListGrants");
            call.account_id = Some("111122223333".into());
            panic!("a stage of the call panicked")
        })
        .await;
        assert!(outcome.is_err());
        let response = finish(&app, call, outcome, Instant::now()).await;
        assert_eq!(response.status(), 500);
        let body = to_bytes(response.into_body(), 1 << 16).await.unwrap();
        let body: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(body["__type"], "InternalFailure", "{body}");

        app.audit.flush().await.unwrap();
        let page = app
            .store
            .lookup_events(&LookupQuery {
                attribute: Some((LookupAttribute::EventName, "ListGrants".into())),
                ..LookupQuery::default()
            })
            .await
            .unwrap();
        assert_eq!(page.events.len(), 1);
        let record = &page.events[0].record;
        assert_eq!(record.error_code.as_deref(), Some("InternalFailure"));
        assert!(record.event_json.contains(&request_id));
    }
}
