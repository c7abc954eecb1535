//! Ironic's JSON conventions, as serde helpers the resource structs share.
//!
//! Two habits of Ironic's API show up in every resource:
//!
//! - Timestamps are Python's `datetime.isoformat()` of a UTC value:
//!   `2026-11-24T22:55:58.535818+00:00`, with the fraction left out when it is zero
//!   (`2019-02-20T09:43:58+00:00`). chrono's default (`...Z`, nanoseconds) is valid
//!   RFC 3339 but not what clients have seen for a decade, so [`timestamp`] and
//!   [`opt_timestamp`] write Ironic's form and read any RFC 3339 offset (the
//!   upstream samples use `+11:11`) or a naive UTC time.
//! - Dictionary and list fields are never `null` in responses (`object_to_dict`
//!   turns `None` into `{}` or `[]`), but stored rows may hold `NULL`.
//!   [`null_as_default`] reads `null` as the empty value so one struct serves both.

use chrono::{DateTime, NaiveDateTime, SecondsFormat, Timelike, Utc};
use serde::{Deserialize, Deserializer, Serializer};

/// Formats a UTC time as Python's `isoformat()` does for an aware datetime.
///
/// Microsecond precision (Python has no more), fraction omitted when zero.
pub fn isoformat(value: &DateTime<Utc>) -> String {
    let micros = value.nanosecond() / 1_000 % 1_000_000;
    let seconds = value.to_rfc3339_opts(SecondsFormat::Secs, false);
    // `to_rfc3339_opts(.., false)` ends in "+00:00"; splice the fraction before it.
    match seconds.strip_suffix("+00:00") {
        Some(base) if micros != 0 => format!("{base}.{micros:06}+00:00"),
        Some(base) => format!("{base}+00:00"),
        None => seconds,
    }
}

/// Parses the timestamps Ironic and its samples use: RFC 3339 with any offset, or a
/// naive ISO time taken as UTC (as Ironic stores in `driver_internal_info`).
pub fn parse_timestamp(text: &str) -> Option<DateTime<Utc>> {
    if let Ok(aware) = DateTime::parse_from_rfc3339(text) {
        return Some(aware.with_timezone(&Utc));
    }
    NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S%.f").ok().map(|naive| naive.and_utc())
}

/// Serde adapter for a required timestamp field.
pub mod timestamp {
    use super::*;

    /// Writes Python's `isoformat()` form.
    pub fn serialize<S: Serializer>(value: &DateTime<Utc>, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&isoformat(value))
    }

    /// Reads any form [`parse_timestamp`] accepts.
    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<DateTime<Utc>, D::Error> {
        let text = String::deserialize(deserializer)?;
        parse_timestamp(&text).ok_or_else(|| serde::de::Error::custom(format!("invalid timestamp {text:?}")))
    }
}

/// Serde adapter for a nullable timestamp field.
pub mod opt_timestamp {
    use super::*;

    /// Writes Python's `isoformat()` form, or `null`.
    pub fn serialize<S: Serializer>(value: &Option<DateTime<Utc>>, serializer: S) -> Result<S::Ok, S::Error> {
        match value {
            Some(value) => serializer.serialize_str(&isoformat(value)),
            None => serializer.serialize_none(),
        }
    }

    /// Reads `null` or any form [`parse_timestamp`] accepts.
    pub fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Option<DateTime<Utc>>, D::Error> {
        match Option::<String>::deserialize(deserializer)? {
            None => Ok(None),
            Some(text) => parse_timestamp(&text)
                .map(Some)
                .ok_or_else(|| serde::de::Error::custom(format!("invalid timestamp {text:?}"))),
        }
    }
}

/// Reads `null` as the type's default (`{}`, `[]`, `false`, `""`).
pub fn null_as_default<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de> + Default,
{
    Ok(Option::<T>::deserialize(deserializer)?.unwrap_or_default())
}

/// A JSON object: Ironic's free-form dictionary fields (`extra`, `driver_info`, ...).
pub type Object = serde_json::Map<String, serde_json::Value>;

#[cfg(test)]
mod tests {
    use super::*;

    fn check(input: &str, expected: &str) {
        let parsed = parse_timestamp(input).unwrap_or_else(|| panic!("unparsed {input}"));
        assert_eq!(isoformat(&parsed), expected, "{input}");
    }

    #[test]
    fn timestamps_round_trip_as_python_isoformat() {
        check("2026-11-24T22:55:58.535818+00:00", "2026-11-24T22:55:58.535818+00:00");
        check("2019-02-20T09:43:58+00:00", "2019-02-20T09:43:58+00:00");
        check("2016-08-18T22:28:48.643434+11:11", "2016-08-18T11:17:48.643434+00:00");
        check("2026-11-24T22:56:02.791640", "2026-11-24T22:56:02.791640+00:00");
        check("2026-11-24T22:56:02.000001Z", "2026-11-24T22:56:02.000001+00:00");
        // Nanoseconds beyond Python's precision are cut, not rounded.
        check("2026-11-24T22:56:02.123456789Z", "2026-11-24T22:56:02.123456+00:00");
        assert_eq!(parse_timestamp("yesterday"), None);
        assert_eq!(parse_timestamp(""), None);
    }
}
