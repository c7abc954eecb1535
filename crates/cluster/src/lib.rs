//! Conductor membership and node ownership for Ferric's deploy service.
//!
//! Each deploy instance is a *conductor*, as in Ironic. It joins the cluster with
//! [`Membership::join`], which registers it in the store under a lease
//! (`/ferric/conductors/<hostname>`) kept alive in the background. Every instance
//! follows that prefix and builds the same [`Ring`] from it: a consistent hash ring
//! per conductor group and hardware type, like Ironic's, that maps each node to
//! exactly one live conductor. When a conductor's lease lapses (a crash) or is
//! revoked ([`Membership::leave`]) its membership key and the locks tied to its
//! lease vanish, every instance's ring drops it, and its nodes move to the
//! survivors; nodes owned by survivors do not move.
//!
//! - [`ring`]: the pure placement (unit-tested for balance, minimal movement,
//!   determinism and group isolation, and checked against Ironic's placement).
//! - [`membership`]: joining, keep-alive and re-registration, following the others.
//! - [`record`]: what is stored, where; [`list_conductors`] reads it back for
//!   `/v1/conductors`, showing crashed conductors as not alive, as Ironic does.

#![warn(missing_docs)]

pub mod error;
mod follower;
mod keeper;
mod list;
mod md5;
pub mod membership;
mod observer;
pub mod record;
pub mod ring;

pub use error::ClusterError;
pub use list::{get_conductor, list_conductors};
pub use membership::{Membership, MembershipView};
pub use observer::RingObserver;
pub use record::{ConductorInfo, ConductorRecord};
pub use ring::{DEFAULT_PARTITIONS, HashRing, Ring};
