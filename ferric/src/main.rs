//! `ferric`: one binary, one subcommand per role.
//!
//! `ferric all-in-one` runs every service in one process, each still behind its own
//! gRPC interface on loopback, over the embedded store — a working Ferric with
//! nothing installed. `ferric gateway|deploy|power|bootnet|imagecache` runs one role
//! for the distributed mode on etcd. This file only parses arguments, loads the
//! configuration and starts telemetry; [`roles`] assembles the services.

mod roles;
mod shutdown;
mod store;

use std::path::PathBuf;

use clap::{Parser, Subcommand};
use ferric_config::Config;

#[derive(Debug, Parser)]
#[command(name = "ferric", version, about = "Bare-metal provisioning that speaks the OpenStack Ironic API")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Clone, Subcommand, PartialEq, Eq)]
enum Command {
    /// Every service in one process on the embedded store (what `just run` starts).
    AllInOne(ConfigArg),
    /// The Ironic-compatible REST API.
    Gateway(ConfigArg),
    /// The conductor: provision state machine, steps, node locks.
    Deploy(ConfigArg),
    /// BMC control over IPMI and Redfish.
    Power(ConfigArg),
    /// DHCP, TFTP and iPXE HTTP for the boot network.
    Bootnet(ConfigArg),
    /// OS image fetch, verify, convert, cache and serve.
    Imagecache(ConfigArg),
}

#[derive(Debug, Clone, clap::Args, PartialEq, Eq)]
struct ConfigArg {
    /// TOML configuration file (see docs/configuration.md); `FERRIC_*` variables override it.
    #[arg(long, env = "FERRIC_CONFIG")]
    config: Option<PathBuf>,
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let (role, arg) = match cli.command {
        Command::AllInOne(a) => (roles::Role::AllInOne, a),
        Command::Gateway(a) => (roles::Role::Gateway, a),
        Command::Deploy(a) => (roles::Role::Deploy, a),
        Command::Power(a) => (roles::Role::Power, a),
        Command::Bootnet(a) => (roles::Role::Bootnet, a),
        Command::Imagecache(a) => (roles::Role::Imagecache, a),
    };
    let config = Config::load_from_process_env(arg.config.as_deref())?;
    let _telemetry = ferric_telemetry::init(ferric_telemetry::TelemetryConfig {
        service_name: format!("ferric-{}", role.name()),
        log_format: match config.telemetry.log_format {
            ferric_config::LogFormat::Human => ferric_telemetry::LogFormat::Human,
            ferric_config::LogFormat::Json => ferric_telemetry::LogFormat::Json,
        },
        log_filter: config.telemetry.log_filter.clone(),
        otlp_endpoint: config.telemetry.otlp_endpoint.clone(),
    })?;
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    runtime.block_on(roles::run(role, config, shutdown::signal()))
}
