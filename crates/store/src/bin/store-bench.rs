//! `store-bench`: write and read throughput of both store backends, so a change
//! to either engine can be judged by numbers (`scripts/bench.sh` runs it).
//!
//! For each backend — the embedded store in a temp dir, and a real etcd it starts
//! itself on free loopback ports — it runs, each for a fixed time: writes from one
//! writer, writes from 16 concurrent writers, reads from one reader, reads from 16
//! readers; and prints a table of operations per second and latency percentiles.
//! Every write is an acknowledged, durable transaction (fsync on the embedded
//! store, raft commit on etcd).
//!
//! Options: `--seconds N` per workload (default 3), `--no-etcd`, `--etcd PATH`
//! (default `/usr/bin/etcd`).

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use ferric_store::embedded::EmbeddedStore;
use ferric_store::etcd::{EtcdOptions, EtcdStore};
use ferric_store::{DynStore, Op, Txn};

const VALUE_SIZE: usize = 256;
const CONCURRENCY: usize = 16;

struct Args {
    seconds: f64,
    etcd: Option<PathBuf>,
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args { seconds: 3.0, etcd: Some(PathBuf::from("/usr/bin/etcd")) };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--seconds" => {
                let value = it.next().ok_or("--seconds needs a value")?;
                args.seconds = value.parse().map_err(|_| format!("--seconds: not a number: {value}"))?;
            }
            "--no-etcd" => args.etcd = None,
            "--etcd" => args.etcd = Some(PathBuf::from(it.next().ok_or("--etcd needs a path")?)),
            "-h" | "--help" => {
                return Err("usage: store-bench [--seconds N] [--no-etcd] [--etcd PATH]".into());
            }
            other => return Err(format!("unknown argument {other}")),
        }
    }
    Ok(args)
}

/// One measured workload.
struct Row {
    backend: &'static str,
    workload: String,
    ops: usize,
    elapsed: Duration,
    latencies: Vec<Duration>,
}

impl Row {
    fn percentile(&self, p: f64) -> f64 {
        if self.latencies.is_empty() {
            return 0.0;
        }
        let index = ((self.latencies.len() - 1) as f64 * p).round() as usize;
        self.latencies[index.min(self.latencies.len() - 1)].as_secs_f64() * 1000.0
    }
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let args = match parse_args() {
        Ok(args) => args,
        Err(message) => {
            eprintln!("{message}");
            std::process::exit(2);
        }
    };
    let duration = Duration::from_secs_f64(args.seconds.max(0.1));
    let scratch = std::env::temp_dir().join(format!("ferric-store-bench-{}", std::process::id()));
    if let Err(err) = std::fs::create_dir_all(&scratch) {
        eprintln!("cannot create {}: {err}", scratch.display());
        std::process::exit(1);
    }
    let mut rows = Vec::new();
    let code = run(&args, duration, &scratch, &mut rows).await;
    let _ = std::fs::remove_dir_all(&scratch);
    print_table(&rows);
    std::process::exit(code);
}

async fn run(args: &Args, duration: Duration, scratch: &Path, rows: &mut Vec<Row>) -> i32 {
    eprintln!("store-bench: {duration:?} per workload, {VALUE_SIZE}-byte values");
    match EmbeddedStore::open(scratch.join("bench.redb")).await {
        Ok(store) => bench("embedded", Arc::new(store), duration, rows).await,
        Err(err) => {
            eprintln!("embedded store: {err}");
            return 1;
        }
    }
    let Some(etcd_binary) = &args.etcd else { return 0 };
    let etcd = match Etcd::start(etcd_binary, &scratch.join("etcd")) {
        Ok(etcd) => etcd,
        Err(err) => {
            eprintln!("cannot start etcd ({}): {err}", etcd_binary.display());
            return 1;
        }
    };
    let store = match etcd.connect().await {
        Ok(store) => store,
        Err(err) => {
            eprintln!("etcd did not come up: {err}");
            return 1;
        }
    };
    bench("etcd", Arc::new(store), duration, rows).await;
    0
}

async fn bench(backend: &'static str, store: DynStore, duration: Duration, rows: &mut Vec<Row>) {
    for (workload, workers, write) in [
        ("write, 1 writer", 1, true),
        ("write, 16 writers", CONCURRENCY, true),
        ("read, 1 reader", 1, false),
        ("read, 16 readers", CONCURRENCY, false),
    ] {
        eprintln!("  {backend}: {workload}");
        rows.push(workload_run(backend, workload, store.clone(), workers, write, duration).await);
    }
}

async fn workload_run(
    backend: &'static str,
    workload: &str,
    store: DynStore,
    workers: usize,
    write: bool,
    duration: Duration,
) -> Row {
    let value = vec![b'x'; VALUE_SIZE];
    let started = Instant::now();
    let deadline = started + duration;
    let mut tasks = Vec::new();
    for worker in 0..workers {
        let store = store.clone();
        let value = value.clone();
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            let mut errors = 0usize;
            let mut i = 0usize;
            while Instant::now() < deadline {
                let key = if write {
                    format!("/bench/{worker:02}/{i:08}")
                } else {
                    // Reads hit the keys the single writer wrote.
                    format!("/bench/00/{:08}", (i * 7919) % 1000)
                };
                let t = Instant::now();
                let ok = if write {
                    store.txn(Txn::new().then(Op::put(key, value.clone()))).await.is_ok()
                } else {
                    store.get(&key).await.is_ok()
                };
                if ok {
                    latencies.push(t.elapsed());
                } else {
                    errors += 1;
                }
                i += 1;
            }
            (latencies, errors)
        }));
    }
    let mut latencies = Vec::new();
    for task in tasks {
        match task.await {
            Ok((l, errors)) => {
                if errors > 0 {
                    eprintln!("    {errors} failed operations");
                }
                latencies.extend(l);
            }
            Err(err) => eprintln!("    a worker failed: {err}"),
        }
    }
    let elapsed = started.elapsed();
    latencies.sort_unstable();
    Row { backend, workload: workload.to_owned(), ops: latencies.len(), elapsed, latencies }
}

fn print_table(rows: &[Row]) {
    println!(
        "{:<10} {:<20} {:>9} {:>8} {:>11} {:>9} {:>9}",
        "backend", "workload", "ops", "secs", "ops/s", "p50 ms", "p99 ms"
    );
    for row in rows {
        let secs = row.elapsed.as_secs_f64();
        println!(
            "{:<10} {:<20} {:>9} {:>8.2} {:>11.0} {:>9.3} {:>9.3}",
            row.backend,
            row.workload,
            row.ops,
            secs,
            row.ops as f64 / secs,
            row.percentile(0.50),
            row.percentile(0.99),
        );
    }
}

/// A throw-away single-member etcd on free loopback ports, killed on drop.
struct Etcd {
    child: Child,
    endpoint: String,
}

impl Etcd {
    fn start(binary: &Path, data_dir: &Path) -> std::io::Result<Etcd> {
        let client_port = free_port()?;
        let peer_port = free_port()?;
        let client = format!("http://127.0.0.1:{client_port}");
        let peer = format!("http://127.0.0.1:{peer_port}");
        let child = Command::new(binary)
            .arg("--name=bench")
            .arg(format!("--data-dir={}", data_dir.display()))
            .arg(format!("--listen-client-urls={client}"))
            .arg(format!("--advertise-client-urls={client}"))
            .arg(format!("--listen-peer-urls={peer}"))
            .arg(format!("--initial-advertise-peer-urls={peer}"))
            .arg(format!("--initial-cluster=bench={peer}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()?;
        Ok(Etcd { child, endpoint: client })
    }

    /// Connects once etcd answers, polling for up to 20 s.
    async fn connect(&self) -> Result<EtcdStore, String> {
        let deadline = Instant::now() + Duration::from_secs(20);
        let options = EtcdOptions { request_timeout: Duration::from_secs(2), ..Default::default() };
        loop {
            match EtcdStore::connect(std::slice::from_ref(&self.endpoint), options.clone()).await {
                Ok(store) => return Ok(store),
                Err(err) if Instant::now() >= deadline => return Err(err.to_string()),
                Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
            }
        }
    }
}

impl Drop for Etcd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> std::io::Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}
