//! ferric-mesh
