//! Ironic API microversions: the version type, every version Ironic defines, and
//! which resource field and endpoint appears at which version.
//!
//! Ironic gates every field and endpoint on the request's microversion; a client
//! pinned to 1.89 (metal3) must see exactly the 1.89 shape. Keeping the gates here,
//! as one table per resource, means the gateway renders every version from data
//! instead of copying handlers per version.
//!
//! - [`Version`] and [`VersionRequest`]: parsing `1.38` / `latest`.
//! - [`known`]: one constant per Ironic microversion, named as Ironic names it.
//! - [`fields`]: per resource, the version each JSON field appears at.
//! - [`endpoints`]: the version each endpoint appears at.

pub mod endpoints;
pub mod fields;
pub mod known;

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::error::ParseError;

pub use endpoints::{Endpoint, endpoint_for_path, endpoint_min_version, root_links};
pub use fields::{Resource, field_min_version, fields_visible};
pub use known::{MAX as MAX_KNOWN, MIN};

/// An API microversion `major.minor`; ordered as numbers, so `1.9 < 1.10`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Version {
    /// Always 1 for Ironic's v1 API.
    pub major: u32,
    /// The microversion proper.
    pub minor: u32,
}

impl Version {
    /// Builds a version; `const` so gate tables are plain constants.
    pub const fn new(major: u32, minor: u32) -> Self {
        Self { major, minor }
    }

    /// Whether a request at `self` may use something introduced at `since`.
    pub fn allows(self, since: Version) -> bool {
        self >= since
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.major, self.minor)
    }
}

impl FromStr for Version {
    type Err = ParseError;

    /// Parses `MAJOR.MINOR`, both plain decimal numbers (`1.38`; not `1.038x`,
    /// `v1.38` or `1`).
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let invalid = || ParseError::new("microversion", text);
        let (major, minor) = text.split_once('.').ok_or_else(invalid)?;
        let number = |part: &str| -> Result<u32, ParseError> {
            if part.is_empty() || !part.bytes().all(|b| b.is_ascii_digit()) {
                return Err(invalid());
            }
            part.parse().map_err(|_| invalid())
        };
        Ok(Self::new(number(major)?, number(minor)?))
    }
}

impl Serialize for Version {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Version {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// What a client asked for in a version header: a number, or `latest` (which the
/// server resolves to its own maximum).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VersionRequest {
    /// `latest`, any case.
    Latest,
    /// An explicit version, not yet checked against the served range.
    Exact(Version),
}

impl VersionRequest {
    /// The version to serve, given the server's maximum.
    pub fn resolve(self, served_max: Version) -> Version {
        match self {
            Self::Latest => served_max,
            Self::Exact(version) => version,
        }
    }
}

impl FromStr for VersionRequest {
    type Err = ParseError;

    /// Parses a header value, ignoring surrounding whitespace.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let text = text.trim();
        if text.eq_ignore_ascii_case("latest") {
            return Ok(Self::Latest);
        }
        text.parse().map(Self::Exact)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_orders_like_numbers() {
        assert_eq!("1.38".parse(), Ok(Version::new(1, 38)));
        assert_eq!(Version::new(1, 115).to_string(), "1.115");
        assert!(Version::new(1, 9) < Version::new(1, 10));
        assert!(Version::new(2, 0) > Version::new(1, 115));
        for bad in
            ["", "1", "1.", ".1", "a.b", "1.x", "1.3.4", "v1.2", "+1.2", "1.-2", " 1.2", "99999999999.1"]
        {
            assert!(bad.parse::<Version>().is_err(), "{bad:?}");
        }
    }

    #[test]
    fn requests_resolve_latest() {
        assert_eq!("LATEST".parse(), Ok(VersionRequest::Latest));
        assert_eq!(" 1.2 ".parse(), Ok(VersionRequest::Exact(Version::new(1, 2))));
        assert_eq!(VersionRequest::Latest.resolve(MAX_KNOWN), MAX_KNOWN);
        assert!("abc".parse::<VersionRequest>().is_err());
    }

    #[test]
    fn history_is_contiguous_and_ends_at_max() {
        for (i, entry) in known::HISTORY.iter().enumerate() {
            assert_eq!(entry.version, Version::new(1, i as u32 + 1), "{}", entry.name);
        }
        assert_eq!(known::HISTORY.last().map(|m| m.version), Some(MAX_KNOWN));
        assert_eq!(MAX_KNOWN, Version::new(1, 115));
        assert_eq!(MIN, Version::new(1, 1));
    }

    /// The reference version history (`versions.py` comments, up to 1.112).
    const REFERENCE: &str = include_str!("../../data/microversions.txt");

    /// `(minor, change note)` for each `# v1.N: note` entry, continuation lines
    /// joined with single spaces.
    fn reference_entries() -> Vec<(u32, String)> {
        let mut entries: Vec<(u32, String)> = Vec::new();
        for line in REFERENCE.lines() {
            let body = line.trim_start_matches('#').trim();
            let head = body.strip_prefix("v1.").and_then(|rest| rest.split_once(':'));
            match head.and_then(|(minor, note)| Some((minor.parse::<u32>().ok()?, note.trim()))) {
                Some((minor, note)) => entries.push((minor, note.to_owned())),
                None => {
                    if let Some((_, note)) = entries.last_mut() {
                        note.push(' ');
                        note.push_str(body);
                    }
                }
            }
        }
        entries
    }

    #[test]
    fn history_matches_the_reference_file() {
        let entries = reference_entries();
        let minors: Vec<u32> = entries.iter().map(|(minor, _)| *minor).collect();
        assert_eq!(minors, (0..=112).collect::<Vec<_>>());
        for (minor, note) in entries.iter().filter(|(minor, _)| *minor >= 1) {
            let known = &known::HISTORY[*minor as usize - 1];
            assert_eq!(known.version, Version::new(1, *minor));
            // The reference's first line is the start of the note; 1.1 and 1.14
            // wrap lists that the table flattens.
            let first_words: String = note.split_whitespace().take(4).collect::<Vec<_>>().join(" ");
            let change: String = known.change.split_whitespace().collect::<Vec<_>>().join(" ");
            assert!(change.starts_with(&first_words), "1.{minor}: {change:?} vs {note:?}");
        }
        // 1.113-1.115 come from features.md (newer than the reference file).
        assert_eq!(known::NODE_HISTORY_PROJECT, Version::new(1, 113));
        assert_eq!(known::FIRMWARE_IDENTITY, Version::new(1, 114));
        assert_eq!(known::NODE_HISTORY_FIELDS, Version::new(1, 115));
    }
}
