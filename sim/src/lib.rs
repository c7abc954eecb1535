//! `ferric-sim`: a fleet of simulated bare-metal machines that Ferric
//! provisions end to end through its REST API, for `just bench fleet` and the
//! fleet test.
//!
//! Each machine has what Ferric talks to on real hardware:
//!
//! - a BMC: one in-process Redfish service serves every machine's system
//!   ([`bmc`]), so nodes are enrolled with the `redfish` driver unchanged;
//! - a NIC on a provisioning network: DHCP through a relay to bootnet
//!   ([`dhcp`]), the per-node iPXE script over HTTP ([`script`]), the deploy
//!   kernel over TFTP ([`tftp`]) and ramdisk over HTTP ([`boot`]);
//! - a ramdisk agent: Ferric's own `ferric-agent`, in-process, whose disk is a
//!   sparse file ([`agent`]);
//! - power that decides what runs ([`machine`]).
//!
//! Where it runs: the simulator creates a network namespace and moves itself
//! (before its runtime starts) and Ferric into it ([`network`]). Inside, a /16 on
//! loopback gives every machine its own leased address, the relay owns port 67,
//! and none of it is visible on the host — a benchmark run cannot answer DHCP on
//! a real network or collide with other processes' ports.
//!
//! [`fleet`] runs one benchmark (Ferric as a child process, [`ferric`]; the
//! image from an in-process origin, [`origin`]); [`api`] is the REST client and
//! state watcher; [`report`] and [`stats`] are what gets printed.

pub mod agent;
pub mod api;
pub mod bmc;
pub mod boot;
pub mod dhcp;
pub mod error;
pub mod ferric;
pub mod fleet;
pub mod machine;
pub mod network;
pub mod origin;
pub mod report;
pub mod script;
pub mod stats;
pub mod tftp;

pub use error::SimError;
pub use fleet::{FleetOptions, run};
pub use report::Report;
