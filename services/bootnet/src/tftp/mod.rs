//! TFTP: read-only file service for PXE ROMs and iPXE.
//!
//! - [`options`]: the wire and option negotiation.
//! - [`path`]: which names map to which files (shared with HTTP).
//! - [`transfer`]: one windowed, retransmitting read transfer.
//! - [`server`]: the listener, admission (per client and global bounds) and one
//!   task and one socket (the transfer ID) per transfer.

pub mod options;
pub mod path;
pub mod server;
pub mod transfer;
