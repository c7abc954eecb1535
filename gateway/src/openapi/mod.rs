//! `/v1/openapi.json`: the whole API described from the code that serves it.
//!
//! Every route is registered through [`Routes`], which adds it to the axum
//! router *and* records its method, path and [`Doc`]; the document is built from
//! those records and from the model's field tables, so it cannot drift from
//! what is served. It is deliberately lenient where Ironic's output varies
//! (`?fields=` trims any object, most fields may be null) and strict where
//! Ironic is (a node create needs `driver`; an error is `{"error_message"}`).

mod document;
mod routes;
mod schema;

pub use document::document;
pub use routes::{Body, Doc, Operation, Reply, Routes, Schema};
