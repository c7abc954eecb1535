//! Conversion between `google.protobuf.Struct`/`Value` and `serde_json`.
//!
//! Ironic's free-form fields (driver_info, clean steps, inventory, configdrive
//! contents) cross the mesh as `Struct`. Protobuf numbers are all `f64`, so integral
//! numbers are turned back into JSON integers on the way out (`623`, not `623.0`);
//! integers beyond ±2^53 lose precision, as they would in any JSON-in-protobuf
//! mapping. Non-finite numbers have no JSON form and are an error.

use prost_types::value::Kind;
use prost_types::{ListValue, Struct, Value};
use serde_json::{Map, Number, Value as Json};

/// Why a conversion failed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum JsonError {
    /// A `Struct` was asked for but the JSON is not an object.
    #[error("expected a JSON object, found {found}")]
    NotAnObject {
        /// The JSON type found instead.
        found: &'static str,
    },
    /// A protobuf number is NaN or infinite, which JSON cannot express.
    #[error("number {0} has no JSON representation")]
    NonFinite(f64),
}

/// Converts a JSON object to a `Struct`; infallible because every JSON value has a
/// protobuf form.
pub fn struct_from_map(map: Map<String, Json>) -> Struct {
    Struct { fields: map.into_iter().map(|(k, v)| (k, value_from_json(v))).collect() }
}

/// Converts a JSON value that must be an object (e.g. a request body field) to a
/// `Struct`.
pub fn struct_from_json(json: Json) -> Result<Struct, JsonError> {
    match json {
        Json::Object(map) => Ok(struct_from_map(map)),
        other => Err(JsonError::NotAnObject { found: json_type(&other) }),
    }
}

/// Converts any JSON value to a protobuf `Value`.
pub fn value_from_json(json: Json) -> Value {
    let kind = match json {
        Json::Null => Kind::NullValue(0),
        Json::Bool(b) => Kind::BoolValue(b),
        // as_f64 is always Some for serde_json numbers without arbitrary precision.
        Json::Number(n) => Kind::NumberValue(n.as_f64().unwrap_or(f64::NAN)),
        Json::String(s) => Kind::StringValue(s),
        Json::Array(items) => {
            Kind::ListValue(ListValue { values: items.into_iter().map(value_from_json).collect() })
        }
        Json::Object(map) => Kind::StructValue(struct_from_map(map)),
    };
    Value { kind: Some(kind) }
}

/// Converts a `Struct` back to a JSON object.
pub fn json_from_struct(s: Struct) -> Result<Map<String, Json>, JsonError> {
    s.fields.into_iter().map(|(k, v)| Ok((k, json_from_value(v)?))).collect()
}

/// Converts a protobuf `Value` to JSON; an unset kind becomes `null`.
pub fn json_from_value(value: Value) -> Result<Json, JsonError> {
    Ok(match value.kind {
        None | Some(Kind::NullValue(_)) => Json::Null,
        Some(Kind::BoolValue(b)) => Json::Bool(b),
        Some(Kind::NumberValue(n)) => Json::Number(number_from_f64(n)?),
        Some(Kind::StringValue(s)) => Json::String(s),
        Some(Kind::ListValue(list)) => {
            Json::Array(list.values.into_iter().map(json_from_value).collect::<Result<_, _>>()?)
        }
        Some(Kind::StructValue(s)) => Json::Object(json_from_struct(s)?),
    })
}

/// Largest magnitude below which every integer is exact in an `f64`.
const MAX_SAFE_INTEGER: f64 = 9_007_199_254_740_992.0;

fn number_from_f64(n: f64) -> Result<Number, JsonError> {
    if n.fract() == 0.0 && n.abs() <= MAX_SAFE_INTEGER {
        // Exact: the range check above makes the cast lossless.
        return Ok(Number::from(n as i64));
    }
    Number::from_f64(n).ok_or(JsonError::NonFinite(n))
}

fn json_type(json: &Json) -> &'static str {
    match json {
        Json::Null => "null",
        Json::Bool(_) => "a boolean",
        Json::Number(_) => "a number",
        Json::String(_) => "a string",
        Json::Array(_) => "an array",
        Json::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn round_trip(input: Json) -> Json {
        json_from_value(value_from_json(input)).unwrap_or(Json::Null)
    }

    #[test]
    fn values_round_trip() {
        let cases = [
            json!(null),
            json!(true),
            json!(623),
            json!(-1),
            json!(1.5),
            json!("ipmi"),
            json!([1, "a", null]),
            json!({"ipmi_address": "10.0.0.1", "ipmi_port": 623, "nested": {"list": [false]}}),
        ];
        for case in cases {
            assert_eq!(round_trip(case.clone()), case);
        }
    }

    #[test]
    fn struct_requires_an_object() {
        assert_eq!(struct_from_json(json!([1])), Err(JsonError::NotAnObject { found: "an array" }));
        let s = struct_from_json(json!({"a": 1})).ok();
        assert_eq!(s.map(|s| s.fields.len()), Some(1));
    }

    #[test]
    fn non_finite_numbers_are_errors() {
        let v = Value { kind: Some(Kind::NumberValue(f64::INFINITY)) };
        assert_eq!(json_from_value(v), Err(JsonError::NonFinite(f64::INFINITY)));
    }

    #[test]
    fn unset_kind_is_null() {
        assert_eq!(json_from_value(Value { kind: None }), Ok(Json::Null));
    }
}
