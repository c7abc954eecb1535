//! Generates the ferric.v1 messages, servers and clients from `proto/`, plus a
//! descriptor set so every service can answer gRPC server reflection.
//!
//! Code is generated at build time rather than committed: the protos are the one
//! source of truth and there is no generated copy to go stale. It needs `protoc`
//! (Debian's `protobuf-compiler`, or `PROTOC` pointing at one); the well-known types
//! it imports are vendored in `third_party/`, so no other package is needed.

use std::path::PathBuf;

/// The files of package ferric.v1, in dependency order.
const PROTOS: &[&str] = &[
    "proto/ferric/v1/common.proto",
    "proto/ferric/v1/power.proto",
    "proto/ferric/v1/bootnet.proto",
    "proto/ferric/v1/imagecache.proto",
    "proto/ferric/v1/deploy.proto",
];

/// Messages that carry secrets (BMC credentials, agent tokens, passwords): their
/// derived `Debug` is skipped so `src/redact.rs` can print them without the secret.
const REDACTED: &[&str] = &[
    "ferric.v1.BmcTarget",
    "ferric.v1.ChangeProvisionStateRequest",
    "ferric.v1.HeartbeatRequest",
    "ferric.v1.LookupResponse",
];

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let out_dir = PathBuf::from(std::env::var("OUT_DIR")?);
    tonic_prost_build::configure()
        .build_server(true)
        .build_client(true)
        .skip_debug(REDACTED)
        .file_descriptor_set_path(out_dir.join("ferric_descriptor.bin"))
        .compile_protos(PROTOS, &["proto", "third_party"])?;
    println!("cargo:rerun-if-changed=proto");
    println!("cargo:rerun-if-changed=third_party");
    Ok(())
}
