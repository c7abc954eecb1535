//! ferric-proto
