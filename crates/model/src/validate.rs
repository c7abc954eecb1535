//! Pure input rules Ironic applies to identifiers: node names, trait names, MAC
//! addresses and UUID-or-name path segments.
//!
//! Each rule is Ironic's own (`ironic/common/utils.py`, `api/controllers/v1/utils.py`,
//! oslo.utils `uuidutils`/`netutils`), because clients rely on the same inputs being
//! accepted and refused with the same messages. Python's `re.match(...$)` also
//! accepts one trailing newline; Ferric does not carry that accident over.

use std::collections::HashSet;
use std::sync::LazyLock;

use uuid::Uuid;

use crate::error::{IdentError, InvalidMac, NodeNameError, TraitError, TraitErrorReason};
use crate::microversion::{Version, known};

/// Words the nodes controller routes itself, so no node may be named after them
/// (`get_controller_reserved_names(NodesController)`: sub-controllers in name
/// order, then custom actions). The order is the one Ironic's message prints.
pub const RESERVED_NODE_NAMES: &[&str] =
    &["maintenance", "management", "states", "vendor_passthru", "detail", "validate"];

/// The longest logical name, hostname or trait Ironic accepts.
pub const MAX_NAME_LENGTH: usize = 255;

/// The pattern a non-standard trait must match (`TRAITS_SCHEMA`), as Ironic's
/// schema error quotes it.
pub const CUSTOM_TRAIT_PATTERN: &str = "^CUSTOM_[A-Z0-9_]+$";

/// The os-traits standard trait list, one name a line, `#` comments.
const OS_TRAITS: &str = include_str!("../data/os-traits.txt");

static STANDARD_TRAITS: LazyLock<HashSet<&'static str>> = LazyLock::new(|| {
    OS_TRAITS.lines().map(str::trim).filter(|line| !line.is_empty() && !line.starts_with('#')).collect()
});

/// The standard (os-traits) trait names Ironic accepts without the `CUSTOM_` prefix.
pub fn standard_traits() -> impl Iterator<Item = &'static str> {
    STANDARD_TRAITS.iter().copied()
}

/// Whether `name` is one of the standard os-traits names.
pub fn is_standard_trait(name: &str) -> bool {
    STANDARD_TRAITS.contains(name)
}

/// Whether `name` matches `^CUSTOM_[A-Z0-9_]+$`.
pub fn is_custom_trait(name: &str) -> bool {
    name.strip_prefix("CUSTOM_").is_some_and(|rest| {
        !rest.is_empty() && rest.bytes().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_')
    })
}

/// Checks a trait name against Ironic's `TRAITS_SCHEMA`: a standard trait, or a
/// custom one of 1..=255 characters.
pub fn validate_trait(name: &str) -> Result<(), TraitError> {
    if is_standard_trait(name) {
        return Ok(());
    }
    let reason = match name.chars().count() {
        0 => TraitErrorReason::TooShort,
        n if n > MAX_NAME_LENGTH => TraitErrorReason::TooLong,
        _ if is_custom_trait(name) => return Ok(()),
        _ => TraitErrorReason::NoMatch,
    };
    Err(TraitError { value: name.to_owned(), reason })
}

/// Ironic's `is_valid_logical_name` (from 1.10): 1..=255 RFC 3986 unreserved
/// characters, `ALPHA / DIGIT / "-" / "." / "_" / "~"`.
pub fn is_valid_logical_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= MAX_NAME_LENGTH
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'))
}

/// Ironic's old `is_hostname_safe` (before 1.10): lowercase RFC 952/1123-ish
/// hostnames, `^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9-_]{0,62}[a-z0-9])*\.?$`.
pub fn is_hostname_safe(name: &str) -> bool {
    if name.is_empty() || name.len() > MAX_NAME_LENGTH {
        return false;
    }
    let body = name.strip_suffix('.').unwrap_or(name);
    let mut labels = body.split('.');
    let host_ok = labels.next().is_some_and(|host| label_ok(host, 63, false));
    host_ok && labels.all(|label| label_ok(label, 63, true))
}

/// One label of [`is_hostname_safe`]: ends in `[a-z0-9]`, at most `max` long. The
/// host label also starts with `[a-z0-9]` and allows `-` inside; domain labels
/// also allow `_` and may start with anything allowed inside.
fn label_ok(label: &str, max: usize, domain: bool) -> bool {
    let edge = |b: u8| b.is_ascii_lowercase() || b.is_ascii_digit();
    let inner = |b: u8| edge(b) || b == b'-' || (domain && b == b'_');
    let bytes = label.as_bytes();
    match (bytes.first(), bytes.last()) {
        (Some(&first), Some(&last)) => {
            bytes.len() <= max && (domain || edge(first)) && edge(last) && bytes.iter().all(|&b| inner(b))
        }
        _ => false,
    }
}

/// The logical-name rule in force at `version`: hostname-like before 1.10, RFC 3986
/// unreserved from 1.10 (`api_utils.is_valid_logical_name`).
pub fn is_valid_logical_name_at(name: &str, version: Version) -> bool {
    if version < known::UNRESTRICTED_NODE_NAME { is_hostname_safe(name) } else { is_valid_logical_name(name) }
}

/// oslo.utils `uuidutils.is_uuid_like`: after dropping `urn:`/`uuid:`, outer
/// braces and every hyphen, 32 hex digits remain.
pub fn is_uuid_like(text: &str) -> bool {
    uuid_from_like(text).is_some()
}

/// The UUID an [`is_uuid_like`] string denotes.
pub fn uuid_from_like(text: &str) -> Option<Uuid> {
    let stripped = text.replace("urn:", "").replace("uuid:", "");
    let hex: String = stripped.trim_matches(|c| c == '{' || c == '}').chars().filter(|&c| c != '-').collect();
    if hex.len() != 32 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    Uuid::try_parse(&hex).ok()
}

/// Ironic's node-name check on create and rename (`_check_names_acceptable`), in
/// its order: names need 1.5; the name must be a logical name for `version` and
/// not UUID-like; it must not be a reserved word.
pub fn check_node_name(name: &str, version: Version) -> Result<(), NodeNameError> {
    if version < known::NODE_NAME {
        return Err(NodeNameError::NotAcceptable);
    }
    if !is_valid_logical_name_at(name, version) || is_uuid_like(name) {
        return Err(NodeNameError::Invalid { name: name.to_owned() });
    }
    if RESERVED_NODE_NAMES.contains(&name) {
        return Err(NodeNameError::Reserved { name: name.to_owned() });
    }
    Ok(())
}

/// A path identifier resolved to what it names: Ironic looks nodes up by UUID when
/// the text is UUID-like, else by name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ident {
    /// Look up by UUID.
    Uuid(Uuid),
    /// Look up by logical name.
    Name(String),
}

/// Ironic's `get_rpc_node` identifier rules: a UUID-like text is a UUID; from 1.5
/// a logical name (for `version`) is a name; anything else is
/// `InvalidUuidOrName`, or before 1.5 `NodeNotFound` as Juno answered.
pub fn parse_node_ident(text: &str, version: Version) -> Result<Ident, IdentError> {
    if let Some(uuid) = uuid_from_like(text) {
        return Ok(Ident::Uuid(uuid));
    }
    if version < known::NODE_NAME {
        return Err(IdentError::NodeNotFound { node: text.to_owned() });
    }
    if is_valid_logical_name_at(text, version) {
        return Ok(Ident::Name(text.to_owned()));
    }
    Err(IdentError::InvalidUuidOrName { name: text.to_owned() })
}

/// Ironic's `args.uuid_or_name` for other resources (ports, portgroups,
/// allocations, templates...): UUID-like, or an unrestricted logical name.
pub fn parse_uuid_or_name(text: &str) -> Result<Ident, IdentError> {
    if let Some(uuid) = uuid_from_like(text) {
        return Ok(Ident::Uuid(uuid));
    }
    if is_valid_logical_name(text) {
        return Ok(Ident::Name(text.to_owned()));
    }
    Err(IdentError::InvalidUuidOrName { name: text.to_owned() })
}

/// Ironic's `validate_and_normalize_mac`: six colon-separated hex octets, any
/// case; returned lowercase, the form Ironic stores and compares.
pub fn normalize_mac(text: &str) -> Result<String, InvalidMac> {
    let bytes = text.as_bytes();
    let well_formed = bytes.len() == 17
        && bytes.iter().enumerate().all(|(i, &b)| if i % 3 == 2 { b == b':' } else { b.is_ascii_hexdigit() });
    if well_formed { Ok(text.to_ascii_lowercase()) } else { Err(InvalidMac { value: text.to_owned() }) }
}

/// Python's `repr` of a list of strings, `['a', 'b']`, as Ironic's messages
/// print lists.
pub fn python_list<S: AsRef<str>>(items: &[S]) -> String {
    let inner: Vec<String> = items.iter().map(|item| python_repr(item.as_ref())).collect();
    format!("[{}]", inner.join(", "))
}

/// Python's `repr()` of a string, as Ironic's jsonschema messages quote values:
/// single quotes unless the text holds `'` and no `"`, with backslash escapes.
pub fn python_repr(text: &str) -> String {
    let quote = if text.contains('\'') && !text.contains('"') { '"' } else { '\'' };
    let mut out = String::with_capacity(text.len() + 2);
    out.push(quote);
    for c in text.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c == quote => {
                out.push('\\');
                out.push(c);
            }
            c if c.is_control() => {
                let code = u32::from(c);
                let escaped = match code {
                    0..=0xff => format!("\\x{code:02x}"),
                    0x100..=0xffff => format!("\\u{code:04x}"),
                    _ => format!("\\U{code:08x}"),
                };
                out.push_str(&escaped);
            }
            c => out.push(c),
        }
    }
    out.push(quote);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const V1_1: Version = Version::new(1, 1);
    const V1_5: Version = Version::new(1, 5);
    const V1_9: Version = Version::new(1, 9);
    const V1_10: Version = Version::new(1, 10);

    #[test]
    fn logical_names_are_rfc3986_unreserved() {
        for good in ["curl-node-0", "a", "Node_1.rack~2", "UPPER", "x".repeat(255).as_str()] {
            assert!(is_valid_logical_name(good), "{good}");
        }
        for bad in ["", "has space", "slash/", "colon:", "ümlaut", "x".repeat(256).as_str(), "new\nline"] {
            assert!(!is_valid_logical_name(bad), "{bad:?}");
        }
    }

    #[test]
    fn old_names_are_hostname_like() {
        for good in ["node-1", "a", "node.example.com", "node.example.com.", "n0.d_m.x", "node.-x"] {
            assert!(is_hostname_safe(good), "{good}");
        }
        for bad in ["", "Node", "-node", "node-", "node_1", "node~1", ".node", "node..x", "node.x-", "a.b_"] {
            assert!(!is_hostname_safe(bad), "{bad:?}");
        }
        assert!(is_hostname_safe(&format!("{}.b", "a".repeat(63))));
        assert!(!is_hostname_safe(&"a".repeat(64)));
    }

    #[test]
    fn node_name_checks_in_ironic_order() {
        assert_eq!(check_node_name("curl-node-old", V1_1), Err(NodeNameError::NotAcceptable));
        assert_eq!(check_node_name("curl-node-0", V1_5), Ok(()));
        assert_eq!(check_node_name("Node_1", V1_9), Err(NodeNameError::Invalid { name: "Node_1".into() }));
        assert_eq!(check_node_name("Node_1", V1_10), Ok(()));
        let uuid = "fe94775f-8ff5-4ccb-9929-ff381a8f597b";
        assert_eq!(check_node_name(uuid, V1_10), Err(NodeNameError::Invalid { name: uuid.into() }));
        let reserved = check_node_name("detail", V1_10);
        assert_eq!(reserved, Err(NodeNameError::Reserved { name: "detail".into() }));
        assert_eq!(
            reserved.err().map(|e| e.to_string()).unwrap_or_default(),
            "The word \"detail\" is reserved and can not be used as a node name. Reserved words are: \
             maintenance, management, states, vendor_passthru, detail, validate."
        );
        let invalid = NodeNameError::Invalid { name: "a b".into() };
        assert_eq!(invalid.to_string(), "Cannot create node with invalid name 'a b'");
        assert_eq!(invalid.update_message("n1"), "Node n1: Cannot change name to invalid name 'a b'");
    }

    #[test]
    fn uuid_like_follows_oslo() {
        let canonical = "fe94775f-8ff5-4ccb-9929-ff381a8f597b";
        let expected = Uuid::try_parse(canonical).ok();
        for like in [
            canonical,
            "FE94775F-8FF5-4CCB-9929-FF381A8F597B",
            "fe94775f8ff54ccb9929ff381a8f597b",
            "{fe94775f-8ff5-4ccb-9929-ff381a8f597b}",
            "urn:uuid:fe94775f-8ff5-4ccb-9929-ff381a8f597b",
            "fe94-775f8ff5-4ccb-9929-ff381a8f597b",
        ] {
            assert_eq!(uuid_from_like(like), expected, "{like}");
        }
        for unlike in
            ["", "curl-node-0", "fe94775f-8ff5-4ccb-9929-ff381a8f597", "ge94775f-8ff5-4ccb-9929-ff381a8f597b"]
        {
            assert!(!is_uuid_like(unlike), "{unlike}");
        }
    }

    #[test]
    fn node_idents_by_version() {
        let uuid = "fe94775f-8ff5-4ccb-9929-ff381a8f597b";
        assert!(matches!(parse_node_ident(uuid, V1_1), Ok(Ident::Uuid(_))));
        assert_eq!(parse_node_ident("curl-node-0", V1_5), Ok(Ident::Name("curl-node-0".into())));
        assert_eq!(
            parse_node_ident("curl-node-0", V1_1),
            Err(IdentError::NodeNotFound { node: "curl-node-0".into() })
        );
        assert_eq!(
            parse_node_ident("Upper_Case", V1_9),
            Err(IdentError::InvalidUuidOrName { name: "Upper_Case".into() })
        );
        assert_eq!(parse_node_ident("Upper_Case", V1_10), Ok(Ident::Name("Upper_Case".into())));
        let bad = parse_node_ident("bad name", V1_10);
        assert_eq!(bad.as_ref().map_err(IdentError::http_status), Err(400));
        assert_eq!(
            bad.err().map(|e| e.to_string()).unwrap_or_default(),
            "Expected a logical name or UUID but received bad name."
        );
        assert_eq!(parse_uuid_or_name("port~1"), Ok(Ident::Name("port~1".into())));
        assert!(parse_uuid_or_name("a/b").is_err());
    }

    #[test]
    fn macs_are_colon_hex_and_lowercased() {
        assert_eq!(normalize_mac("52:54:00:AA:bb:01"), Ok("52:54:00:aa:bb:01".into()));
        for bad in [
            "not-a-mac",
            "52-54-00-aa-bb-01",
            "525400aabb01",
            "52:54:00:aa:bb",
            "52:54:00:aa:bb:01:02",
            "52:54:00:aa:bb:0g",
            "",
        ] {
            assert_eq!(normalize_mac(bad), Err(InvalidMac { value: bad.into() }), "{bad}");
        }
        let err = InvalidMac { value: "not-a-mac".into() };
        assert_eq!(err.api_message("address"), "Expected valid MAC address for address: not-a-mac");
    }

    #[test]
    fn traits_follow_the_schema() {
        assert_eq!(validate_trait("CUSTOM_GOLD"), Ok(()));
        assert_eq!(validate_trait("HW_CPU_X86_AVX2"), Ok(()));
        assert_eq!(validate_trait("COMPUTE_ARCH_X86_64"), Ok(()));
        assert!(standard_traits().count() > 300);
        assert!(standard_traits().all(|t| !t.starts_with('#')));
        assert!(!is_custom_trait("CUSTOM_"));
        assert!(!is_custom_trait("CUSTOM_lower"));
        let err = validate_trait("not_a_valid_trait").err();
        // Transcript 60-trait-bad-name-400.
        assert_eq!(
            err.map(|e| e.to_string()).unwrap_or_default(),
            "Schema error for trait: 'not_a_valid_trait' is not valid under any of the given schemas. \
             Possible root cause: 'not_a_valid_trait' does not match '^CUSTOM_[A-Z0-9_]+$'"
        );
        assert_eq!(validate_trait("").map_err(|e| e.reason), Err(TraitErrorReason::TooShort));
        let long = format!("CUSTOM_{}", "A".repeat(249));
        assert_eq!(validate_trait(&long).map_err(|e| e.reason), Err(TraitErrorReason::TooLong));
        assert_eq!(validate_trait(&long[..255]), Ok(()));
    }

    #[test]
    fn python_repr_quotes_like_python() {
        assert_eq!(python_repr("abc"), "'abc'");
        assert_eq!(python_repr("it's"), "\"it's\"");
        assert_eq!(python_repr("'\""), "'\\'\"'");
        assert_eq!(python_repr("a\\b\n\u{1}"), "'a\\\\b\\n\\x01'");
    }
}
