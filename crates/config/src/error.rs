//! Configuration errors, each naming the option or file at fault.

/// Why a configuration could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read configuration file {path}")]
    Read {
        path: String,
        #[source]
        source: std::io::Error,
    },
    /// The TOML (after overrides) does not match the schema.
    #[error("invalid configuration: {0}")]
    Parse(#[source] toml::de::Error),
    /// An environment override could not be applied.
    #[error("invalid environment override {var}: {reason}")]
    Env { var: String, reason: String },
    /// A value parsed but is not acceptable.
    #[error("invalid value for {option}: {reason}")]
    Invalid { option: &'static str, reason: String },
}
