//! ferric-cluster
