//! The harness for tests that start real Ferric processes.
//!
//! Tests under `ferric/tests/` (where Cargo hands them the freshly built `ferric`
//! binary) use it to start processes on free ports in temporary directories, poll
//! until they answer instead of sleeping, and clean up on drop while keeping the
//! logs of a failed run. [`mesh`] starts the distributed shape: an etcd cluster
//! and every role as its own process.

pub mod clients;
pub mod dhcp_probe;
pub mod machine;
pub mod mesh;
pub mod process;
pub mod test_image;
pub mod transcript;

pub use clients::{Baremetal, CliOutput, python, venv_tool};
pub use ferric_testkit::{free_port, wait_for, wait_until};
pub use mesh::{Mesh, MeshSpec, Role};
pub use process::FerricProcess;
