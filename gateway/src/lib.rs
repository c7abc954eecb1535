//! ferric-gateway
