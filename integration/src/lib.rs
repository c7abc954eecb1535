//! The harness for tests that start real Ferric processes.
//!
//! Tests under `ferric/tests/` (where Cargo hands them the freshly built `ferric`
//! binary) use it to start processes on free ports in temporary directories, poll
//! until they answer instead of sleeping, and clean up on drop while keeping the
//! logs of a failed run.

pub mod clients;
pub mod process;
pub mod transcript;

pub use ferric_testkit::{free_port, wait_for, wait_until};
pub use clients::{Baremetal, CliOutput, python, venv_tool};
pub use process::FerricProcess;
