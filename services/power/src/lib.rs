//! ferric-power
