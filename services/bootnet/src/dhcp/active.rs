//! DHCP served only while this instance is the active one (see
//! [`super::election`]): the sockets are bound when leadership is won and closed
//! when it is lost, and a standby that takes over first reloads the lease table
//! the previous active instance wrote.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use ferric_config::{BootnetConfig, DhcpMode};
use tokio::sync::watch;
use tokio::task::JoinSet;

use super::DhcpContext;
use super::election::{Candidate, Term};
use crate::error::BootnetError;

/// How often expired leases are swept from memory and store.
const SWEEP_INTERVAL: Duration = Duration::from_secs(30);

/// Everything needed to (re)start DHCP whenever this instance becomes active.
pub struct DhcpRole {
    /// The `[bootnet]` section.
    pub config: BootnetConfig,
    /// Pools, leases, registrations and boot files.
    pub context: Arc<DhcpContext>,
}

/// Running DHCP sockets; dropped leadership stops them.
pub struct DhcpServers {
    addr: Option<SocketAddr>,
    stop: watch::Sender<bool>,
    tasks: JoinSet<()>,
}

impl DhcpRole {
    /// Binds the DHCP sockets (and the RA answerer) and serves them until the
    /// returned servers are stopped.
    pub fn start(&self) -> Result<DhcpServers, BootnetError> {
        let config = &self.config;
        let (stop, stopped) = watch::channel(false);
        let until_stopped = || crate::stop_signal(stopped.clone());
        let mut tasks = JoinSet::new();
        let interface = config.interface.as_deref();
        let socket = super::bind(config.dhcp_listen, interface)?;
        let addr = socket.local_addr().ok();
        match config.dhcp_mode {
            DhcpMode::Authoritative => {
                let ctx = self.context.clone();
                tasks.spawn(super::serve(
                    socket,
                    move |bytes, from| super::server::handle(&ctx, bytes, from, super::lease::now()),
                    until_stopped(),
                ));
            }
            DhcpMode::Proxy | DhcpMode::Off => {
                let ctx = self.context.clone();
                tasks.spawn(super::serve(
                    socket,
                    move |bytes, from| super::proxy::handle(&ctx, bytes, from, false),
                    until_stopped(),
                ));
                let boot_server = super::bind(config.pxe_listen, interface)?;
                let ctx = self.context.clone();
                tasks.spawn(super::serve(
                    boot_server,
                    move |bytes, from| super::proxy::handle(&ctx, bytes, from, true),
                    until_stopped(),
                ));
            }
        }
        if let (Some(interface), true) = (interface, config.router_advertisements) {
            let socket = super::ndp::bind(interface)?;
            let index = super::ndp::interface_index(interface).unwrap_or(0);
            tasks.spawn(super::ndp::serve(socket, index, until_stopped()));
        }
        let sweeper = self.context.leases.clone();
        let shutdown = until_stopped();
        tasks.spawn(async move {
            let mut tick = tokio::time::interval(SWEEP_INTERVAL);
            tokio::pin!(shutdown);
            loop {
                tokio::select! {
                    _ = tick.tick() => {
                        let expired = sweeper.sweep(super::lease::now());
                        if expired > 0 {
                            tracing::info!(expired, "expired DHCP leases swept");
                        }
                    }
                    () = &mut shutdown => return,
                }
            }
        });
        tracing::info!(mode = ?config.dhcp_mode, server = ?config.server_address, ?addr, "DHCP serving");
        Ok(DhcpServers { addr, stop, tasks })
    }
}

impl DhcpServers {
    /// The bound DHCP socket.
    pub fn addr(&self) -> Option<SocketAddr> {
        self.addr
    }

    /// Closes the sockets and waits for the tasks to end.
    pub async fn stop(mut self) {
        let _ = self.stop.send(true);
        while self.tasks.join_next().await.is_some() {}
    }
}

/// Serves DHCP whenever this instance holds leadership, until `shutdown`:
/// starts from `first` when the election was already won, stands by otherwise,
/// and after a lost term stands by again. `addr` tells callers where DHCP is
/// bound right now (`None` while standing by).
pub async fn supervise(
    role: DhcpRole,
    candidate: Candidate,
    mut first: Option<(Term, DhcpServers)>,
    addr: watch::Sender<Option<SocketAddr>>,
    shutdown: impl Future<Output = ()>,
) {
    tokio::pin!(shutdown);
    loop {
        let (mut term, servers) = match first.take() {
            Some(won) => won,
            None => {
                tracing::info!(
                    holder = candidate.holder(),
                    "standing by: another bootnet instance serves DHCP"
                );
                let mut term = tokio::select! {
                    term = candidate.acquire() => term,
                    () = &mut shutdown => return,
                };
                match takeover(&role).await {
                    Ok(servers) => (term, servers),
                    Err(error) => {
                        tracing::error!(%error, "cannot serve DHCP after winning the election; resigning");
                        tokio::select! {
                            () = term.lost() => {}
                            () = tokio::time::sleep(Duration::from_secs(1)) => {}
                        }
                        term.resign().await;
                        continue;
                    }
                }
            }
        };
        addr.send_replace(servers.addr());
        let stopping = tokio::select! {
            () = term.lost() => false,
            () = &mut shutdown => true,
        };
        servers.stop().await;
        addr.send_replace(None);
        if stopping {
            role.context.leases.close().await;
            term.resign().await;
            return;
        }
        tracing::warn!("DHCP leadership lost (the store could not renew its lease): stopped answering");
    }
}

/// A standby's start: the previous active's leases first, then the sockets.
async fn takeover(role: &DhcpRole) -> Result<DhcpServers, BootnetError> {
    role.context.leases.reload().await?;
    role.start()
}
