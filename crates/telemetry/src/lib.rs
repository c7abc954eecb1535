//! ferric-telemetry
