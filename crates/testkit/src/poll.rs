//! Polling with a deadline: how tests wait for a process or a condition without
//! fixed sleeps.

use std::future::Future;
use std::time::{Duration, Instant};

/// Polls `check` until it yields `Some`, backing off from 10 ms to 200 ms between
/// tries; panics naming `what` once `timeout` has passed, so a hung test says what
/// it was waiting for.
pub async fn wait_for<T, F, Fut>(timeout: Duration, what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = Instant::now() + timeout;
    let mut pause = Duration::from_millis(10);
    loop {
        if let Some(value) = check().await {
            return value;
        }
        assert!(Instant::now() < deadline, "timed out after {timeout:?} waiting for {what}");
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(Duration::from_millis(200));
    }
}

/// [`wait_for`] for a plain condition.
pub async fn wait_until<F, Fut>(timeout: Duration, what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    wait_for(timeout, what, || {
        let ready = check();
        async move { ready.await.then_some(()) }
    })
    .await
}

/// A loopback TCP port that was free a moment ago. Racy by nature, but the window
/// is small and every user binds it at once.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|addr| addr.port())
        .expect("no free loopback port")
}
