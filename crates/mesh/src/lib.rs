//! How Ferric services find and call each other.
//!
//! Every service is a gRPC server ([`MeshServer`]: its services plus health,
//! reflection, telemetry and optional mutual TLS) that announces itself in the
//! store ([`register`]); callers follow those announcements and balance over the
//! live instances ([`ServiceClient::discover`]) with deadlines and bounded retries
//! ([`policy`]). Nothing else in Ferric dials a service by address.
//!
//! Layout:
//! - [`kind`]: the service kinds and their store keys.
//! - [`server`]: the server builder.
//! - [`registry`]: registration under a kept-alive lease.
//! - `discovery`: the watch that feeds the balancer (internal).
//! - [`client`]: [`ServiceClient`], the transport generated clients are built on.
//! - [`policy`]: deadlines and retries.
//! - [`deadline`]: the served request's deadline, capping the calls it makes.
//! - [`tls`]: certificate files to tonic TLS configs.
//!
//! Architecture invariant: the mesh uses only the `Store` trait, never a backend,
//! and knows no service's messages beyond the descriptor set it serves for
//! reflection.

#![warn(missing_docs)]

pub mod client;
pub mod deadline;
mod discovery;
pub mod error;
pub mod kind;
pub mod policy;
pub mod registry;
pub mod server;
pub mod tls;

pub use client::{ClientOptions, ServiceClient};
pub use error::MeshError;
pub use kind::{ServiceKind, UnknownServiceKind};
pub use policy::{RetryPolicy, retry};
pub use registry::{Registration, ServiceInstance, list_instances, register};
pub use server::{MeshServer, ServerOptions};
pub use tls::TlsFiles;
