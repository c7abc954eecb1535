//! ferric-bootnet
