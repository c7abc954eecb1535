//! Deadline propagation: a call made while serving a request never outlives that
//! request's own deadline.
//!
//! The server side ([`DeadlineLayer`], put in every [`crate::MeshServer`]) reads
//! the caller's `grpc-timeout` and runs the handler with the resulting instant in a
//! task-local; [`crate::ServiceClient`] caps each outgoing call's deadline by what
//! is left of it. So when the gateway gives deploy 30 s, a power call deploy makes
//! 29 s in gets at most 1 s, instead of working on for an answer nobody awaits.
//! Work spawned onto its own task (deploy's background steps) does not inherit the
//! deadline, on purpose: it outlives the request that started it.

use std::future::Future;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::task::futures::TaskLocalFuture;
use tokio::time::Instant;
use tower::{Layer, Service};

use crate::policy::decode_grpc_timeout;

tokio::task_local! {
    static DEADLINE: Option<Instant>;
}

/// Time left until the deadline of the request being served on this task, or
/// `None` when there is none (not inside a handler, or the caller set none).
pub fn remaining() -> Option<Duration> {
    DEADLINE.try_with(|deadline| deadline.map(|d| d.saturating_duration_since(Instant::now()))).ok().flatten()
}

/// Runs `future` with `deadline` as the current request deadline; what the server
/// layer does per request, public for work that wants an explicit budget (e.g. a
/// background step that must give up after its timeout).
pub fn scope<F: Future>(deadline: Option<Instant>, future: F) -> TaskLocalFuture<Option<Instant>, F> {
    DEADLINE.scope(deadline, future)
}

/// Tower layer that scopes each request's handler to the request's `grpc-timeout`.
#[derive(Debug, Clone, Copy, Default)]
pub struct DeadlineLayer;

impl<S> Layer<S> for DeadlineLayer {
    type Service = DeadlineService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        DeadlineService { inner }
    }
}

/// The service made by [`DeadlineLayer`].
#[derive(Debug, Clone)]
pub struct DeadlineService<S> {
    inner: S,
}

impl<S, B> Service<http::Request<B>> for DeadlineService<S>
where
    S: Service<http::Request<B>>,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = TaskLocalFuture<Option<Instant>, S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<B>) -> Self::Future {
        let deadline = request
            .headers()
            .get("grpc-timeout")
            .and_then(decode_grpc_timeout)
            .and_then(|timeout| Instant::now().checked_add(timeout));
        scope(deadline, self.inner.call(request))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn remaining_counts_down_inside_the_scope_only() {
        assert_eq!(remaining(), None);
        let deadline = Instant::now() + Duration::from_secs(10);
        scope(Some(deadline), async {
            assert_eq!(remaining(), Some(Duration::from_secs(10)));
            tokio::time::advance(Duration::from_secs(4)).await;
            assert_eq!(remaining(), Some(Duration::from_secs(6)));
            tokio::time::advance(Duration::from_secs(60)).await;
            assert_eq!(remaining(), Some(Duration::ZERO));
        })
        .await;
        assert_eq!(scope(None, async { remaining() }).await, None);
    }
}
