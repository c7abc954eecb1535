//! `just bench power`: chassis power status against many `ipmi_sim` BMCs at once,
//! through Ferric's async IPMI driver (pooled RMCP+ sessions, one UDP socket per
//! BMC) and, for comparison, by forking `ipmitool -I lanplus -C 3` per call as
//! Ironic does. Prints operations per second and latency percentiles of both.
//!
//! The simulators answer status from their own state (no chassis program), as
//! a real BMC does: with a script forked per query the simulators, not the
//! clients, would be what is measured.
//!
//! Knobs: `BENCH_BMCS` (100), `BENCH_SECS` per phase (5).

use std::sync::Arc;
use std::time::{Duration, Instant};

use ferric_power::driver::PowerDriver;
use ferric_power::info::DriverInfo;
use ferric_power::ipmi::{IpmiDriver, IpmiOptions};
use ferric_testkit::IpmiSim;

fn env_or(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

struct Stats {
    ops: usize,
    errors: usize,
    elapsed: Duration,
    latencies: Vec<Duration>,
}

impl Stats {
    fn rate(&self) -> f64 {
        self.ops as f64 / self.elapsed.as_secs_f64()
    }

    fn percentile(&self, p: f64) -> Duration {
        if self.latencies.is_empty() {
            return Duration::ZERO;
        }
        let mut sorted = self.latencies.clone();
        sorted.sort();
        let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
        sorted[index.min(sorted.len() - 1)]
    }
}

/// Runs `op` in a loop on every BMC concurrently for `duration`.
async fn run_phase<F, Fut>(bmcs: usize, duration: Duration, op: F) -> Stats
where
    F: Fn(usize) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = bool> + Send,
{
    let op = Arc::new(op);
    let started = Instant::now();
    let deadline = started + duration;
    let tasks: Vec<_> = (0..bmcs)
        .map(|i| {
            let op = op.clone();
            tokio::spawn(async move {
                let mut latencies = Vec::new();
                let mut errors = 0;
                while Instant::now() < deadline {
                    let t = Instant::now();
                    if op(i).await {
                        latencies.push(t.elapsed());
                    } else {
                        errors += 1;
                    }
                }
                (latencies, errors)
            })
        })
        .collect();
    let mut stats = Stats { ops: 0, errors: 0, elapsed: Duration::ZERO, latencies: Vec::new() };
    for task in tasks {
        let (latencies, errors) = task.await.expect("bench task");
        stats.ops += latencies.len();
        stats.errors += errors;
        stats.latencies.extend(latencies);
    }
    stats.elapsed = started.elapsed();
    stats
}

fn row(name: &str, s: &Stats) {
    println!(
        "{name:<34} {:>9} {:>7} {:>10.1} {:>10.2} {:>10.2}",
        s.ops,
        s.errors,
        s.rate(),
        s.percentile(0.50).as_secs_f64() * 1e3,
        s.percentile(0.99).as_secs_f64() * 1e3
    );
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let n = env_or("BENCH_BMCS", 100) as usize;
    let secs = Duration::from_secs(env_or("BENCH_SECS", 5));

    eprintln!("starting {n} ipmi_sim BMCs ...");
    let sims: Vec<IpmiSim> = (0..n).map(|_| IpmiSim::spawn_status_only()).collect::<Result<_, _>>()?;
    let ready_by = Instant::now() + Duration::from_secs(60);
    while !sims.iter().all(IpmiSim::is_ready) {
        assert!(Instant::now() < ready_by, "ipmi_sim BMCs did not all start within 60 s");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let ports: Arc<Vec<u16>> = Arc::new(sims.iter().map(IpmiSim::port).collect());

    // Ferric: one driver, sessions opened on first use and then reused.
    let driver = IpmiDriver::new(IpmiOptions::default());
    let bmcs: Arc<Vec<_>> = Arc::new(
        sims.iter()
            .map(|sim| {
                let info =
                    DriverInfo::from_json(serde_json::from_str(&sim.driver_info_json()).expect("json"));
                driver.bmc(&info).expect("valid driver_info")
            })
            .collect(),
    );
    let warm = Instant::now();
    let opened = futures::future::join_all(bmcs.iter().map(|b| b.power_state())).await;
    let failed = opened.iter().filter(|r| r.is_err()).count();
    let warm = warm.elapsed();
    eprintln!("opened {} sessions in {:.0} ms ({failed} failed)", n - failed, warm.as_secs_f64() * 1e3);

    eprintln!("ferric phase: {secs:?} ...");
    let b = bmcs.clone();
    let ours = run_phase(n, secs, move |i| {
        let b = b.clone();
        async move { b[i].power_state().await.is_ok() }
    })
    .await;

    eprintln!("ipmitool phase: {secs:?} ...");
    let p = ports.clone();
    let forked = run_phase(n, secs, move |i| {
        let port = p[i];
        async move {
            match ferric_testkit::ipmi::ipmitool(
                port,
                ferric_testkit::ipmi::IPMI_PASSWORD,
                &["chassis", "power", "status"],
            )
            .await
            {
                Ok(out) => out.status.success(),
                Err(_) => false,
            }
        }
    })
    .await;
    driver.shutdown().await;

    println!();
    println!("chassis power status, {n} ipmi_sim BMCs at once, {} s per phase", secs.as_secs());
    println!(
        "{:<34} {:>9} {:>7} {:>10} {:>10} {:>10}",
        "client", "ops", "errors", "ops/s", "p50 ms", "p99 ms"
    );
    row("ferric async RMCP+ (pooled)", &ours);
    row("ipmitool fork per call (-C 3)", &forked);
    println!("speed-up: {:.1}x (target >= 20x)", ours.rate() / forked.rate().max(f64::MIN_POSITIVE));
    println!("session set-up for all {n} BMCs: {:.0} ms", warm.as_secs_f64() * 1e3);
    Ok(())
}
