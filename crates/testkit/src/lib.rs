//! ferric-testkit
