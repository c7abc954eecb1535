//! `imagecache-tool bench`: the numbers issue 7 asks for, in one run.
//!
//! 1. Serving: N `curl` processes download the same image at once from nginx
//!    (sendfile, its Debian defaults) and from the image cache's HTTP side, for
//!    each N; aggregate MiB/s and the ratio.
//! 2. Fetch + verify: Ensure of the image from nginx as the origin (download,
//!    sha256, fsync, commit) against `curl | sha256sum`.
//!
//! The clients are the same program for both servers, so client cost cancels.

use std::io::Write;
use std::net::{SocketAddr, TcpListener as StdListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use ferric_imagecache::cache::EnsureSpec;
use ferric_imagecache::fetch::SourceUrl;
use ferric_imagecache::flight::FlightState;
use ferric_imagecache::store::ImageKey;
use ferric_imagecache::verify::{ChecksumSpec, Hasher};
use ferric_imagecache::{ImageCache, ImageCacheSettings, serve};

use super::flag;

const MIB: u64 = 1 << 20;

/// nginx as a child process, stopped on drop.
struct Nginx {
    child: Child,
    port: u16,
    /// `nginx -s stop` arguments: the master then stops its workers, which a
    /// SIGKILL of the master alone would orphan.
    stop: Command,
}

impl Drop for Nginx {
    fn drop(&mut self) {
        let stopped =
            self.stop.stdout(Stdio::null()).stderr(Stdio::null()).status().is_ok_and(|s| s.success());
        if !stopped {
            let _ = self.child.kill();
        }
        let _ = self.child.wait();
    }
}

fn free_port() -> Result<u16, String> {
    let listener = StdListener::bind("127.0.0.1:0").map_err(|e| format!("bind: {e}"))?;
    listener.local_addr().map(|a| a.port()).map_err(|e| e.to_string())
}

fn wait_for_port(port: u16) -> Result<(), String> {
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        if TcpStream::connect(SocketAddr::from(([127, 0, 0, 1], port))).is_ok() {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    Err(format!("nothing listens on port {port} after 10 s"))
}

fn start_nginx(work: &Path, root: &Path) -> Result<Nginx, String> {
    let port = free_port()?;
    let conf = work.join("nginx.conf");
    let tmp = work.join("nginx-tmp");
    std::fs::create_dir_all(&tmp).map_err(|e| e.to_string())?;
    let text = format!(
        "user root;\nworker_processes auto;\ndaemon off;\npid {work}/nginx.pid;\nerror_log {work}/nginx-error.log;\n\
         events {{ worker_connections 4096; }}\n\
         http {{\n  access_log off;\n  sendfile on;\n  tcp_nopush on;\n  client_body_temp_path {tmp};\n\
           server {{ listen 127.0.0.1:{port}; root {root}; location / {{ }} }}\n}}\n",
        work = work.display(),
        tmp = tmp.display(),
        root = root.display(),
    );
    std::fs::write(&conf, text).map_err(|e| e.to_string())?;
    let nginx = ["nginx", "/usr/sbin/nginx"]
        .into_iter()
        .find(|n| Command::new(n).arg("-v").stderr(Stdio::null()).status().is_ok())
        .ok_or("nginx is not installed (scripts/install-deps.sh bench installs it)")?;
    let child = Command::new(nginx)
        .arg("-p")
        .arg(work)
        .arg("-c")
        .arg(&conf)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("starting nginx: {e}"))?;
    let mut stop = Command::new(nginx);
    stop.arg("-p").arg(work).arg("-c").arg(&conf).args(["-s", "stop"]);
    let nginx = Nginx { child, port, stop };
    wait_for_port(port)?;
    Ok(nginx)
}

/// Writes `size` pseudo-random (incompressible) bytes; returns their sha256.
fn write_image(path: &Path, size: u64) -> Result<String, String> {
    let mut file = std::io::BufWriter::new(std::fs::File::create(path).map_err(|e| e.to_string())?);
    let mut hasher = Hasher::new(None);
    let mut x: u64 = 0x2545_F491_4F6C_DD1D;
    let mut block = vec![0u8; MIB as usize];
    for _ in 0..size.div_ceil(MIB) {
        for word in block.chunks_exact_mut(8) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            word.copy_from_slice(&x.to_le_bytes());
        }
        hasher.update(&block);
        file.write_all(&block).map_err(|e| e.to_string())?;
    }
    file.flush().map_err(|e| e.to_string())?;
    Ok(hasher.finish().sha256)
}

/// `clients` concurrent curls of `url`; aggregate MiB/s.
fn load(url: &str, clients: usize, size: u64) -> Result<f64, String> {
    let start = Instant::now();
    let children = (0..clients)
        .map(|_| {
            Command::new("curl")
                .args(["-sS", "--fail", "-o", "/dev/null", "-w", "%{size_download}", url])
                .stdout(Stdio::piped())
                .spawn()
                .map_err(|e| format!("curl: {e}"))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let mut bytes = 0u64;
    for child in children {
        let out = child.wait_with_output().map_err(|e| e.to_string())?;
        let got: u64 = String::from_utf8_lossy(&out.stdout).trim().parse().unwrap_or(0);
        if !out.status.success() || got != size {
            return Err(format!("curl of {url} got {got} of {size} bytes ({})", out.status));
        }
        bytes += got;
    }
    Ok(bytes as f64 / MIB as f64 / start.elapsed().as_secs_f64())
}

fn curl_sha256(url: &str, expected: &str) -> Result<Duration, String> {
    let start = Instant::now();
    let out = Command::new("sh")
        .args(["-c", &format!("curl -sS --fail '{url}' | sha256sum")])
        .output()
        .map_err(|e| e.to_string())?;
    let elapsed = start.elapsed();
    let text = String::from_utf8_lossy(&out.stdout);
    if !text.starts_with(expected) {
        return Err(format!("curl | sha256sum printed {text:?}"));
    }
    Ok(elapsed)
}

async fn ensure_once(cache: &Arc<ImageCache>, url: &str, sha: &str) -> Result<Duration, String> {
    let key = ImageKey::Id(sha.to_owned());
    let evict = {
        let key = key.clone();
        move |store: &ferric_imagecache::store::Store| store.evict(&key, true)
    };
    cache.blocking_store(evict).await.map_err(|e| e.to_string())?;
    let spec = EnsureSpec {
        source: SourceUrl::parse(url).map_err(|e| e.to_string())?,
        checksum: ChecksumSpec::parse(sha, "sha256").map_err(|e| e.to_string())?,
        convert_to_raw: false,
        pin: None,
    };
    let start = Instant::now();
    let mut rx = cache.ensure(spec).await.map_err(|e| e.to_string())?;
    let state = rx.wait_for(FlightState::is_final).await.map_err(|e| e.to_string())?.clone();
    match state {
        FlightState::Ready(_) => Ok(start.elapsed()),
        FlightState::Failed(e) => Err(ferric_imagecache::error::chain(&*e)),
        FlightState::Working { .. } => Err("no outcome".into()),
    }
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v.get(v.len() / 2).copied().unwrap_or_default()
}

/// Runs the benchmark and prints its table.
pub async fn run(args: &[String]) -> Result<(), String> {
    let size_mib: u64 = flag(args, "--size-mib").and_then(|s| s.parse().ok()).unwrap_or(1024);
    let clients: Vec<usize> = flag(args, "--clients")
        .unwrap_or_else(|| "1,16,64".into())
        .split(',')
        .filter_map(|c| c.trim().parse().ok())
        .collect();
    let rounds: usize = flag(args, "--rounds").and_then(|s| s.parse().ok()).unwrap_or(3);
    let base = flag(args, "--work-dir").map(PathBuf::from).unwrap_or_else(|| {
        std::env::var_os("CARGO_TARGET_DIR").map(PathBuf::from).unwrap_or_else(std::env::temp_dir)
    });
    std::fs::create_dir_all(&base).map_err(|e| e.to_string())?;
    let work =
        tempfile::Builder::new().prefix("imagecache-bench-").tempdir_in(&base).map_err(|e| e.to_string())?;
    let root = work.path().join("origin");
    std::fs::create_dir_all(&root).map_err(|e| e.to_string())?;
    let size = size_mib * MIB;
    eprintln!("bench: writing a {size_mib} MiB image in {}", work.path().display());
    let image = root.join("image.raw");
    let sha = {
        let image = image.clone();
        tokio::task::spawn_blocking(move || write_image(&image, size)).await.map_err(|e| e.to_string())??
    };
    let nginx = start_nginx(work.path(), &root)?;
    let nginx_url = format!("http://127.0.0.1:{}/image.raw", nginx.port);

    let mut settings = ImageCacheSettings::new(work.path().join("cache"));
    settings.max_bytes = 0;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.map_err(|e| e.to_string())?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    let cache = {
        let settings = settings.clone();
        tokio::task::spawn_blocking(move || ImageCache::open(&settings, format!("http://{addr}")))
            .await
            .map_err(|e| e.to_string())?
            .map_err(|e| e.to_string())?
    };
    let (_stop, stop) = tokio::sync::watch::channel(false);
    let server = tokio::spawn(serve::serve(listener, cache.clone(), stop));

    eprintln!("bench: fetch + verify, {rounds} rounds each");
    let mut ours = Vec::new();
    let mut theirs = Vec::new();
    for _ in 0..rounds {
        ours.push(ensure_once(&cache, &nginx_url, &sha).await?);
        let url = nginx_url.clone();
        let expected = sha.clone();
        theirs.push(
            tokio::task::spawn_blocking(move || curl_sha256(&url, &expected))
                .await
                .map_err(|e| e.to_string())??,
        );
    }
    let (ours, theirs) = (median(ours), median(theirs));
    let cache_url = cache.http_url(&sha);

    let mut rows = Vec::new();
    for &n in &clients {
        eprintln!("bench: serving to {n} clients");
        let (a, b) = (nginx_url.clone(), cache_url.clone());
        let (nginx_rate, cache_rate) = tokio::task::spawn_blocking(move || -> Result<(f64, f64), String> {
            // Best of two for each, alternating, to damp noise from the 2 cores.
            let mut best = (0f64, 0f64);
            for _ in 0..2 {
                best.0 = best.0.max(load(&a, n, size)?);
                best.1 = best.1.max(load(&b, n, size)?);
            }
            Ok(best)
        })
        .await
        .map_err(|e| e.to_string())??;
        rows.push((n, nginx_rate, cache_rate));
    }
    server.abort();
    drop(nginx);

    println!(
        "\nimagecache bench: {size_mib} MiB image, {} cores",
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    println!("\n| clients | nginx MiB/s | imagecache MiB/s | imagecache / nginx |");
    println!("|--------:|------------:|-----------------:|-------------------:|");
    for (n, a, b) in &rows {
        println!("| {n:>7} | {a:>11.0} | {b:>16.0} | {:>17.1}% |", 100.0 * b / a);
    }
    let overhead = 100.0 * (ours.as_secs_f64() / theirs.as_secs_f64() - 1.0);
    println!("\n| fetch + verify {size_mib} MiB | seconds (median of {rounds}) |");
    println!("|---|---:|");
    println!("| curl \\| sha256sum | {:.2} |", theirs.as_secs_f64());
    println!("| imagecache Ensure (download, sha256, fsync, commit) | {:.2} |", ours.as_secs_f64());
    println!("| overhead | {overhead:+.1}% |");
    Ok(())
}
