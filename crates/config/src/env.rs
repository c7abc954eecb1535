//! `FERRIC_SECTION__KEY=value` overrides, merged into the parsed TOML table before
//! it is typed, so an override is validated exactly like the file.

use crate::ConfigError;

const PREFIX: &str = "FERRIC_";

/// Applies every `FERRIC_*` variable of `vars` to `table`.
pub(crate) fn apply_overrides(
    table: &mut toml::Table,
    vars: impl IntoIterator<Item = (String, String)>,
) -> Result<(), ConfigError> {
    for (var, raw) in vars {
        let Some(path) = var.strip_prefix(PREFIX) else { continue };
        // FERRIC_CONFIG names the file itself; it is not an option.
        if path == "CONFIG" {
            continue;
        }
        let keys: Vec<String> = path.split("__").map(str::to_ascii_lowercase).collect();
        if keys.iter().any(String::is_empty) {
            return Err(ConfigError::Env { var, reason: "empty key segment".into() });
        }
        set_path(table, &keys, parse_scalar(&raw)).map_err(|reason| ConfigError::Env { var, reason })?;
    }
    Ok(())
}

/// Reads a value as TOML when it is one (numbers, booleans, arrays), else as a string.
fn parse_scalar(raw: &str) -> toml::Value {
    let doc = format!("v = {raw}");
    match toml::from_str::<toml::Table>(&doc) {
        Ok(mut t) => t.remove("v").unwrap_or_else(|| toml::Value::String(raw.to_owned())),
        Err(_) => toml::Value::String(raw.to_owned()),
    }
}

fn set_path(table: &mut toml::Table, keys: &[String], value: toml::Value) -> Result<(), String> {
    let (last, parents) = keys.split_last().ok_or("no key")?;
    let mut current = table;
    for key in parents {
        let entry = current.entry(key.clone()).or_insert_with(|| toml::Value::Table(toml::Table::new()));
        current = entry.as_table_mut().ok_or_else(|| format!("{key} is not a section"))?;
    }
    current.insert(last.clone(), value);
    Ok(())
}
