//! ferric-config
