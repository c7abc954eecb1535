//! Integration tests of the mesh: real servers on loopback, registered in a
//! store, reached through discovery. One binary, so the heavy dependencies link
//! once.

mod common;
mod deadline;
mod discovery;
mod registration;
mod server;
mod telemetry;
mod tls;
