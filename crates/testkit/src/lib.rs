//! Real peers for Ferric's tests, so no test depends on a fake we wrote.
//!
//! - [`etcd`]: a real `etcd` process (or a cluster of them) on free loopback ports
//!   with its own data directory, stoppable and restartable to simulate outages.
//! - [`poll`]: waiting for a condition with a deadline, the only way tests wait.

pub mod etcd;
pub mod poll;

pub use etcd::{EtcdCluster, EtcdProcess};
pub use poll::{free_port, wait_for, wait_until};
