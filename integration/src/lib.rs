//! ferric-integration
