//! Ferric's configuration: one TOML file, overridden by `FERRIC_*` variables.
//!
//! Two shapes, as dora does it: [`FileConfig`]-style serde structs mirror the TOML
//! (every field optional through `#[serde(default)]`), and [`Config::load`] yields a
//! checked configuration or a [`ConfigError`] that names the offending option. Every
//! option, with its default, is documented in `docs/configuration.md`, and
//! `ferric.example.toml` at the repository root lists them all; a test parses that
//! file and checks each key is documented, so the reference cannot drift.
//!
//! Environment overrides use `__` between levels: `FERRIC_GATEWAY__LISTEN=0.0.0.0:6385`
//! sets `gateway.listen`. Values parse as TOML scalars when they can (`true`, `10`,
//! `["a", "b"]`), otherwise as strings.

mod bootnet;
mod env;
mod error;
mod sections;

pub use bootnet::*;
pub use error::ConfigError;
pub use sections::*;

use std::path::Path;

impl Config {
    /// Loads `path` (when given), applies `FERRIC_*` overrides from `vars`, and
    /// validates the result. Taking the variables as an argument keeps tests free of
    /// process-global environment mutation.
    pub fn load(
        path: Option<&Path>,
        vars: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Config, ConfigError> {
        let text = match path {
            Some(path) => std::fs::read_to_string(path)
                .map_err(|source| ConfigError::Read { path: path.display().to_string(), source })?,
            None => String::new(),
        };
        Self::from_toml_with_env(&text, vars)
    }

    /// Parses TOML text, applies overrides, validates. Split out from [`Config::load`]
    /// so tests need no files.
    pub fn from_toml_with_env(
        text: &str,
        vars: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Config, ConfigError> {
        let mut table: toml::Table = toml::from_str(text).map_err(ConfigError::Parse)?;
        env::apply_overrides(&mut table, vars)?;
        let config: Config = toml::Value::Table(table).try_into().map_err(ConfigError::Parse)?;
        config.validate()?;
        Ok(config)
    }

    /// Loads with the process's own environment.
    pub fn load_from_process_env(path: Option<&Path>) -> Result<Config, ConfigError> {
        Self::load(path, std::env::vars())
    }
}
