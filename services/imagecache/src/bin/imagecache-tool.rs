//! `imagecache-tool`: the image cache outside the mesh.
//!
//! - `fetch --cache-dir DIR --url URL [--checksum C] [--algorithm A] [--convert]`
//!   ensures one image into a cache directory, printing `progress <done> <total>`
//!   lines and then `ready <id> <path>`: for operators pre-seeding a cache, and
//!   for the crash test, which kills it mid-download.
//! - `bench [--size-mib N] [--clients 1,16,64] [--work-dir DIR]`: serving
//!   throughput against nginx on the same file, and fetch+verify time against
//!   `curl | sha256sum` (see `bench.rs`).

#[path = "imagecache-tool/bench.rs"]
mod bench;

use std::path::PathBuf;
use std::process::ExitCode;

use ferric_imagecache::cache::EnsureSpec;
use ferric_imagecache::fetch::SourceUrl;
use ferric_imagecache::flight::FlightState;
use ferric_imagecache::verify::ChecksumSpec;
use ferric_imagecache::{ImageCache, ImageCacheError, ImageCacheSettings};

/// `--name value` from the arguments.
fn flag(args: &[String], name: &str) -> Option<String> {
    args.iter().position(|a| a == name).and_then(|i| args.get(i + 1)).cloned()
}

fn usage() -> ExitCode {
    eprintln!(
        "usage: imagecache-tool fetch --cache-dir DIR --url URL [--checksum C] [--algorithm A] [--convert]\n       imagecache-tool bench [--size-mib N] [--clients 1,16,64] [--work-dir DIR]"
    );
    ExitCode::from(2)
}

async fn fetch(args: &[String]) -> Result<(), ImageCacheError> {
    let dir = flag(args, "--cache-dir")
        .ok_or_else(|| ImageCacheError::InvalidRequest("--cache-dir is required".into()))?;
    let url =
        flag(args, "--url").ok_or_else(|| ImageCacheError::InvalidRequest("--url is required".into()))?;
    let mut settings = ImageCacheSettings::new(PathBuf::from(dir));
    settings.max_bytes = 0;
    if let Some(allowed) = flag(args, "--allow-files") {
        settings.fetch.file_url_allowed_paths = vec![PathBuf::from(allowed)];
    }
    let cache = tokio::task::spawn_blocking(move || ImageCache::open(&settings, "http://localhost".into()))
        .await
        .map_err(|e| ImageCacheError::Internal(e.to_string()))??;
    let spec = EnsureSpec {
        source: SourceUrl::parse(&url)?,
        checksum: ChecksumSpec::parse(
            &flag(args, "--checksum").unwrap_or_default(),
            &flag(args, "--algorithm").unwrap_or_default(),
        )?,
        convert_to_raw: args.iter().any(|a| a == "--convert"),
        pin: None,
    };
    let mut rx = cache.ensure(spec).await?;
    loop {
        let state = rx.borrow_and_update().clone();
        match state {
            FlightState::Working { done, total, .. } => println!("progress {done} {total}"),
            FlightState::Ready(record) => {
                println!("ready {} {}", record.id, cache.store().image_path(&record.id).display());
                return Ok(());
            }
            FlightState::Failed(e) => {
                return Err(ImageCacheError::Internal(ferric_imagecache::error::chain(&*e)));
            }
        }
        if rx.changed().await.is_err() && !rx.borrow().is_final() {
            return Err(ImageCacheError::Internal("the download stopped without an outcome".into()));
        }
    }
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = match args.first().map(String::as_str) {
        Some("fetch") => runtime.block_on(fetch(&args[1..])).map_err(|e| ferric_imagecache::error::chain(&e)),
        Some("bench") => runtime.block_on(bench::run(&args[1..])),
        _ => return usage(),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("imagecache-tool: {e}");
            ExitCode::FAILURE
        }
    }
}
