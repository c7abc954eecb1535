//! ferric-model
