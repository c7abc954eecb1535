//! The process-wide shutdown signal: SIGINT or SIGTERM, once.

use futures::FutureExt;
use futures::future::Shared;

/// A cloneable future that resolves when the process is asked to stop; every
/// server and background task of the process holds a clone.
pub type Shutdown = Shared<futures::future::BoxFuture<'static, ()>>;

/// Resolves on SIGINT (Ctrl-C) or SIGTERM (systemd, Kubernetes).
pub fn signal() -> Shutdown {
    async {
        let ctrl_c = tokio::signal::ctrl_c();
        #[cfg(unix)]
        {
            let mut term = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(term) => term,
                Err(err) => {
                    tracing::warn!(%err, "cannot listen for SIGTERM; only Ctrl-C stops ferric");
                    let _ = ctrl_c.await;
                    return;
                }
            };
            tokio::select! {
                _ = ctrl_c => {}
                _ = term.recv() => {}
            }
        }
        #[cfg(not(unix))]
        let _ = ctrl_c.await;
        tracing::info!("shutdown requested");
    }
    .boxed()
    .shared()
}
