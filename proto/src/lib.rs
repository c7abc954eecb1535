//! Ferric's gRPC contract: package `ferric.v1`, generated from `proto/ferric/v1/`.
//!
//! The `.proto` files are the source of truth and the unit of review: changes are
//! read as proto diffs and must pass `buf lint` and `buf breaking` (see `buf.yaml`).
//! Everything in [`v1`] is generated at build time; this crate adds only what every
//! user of the contract would otherwise write again:
//!
//! - [`FILE_DESCRIPTOR_SET`], for gRPC server reflection;
//! - [`json`], lossless-where-possible conversion between `google.protobuf.Struct`
//!   and `serde_json`, because Ironic's free-form fields (driver_info, steps,
//!   inventory) travel as `Struct`;
//! - redacting `Debug` impls for messages that carry secrets, so logging a request
//!   never leaks a BMC password or agent token.
//!
//! Architecture invariant: no I/O and no business logic here; services convert proto
//! to model types in their own `convert.rs`.

#![warn(missing_docs)]

pub mod convert;
pub mod json;
mod redact;

/// Generated messages, enums, clients (`*_client`) and servers (`*_server`) of
/// package `ferric.v1`, in one module as protobuf packages are one namespace.
#[allow(clippy::all, missing_docs)]
pub mod v1 {
    tonic::include_proto!("ferric.v1");
}

/// The encoded `FileDescriptorSet` of `ferric.v1` and its imports, for registering
/// with `tonic-reflection` so `grpcurl`-style tools can call any Ferric service
/// without having the protos at hand.
pub const FILE_DESCRIPTOR_SET: &[u8] = tonic::include_file_descriptor_set!("ferric_descriptor");

/// Fully qualified names of the services in `ferric.v1`, so tests and tooling can
/// check that reflection and health report all of them.
pub const SERVICE_NAMES: &[&str] = &[
    "ferric.v1.PowerService",
    "ferric.v1.BootNetworkService",
    "ferric.v1.ImageCacheService",
    "ferric.v1.DeployService",
];

impl v1::NodeRef {
    /// A reference to the node with `uuid`; saves spelling out the struct at every
    /// call site.
    pub fn new(uuid: impl Into<String>) -> Self {
        Self { uuid: uuid.into() }
    }
}
