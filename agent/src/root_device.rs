//! Root device hints (`node.properties.root_device`), with ironic-lib's
//! semantics: integers compare with `==`/`!=`/`>=`/`<=`/`>`/`<` (size in GiB),
//! strings with `s==`/`s!=`/`<in>` (substring) and `<or>` (any of), case
//! insensitive except `name`; a value without an operator means equality. With
//! no hints, Ironic's rule: the smallest disk of at least the minimum size.

use serde_json::{Map, Value};

use crate::error::CommandError;
use crate::hardware::BlockDevice;

/// The smallest disk Ironic installs on without hints (IPA's 4 GiB); tiny test
/// disks are chosen with a hint (a `name` hint ignores size) or a smaller minimum.
pub const DEFAULT_MIN_ROOT_DISK_BYTES: u64 = 4 << 30;

const GIB: u64 = 1 << 30;

/// The hints a disk can be matched on; others are refused, as ironic-lib does.
const STRING_HINTS: &[&str] = &[
    "model",
    "vendor",
    "serial",
    "wwn",
    "wwn_with_extension",
    "wwn_vendor_extension",
    "name",
    "hctl",
    "by_path",
];

/// Picks the install disk among `disks` (in the order the hardware lists them).
pub fn choose(
    disks: &[BlockDevice],
    hints: Option<&Value>,
    min_bytes: u64,
) -> Result<BlockDevice, CommandError> {
    let hints = match hints {
        None | Some(Value::Null) => None,
        Some(Value::Object(map)) if map.is_empty() => None,
        Some(Value::Object(map)) => Some(map),
        Some(other) => {
            return Err(CommandError::invalid_params(format!(
                "root_device hints must be an object, got {other}"
            )));
        }
    };
    match hints {
        None => {
            disks.iter().filter(|d| d.size >= min_bytes).min_by_key(|d| d.size).cloned().ok_or_else(|| {
                CommandError::device_not_found(format!(
                    "No suitable device was found for deployment: no disk of at least {} bytes among {}",
                    min_bytes,
                    names(disks)
                ))
            })
        }
        Some(hints) => {
            for key in hints.keys() {
                if !STRING_HINTS.contains(&key.as_str()) && key != "size" && key != "rotational" {
                    return Err(CommandError::invalid_params(format!("Unknown root device hint: {key}")));
                }
            }
            for disk in disks {
                if matches(disk, hints)? {
                    return Ok(disk.clone());
                }
            }
            Err(CommandError::device_not_found(format!(
                "No suitable device was found for deployment using these hints {}; disks: {}",
                Value::Object(hints.clone()),
                names(disks)
            )))
        }
    }
}

fn names(disks: &[BlockDevice]) -> String {
    if disks.is_empty() {
        return "none".into();
    }
    disks.iter().map(|d| format!("{} ({} bytes)", d.name, d.size)).collect::<Vec<_>>().join(", ")
}

/// Whether `disk` satisfies every hint.
pub fn matches(disk: &BlockDevice, hints: &Map<String, Value>) -> Result<bool, CommandError> {
    for (key, expected) in hints {
        let ok = match key.as_str() {
            "size" => match_int(disk.size / GIB, expected, key)?,
            "rotational" => match_bool(disk.rotational, expected, key)?,
            "name" => {
                let normalise = |n: &str| if n.starts_with('/') { n.to_owned() } else { format!("/dev/{n}") };
                match_str(Some(&normalise(&disk.name)), expected, key, &|v| normalise(v), true)?
            }
            _ => {
                let value = match key.as_str() {
                    "model" => Some(disk.model.as_str()),
                    "vendor" => disk.vendor.as_deref(),
                    "serial" => disk.serial.as_deref(),
                    "wwn" => disk.wwn.as_deref(),
                    "wwn_with_extension" => disk.wwn_with_extension.as_deref(),
                    "wwn_vendor_extension" => disk.wwn_vendor_extension.as_deref(),
                    "hctl" => disk.hctl.as_deref(),
                    "by_path" => disk.by_path.as_deref(),
                    _ => None,
                };
                match_str(value.map(str::to_owned).as_ref(), expected, key, &|v| v.to_owned(), false)?
            }
        };
        if !ok {
            return Ok(false);
        }
    }
    Ok(true)
}

const OPERATORS: &[&str] =
    &["s==", "s!=", "s>=", "s<=", "s>", "s<", "<in>", "<or>", "==", "!=", ">=", "<=", ">", "<"];

/// Splits `">= 4"` into (`>=`, `4`); no operator gives `None`.
fn operator(text: &str) -> (Option<&'static str>, &str) {
    let text = text.trim();
    for op in OPERATORS {
        if let Some(rest) = text.strip_prefix(op) {
            return (Some(op), rest.trim());
        }
    }
    (None, text)
}

fn bad(key: &str, value: &Value) -> CommandError {
    CommandError::invalid_params(format!("Invalid value for root device hint {key}: {value}"))
}

fn match_int(actual: u64, expected: &Value, key: &str) -> Result<bool, CommandError> {
    let text = match expected {
        Value::Number(n) => n.to_string(),
        Value::String(s) => s.clone(),
        other => return Err(bad(key, other)),
    };
    let parse = |s: &str| s.trim().parse::<u64>().map_err(|_| bad(key, expected));
    let (op, rest) = operator(&text);
    Ok(match op {
        None | Some("==" | "s==") => actual == parse(rest)?,
        Some("!=" | "s!=") => actual != parse(rest)?,
        Some(">=" | "s>=") => actual >= parse(rest)?,
        Some("<=" | "s<=") => actual <= parse(rest)?,
        Some(">" | "s>") => actual > parse(rest)?,
        Some("<" | "s<") => actual < parse(rest)?,
        Some("<or>") => {
            let mut any = false;
            for choice in rest.split("<or>") {
                any |= actual == parse(choice)?;
            }
            any
        }
        Some(_) => return Err(bad(key, expected)),
    })
}

fn match_bool(actual: bool, expected: &Value, key: &str) -> Result<bool, CommandError> {
    let wanted = match expected {
        Value::Bool(b) => *b,
        Value::Number(n) => n.as_u64() == Some(1),
        Value::String(s) => match s.trim().to_ascii_lowercase().as_str() {
            "true" | "1" | "yes" | "on" | "y" => true,
            "false" | "0" | "no" | "off" | "n" => false,
            _ => return Err(bad(key, expected)),
        },
        other => return Err(bad(key, other)),
    };
    Ok(actual == wanted)
}

fn match_str(
    actual: Option<&String>,
    expected: &Value,
    key: &str,
    normalise: &dyn Fn(&str) -> String,
    case_sensitive: bool,
) -> Result<bool, CommandError> {
    let Value::String(text) = expected else {
        if let Value::Number(n) = expected {
            return match_str(actual, &Value::String(n.to_string()), key, normalise, case_sensitive);
        }
        return Err(bad(key, expected));
    };
    let Some(actual) = actual else { return Ok(false) };
    let fold = |s: &str| if case_sensitive { s.to_owned() } else { s.to_lowercase() };
    let actual = fold(actual);
    let want = |s: &str| fold(&normalise(s.trim()));
    let (op, rest) = operator(text);
    Ok(match op {
        None | Some("s==" | "==") => actual == want(rest),
        Some("s!=" | "!=") => actual != want(rest),
        Some("<in>") => actual.contains(&fold(rest.trim())),
        Some("<or>") => rest.split("<or>").any(|choice| actual == want(choice)),
        Some("s>=" | ">=") => actual >= want(rest),
        Some("s<=" | "<=") => actual <= want(rest),
        Some("s>" | ">") => actual > want(rest),
        Some("s<" | "<") => actual < want(rest),
        Some(_) => return Err(bad(key, expected)),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn disk(name: &str, gib: u64, model: &str, rotational: bool) -> BlockDevice {
        BlockDevice {
            name: name.into(),
            model: model.into(),
            size: gib * GIB,
            rotational,
            serial: Some(format!("SN-{}", name.trim_start_matches("/dev/"))),
            wwn: Some(format!("0x5000{}", name.len())),
            vendor: Some("ATA".into()),
            hctl: Some("1:0:0:0".into()),
            by_path: Some(format!("/dev/disk/by-path/pci-{}", name.trim_start_matches("/dev/"))),
            ..BlockDevice::default()
        }
    }

    fn disks() -> Vec<BlockDevice> {
        vec![
            disk("/dev/sda", 500, "Big Spinner", true),
            disk("/dev/sdb", 100, "Fast SSD", false),
            disk("/dev/sdc", 2, "Tiny", false),
            BlockDevice { name: "/dev/vda".into(), size: 64 << 20, ..BlockDevice::default() },
        ]
    }

    fn check(hints: Value, expected: Result<&str, &str>) {
        let hints = (!hints.is_null()).then_some(hints);
        let got = choose(&disks(), hints.as_ref(), DEFAULT_MIN_ROOT_DISK_BYTES);
        match (got, expected) {
            (Ok(disk), Ok(name)) => assert_eq!(disk.name, name, "hints {hints:?}"),
            (Err(error), Err(kind)) => assert_eq!(error.kind, kind, "hints {hints:?}: {error}"),
            (got, expected) => panic!("hints {hints:?}: got {got:?}, expected {expected:?}"),
        }
    }

    #[test]
    fn hints_select_disks_as_ironic_lib_does() {
        check(Value::Null, Ok("/dev/sdb"));
        check(json!({}), Ok("/dev/sdb"));
        check(json!({"size": 500}), Ok("/dev/sda"));
        check(json!({"size": "500"}), Ok("/dev/sda"));
        check(json!({"size": ">= 200"}), Ok("/dev/sda"));
        check(json!({"size": "< 50"}), Ok("/dev/sdc"));
        check(json!({"size": "<= 2"}), Ok("/dev/sdc"));
        check(json!({"size": "> 100"}), Ok("/dev/sda"));
        check(json!({"size": "== 100"}), Ok("/dev/sdb"));
        check(json!({"size": "<or> 7 <or> 100"}), Ok("/dev/sdb"));
        check(json!({"model": "fast ssd"}), Ok("/dev/sdb"));
        check(json!({"model": "<in> spin"}), Ok("/dev/sda"));
        check(json!({"model": "<or> Nope <or> Tiny"}), Ok("/dev/sdc"));
        check(json!({"model": "s== Tiny"}), Ok("/dev/sdc"));
        check(json!({"serial": "SN-sdc"}), Ok("/dev/sdc"));
        check(json!({"wwn": "0x50008"}), Ok("/dev/sda"));
        check(json!({"vendor": "ata", "rotational": false}), Ok("/dev/sdb"));
        check(json!({"rotational": "true"}), Ok("/dev/sda"));
        check(json!({"name": "/dev/vda"}), Ok("/dev/vda"));
        check(json!({"name": "vda"}), Ok("/dev/vda"));
        check(json!({"hctl": "1:0:0:0", "size": 2}), Ok("/dev/sdc"));
        check(json!({"by_path": "/dev/disk/by-path/pci-sdb"}), Ok("/dev/sdb"));
        check(json!({"name": "/dev/nvme0n1"}), Err("DeviceNotFound"));
        check(json!({"size": "big"}), Err("InvalidCommandParamsError"));
        check(json!({"colour": "red"}), Err("InvalidCommandParamsError"));
        check(json!("sda"), Err("InvalidCommandParamsError"));
    }

    #[test]
    fn without_hints_the_minimum_size_decides() {
        let tiny = vec![BlockDevice { name: "/dev/vda".into(), size: 64 << 20, ..BlockDevice::default() }];
        let refused = choose(&tiny, None, DEFAULT_MIN_ROOT_DISK_BYTES).expect_err("64 MiB is below 4 GiB");
        assert!(refused.details.contains("/dev/vda"), "{refused}");
        assert_eq!(choose(&tiny, None, 32 << 20).expect("a lower minimum").name, "/dev/vda");
    }
}
