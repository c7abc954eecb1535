//! The ferric-agent binary: the ramdisk's main process (possibly PID 1). It reads
//! the kernel command line (`ipa-api-url=`, `BOOTIF=`, `ipa-advertise-host=`,
//! `ipa-debug`, `ferric.disk_min_gib=`, `ferric.udhcpc_script=`), brings the boot
//! NIC up with busybox `udhcpc`, and runs the agent library on the real machine.
//! Flags run it outside a ramdisk (`--api-url`, `--listen`, `--mac`, `--disk`),
//! on a file as its only disk. As PID 1 it never exits: errors are logged and
//! retried.

mod boot;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use clap::Parser;
use ferric_agent::{AgentOptions, Hardware, LinuxHardware, SimulatedDisk, SimulatedHardware};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

/// Command-line flags; each overrides the kernel command line.
#[derive(Debug, Parser)]
#[command(name = "ferric-agent", version, about = "Ferric's deploy-ramdisk agent (Ironic's IPA protocol)")]
struct Flags {
    /// The Ferric/Ironic API (`ipa-api-url=`).
    #[arg(long)]
    api_url: Option<String>,
    /// Where the agent API listens.
    #[arg(long, default_value = "0.0.0.0:9999")]
    listen: SocketAddr,
    /// The callback URL to advertise (default: the address routing to the API).
    #[arg(long)]
    advertise_url: Option<String>,
    /// MAC addresses to look up with (repeatable; default: BOOTIF or every NIC).
    #[arg(long = "mac")]
    macs: Vec<String>,
    /// Use this file as the only disk (simulated hardware) instead of /dev.
    #[arg(long)]
    disk: Option<PathBuf>,
    /// Smallest install disk without root device hints, GiB (`ferric.disk_min_gib=`).
    #[arg(long)]
    disk_min_gib: Option<u64>,
    /// The kernel command line to read.
    #[arg(long, default_value = "/proc/cmdline")]
    cmdline: PathBuf,
    /// The udhcpc script (`ferric.udhcpc_script=`).
    #[arg(long)]
    udhcpc_script: Option<PathBuf>,
    /// Where to post the inventory at start (`ipa-inspection-callback-url=`).
    #[arg(long)]
    inspection_callback_url: Option<String>,
    /// Do not configure the network (it already is).
    #[arg(long)]
    no_network: bool,
    /// Debug logging (`ipa-debug`).
    #[arg(long)]
    debug: bool,
}

fn main() {
    let pid1 = std::process::id() == 1;
    if pid1 {
        boot::mount_pseudo_filesystems();
    }
    // As PID 1 the kernel hands init the command-line words it does not know
    // (`ipa-debug`) as arguments: they are not flags, and a parse error must not
    // end init. Everything then comes from /proc/cmdline.
    let flags = if pid1 {
        Flags::try_parse_from(["ferric-agent"]).unwrap_or_else(|_| unreachable_defaults())
    } else {
        Flags::parse()
    };
    let cmdline = boot::KernelCmdline::parse(&std::fs::read_to_string(&flags.cmdline).unwrap_or_default());
    let debug = flags.debug || cmdline.debug;
    let filter = if debug { "debug,hyper=info,reqwest=info" } else { "info" };
    tracing_subscriber::registry()
        .with(tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| filter.into()))
        .with(tracing_subscriber::fmt::layer().with_writer(std::io::stderr).with_ansi(false))
        .with(ferric_agent::logring::layer())
        .init();
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("ferric-agent: cannot start the async runtime: {error}");
            park_forever_if(pid1);
            std::process::exit(1);
        }
    };
    loop {
        let outcome = runtime.block_on(agent(&flags, &cmdline));
        match outcome {
            Ok(()) if !pid1 => return,
            Ok(()) => tracing::warn!("the agent stopped; starting it again"),
            Err(error) if !pid1 => {
                tracing::error!("ferric-agent failed: {error}");
                std::process::exit(1);
            }
            Err(error) => tracing::error!("ferric-agent failed: {error}; retrying in 10 s"),
        }
        std::thread::sleep(Duration::from_secs(10));
    }
}

/// The flags' defaults, written out for the case clap cannot parse even an empty
/// command line (it always can; PID 1 just must not panic on it).
fn unreachable_defaults() -> Flags {
    Flags {
        api_url: None,
        listen: SocketAddr::from(([0, 0, 0, 0], 9999)),
        advertise_url: None,
        macs: Vec::new(),
        disk: None,
        disk_min_gib: None,
        cmdline: PathBuf::from("/proc/cmdline"),
        udhcpc_script: None,
        inspection_callback_url: None,
        no_network: false,
        debug: false,
    }
}

/// A PID 1 that returns panics the kernel: park instead, so the console shows why.
fn park_forever_if(pid1: bool) {
    if pid1 {
        loop {
            std::thread::park();
        }
    }
}

async fn agent(flags: &Flags, cmdline: &boot::KernelCmdline) -> Result<(), String> {
    let api_url = flags
        .api_url
        .clone()
        .or_else(|| cmdline.api_url.clone())
        .ok_or("no API URL: give --api-url or ipa-api-url= on the kernel command line")?;
    let boot_mac = flags.macs.first().cloned().or_else(|| cmdline.boot_mac.clone());
    // A simulated machine "powers off" by ending the agent.
    let powered_off = Arc::new(tokio::sync::Notify::new());
    let hardware: Arc<dyn Hardware> = match &flags.disk {
        Some(path) => {
            let name = path.to_string_lossy().into_owned();
            let disk = SimulatedDisk::existing(&name, path).map_err(|e| format!("cannot use {name}: {e}"))?;
            let macs: Vec<&str> = flags.macs.iter().map(String::as_str).collect();
            let off = powered_off.clone();
            Arc::new(SimulatedHardware::new(&macs).with_disk(disk).on_power(move |action| {
                tracing::info!(?action, "the simulated machine stops");
                off.notify_one();
            }))
        }
        None => Arc::new(LinuxHardware::new().with_boot_mac(boot_mac.clone())),
    };
    if !flags.no_network && flags.disk.is_none() {
        let script = flags.udhcpc_script.clone().or_else(|| cmdline.udhcpc_script.clone());
        boot::configure_network(boot_mac.as_deref(), script.as_deref()).await;
    }
    let mut options = AgentOptions::new(api_url, hardware).listen_on(flags.listen);
    if !flags.macs.is_empty() {
        options.macs = flags.macs.clone();
    } else if let Some(mac) = &boot_mac {
        options.macs = vec![mac.clone()];
    }
    options.advertise_url = flags.advertise_url.clone().or_else(|| {
        cmdline.advertise_host.as_ref().map(|host| format!("http://{host}:{}", flags.listen.port()))
    });
    options.inspection_callback_url =
        flags.inspection_callback_url.clone().or_else(|| cmdline.inspection_callback_url.clone());
    if let Some(gib) = flags.disk_min_gib.or(cmdline.disk_min_gib) {
        options.min_root_disk_bytes = gib << 30;
    }
    tracing::info!(?options, "starting the agent");
    let signalled = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    };
    let shutdown = async move {
        tokio::select! {
            () = signalled => {}
            () = powered_off.notified() => {}
        }
    };
    ferric_agent::run(options, shutdown).await.map_err(|e| {
        let mut text = e.to_string();
        let mut source = std::error::Error::source(&e);
        while let Some(cause) = source {
            text.push_str(&format!(": {cause}"));
            source = cause.source();
        }
        text
    })
}
