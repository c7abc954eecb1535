//! Real peers for Ferric's tests, so no test depends on a fake we wrote.
//!
//! - [`etcd`]: a real `etcd` process (or a cluster of them) on free loopback ports
//!   with its own data directory, stoppable and restartable to simulate outages.
//! - [`ipmi`]: real IPMI BMCs (`ipmi_sim`) on loopback UDP, checked with `ipmitool`.
//! - [`redfish`]: a real Redfish service (`sushy-emulator`, fake systems), with
//!   optional basic auth and TLS.
//! - [`netns`]: network namespaces with bridges, veth pairs and taps, for DHCP,
//!   relay and PXE tests against real clients; deleted on drop.
//! - [`poll`]: waiting for a condition with a deadline, the only way tests wait.

pub mod etcd;
pub mod ipmi;
pub mod netns;
pub mod poll;
pub mod redfish;

pub use etcd::{EtcdCluster, EtcdProcess};
pub use ipmi::IpmiSim;
pub use netns::Netns;
pub use poll::{free_port, wait_for, wait_until};
pub use redfish::{SushyEmulator, SushyOptions};
