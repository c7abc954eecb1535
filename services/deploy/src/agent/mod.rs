//! The agent protocol (Ironic Python Agent), conductor side.
//!
//! - [`callbacks`]: the agent's calls — lookup (find the node, hand out the token
//!   once) and heartbeat (where to reach the agent; resumes a waiting node).
//! - [`client`]: the conductor's calls to the agent's API.
//! - [`inspection`]: the in-band inspection callback (`continue_inspection`).
//! - [`steps`]: booting the ramdisk, merging and running the agent's steps,
//!   following commands across a takeover.
//!
//! The token lives in `driver_internal_info.agent_secret_token`, is handed out by
//! the first lookup only (later lookups see `******`), is compared in constant
//! time, and is never logged or returned by any other call.

pub mod callbacks;
pub mod client;
pub mod inspection;
pub mod steps;
