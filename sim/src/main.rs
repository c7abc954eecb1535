//! `ferric-sim --ferric PATH --nodes N [--image-mib M] [--concurrency C]`:
//! provisions N simulated machines through a fresh `ferric all-in-one` and
//! prints where the time went. Needs root (it makes a network namespace).

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use ferric_sim::{FleetOptions, network};

/// Provision a simulated fleet through Ferric's REST API and report the timings.
#[derive(Debug, Parser)]
#[command(name = "ferric-sim")]
struct Args {
    /// The `ferric` binary to start.
    #[arg(long, env = "FERRIC_BIN")]
    ferric: PathBuf,
    /// Machines in the fleet.
    #[arg(long, default_value_t = 100)]
    nodes: usize,
    /// Instance image size in MiB.
    #[arg(long, default_value_t = 1)]
    image_mib: usize,
    /// Size of each machine's sparse disk in GiB.
    #[arg(long, default_value_t = 4)]
    disk_gib: u64,
    /// REST calls in flight at once.
    #[arg(long, default_value_t = 32)]
    concurrency: usize,
    /// Disks to verify by hash at the end (0: all).
    #[arg(long, default_value_t = 0)]
    verify: usize,
    /// Ferric's `deploy.agent_command_poll_ms`.
    #[arg(long, default_value_t = 200)]
    agent_poll_ms: u64,
    /// Ferric's log filter.
    #[arg(long, default_value = "warn")]
    ferric_log: String,
    /// Seconds each phase may take.
    #[arg(long, default_value_t = 1200)]
    phase_timeout: u64,
    /// Directory for Ferric's state and the disks (default: a fresh temp dir,
    /// removed at the end unless --keep).
    #[arg(long)]
    work_dir: Option<PathBuf>,
    /// Keep the work directory (disks, Ferric's log) after the run.
    #[arg(long)]
    keep: bool,
    /// Serve the deploy kernel over HTTP instead of TFTP (lock-step TFTP is the
    /// slowest part of a boot under load).
    #[arg(long)]
    kernel_over_http: bool,
    /// Also write the report as JSON here.
    #[arg(long)]
    json: Option<PathBuf>,
}

fn main() -> ExitCode {
    let args = Args::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .init();
    match run(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("ferric-sim: {message}");
            ExitCode::FAILURE
        }
    }
}

fn run(args: Args) -> Result<(), String> {
    let (work_dir, _temp) = match &args.work_dir {
        Some(dir) => (dir.clone(), None),
        None => {
            let temp = tempfile::Builder::new().prefix("ferric-sim-").tempdir().map_err(|e| e.to_string())?;
            let path = temp.path().to_owned();
            (path, if args.keep { None } else { Some(temp) })
        }
    };
    if args.keep {
        eprintln!("ferric-sim: work dir {}", work_dir.display());
    }
    let netns = network::namespace().map_err(|e| format!("network namespace (needs root): {e}"))?;
    // The runtime's threads are born in the namespace because this thread is in it.
    let _entered = netns.enter().map_err(|e| format!("enter the network namespace: {e}"))?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("tokio runtime: {e}"))?;
    let options = FleetOptions {
        ferric: std::fs::canonicalize(&args.ferric).map_err(|e| format!("{}: {e}", args.ferric.display()))?,
        nodes: args.nodes,
        image_mib: args.image_mib,
        disk_gib: args.disk_gib,
        concurrency: args.concurrency,
        work_dir,
        verify: args.verify,
        agent_command_poll_ms: args.agent_poll_ms,
        log_filter: args.ferric_log.clone(),
        phase_timeout: Duration::from_secs(args.phase_timeout),
        kernel_over_http: args.kernel_over_http,
    };
    let report = runtime.block_on(ferric_sim::run(&options, &netns)).map_err(|e| e.to_string())?;
    runtime.shutdown_timeout(Duration::from_secs(5));
    println!("{report}");
    if let Some(path) = &args.json {
        let json = serde_json::to_string_pretty(&report).map_err(|e| e.to_string())?;
        std::fs::write(path, json).map_err(|e| format!("{}: {e}", path.display()))?;
    }
    Ok(())
}
