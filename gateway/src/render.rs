//! Turns a stored resource into the JSON Ironic would send: only the fields the
//! client's microversion knows, only those it asked for, secrets masked, and the
//! link keys (`links`, `ports`, `states`, ...) added.

use ferric_model::Version;
use ferric_model::microversion::fields::Resource;
use serde_json::{Map, Value};

use crate::ApiError;
use crate::links::self_and_bookmark;

/// Which fields a response carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Selection {
    /// Every field of the version (a `GET` of one resource, `detail=True`).
    All,
    /// The resource's short list form (a list without `detail` or `fields`).
    ListDefault,
    /// Exactly these, in this order, plus `links` (`?fields=`).
    Fields(Vec<String>),
}

impl Selection {
    /// Parses `fields` (comma separated) against `resource` at `version`: an
    /// unknown or not-yet-introduced field is Ironic's 400.
    pub fn from_query(
        resource: Resource,
        version: Version,
        fields: Option<&str>,
        detail: bool,
    ) -> Result<Selection, ApiError> {
        let Some(fields) = fields else {
            return Ok(if detail { Selection::All } else { Selection::ListDefault });
        };
        if detail {
            return Err(ApiError::bad_request(
                "Can not specify ?detail=True and fields in the same request.",
            ));
        }
        let mut wanted = Vec::new();
        for field in fields.split(',').map(str::trim).filter(|f| !f.is_empty()) {
            let known = resource.fields().iter().chain(resource.link_fields()).find(|f| f.name == field);
            match known {
                Some(f) if version >= f.since => wanted.push(field.to_owned()),
                _ => return Err(ApiError::bad_request(format!("Field {field} is not a valid field."))),
            }
        }
        Ok(Selection::Fields(wanted))
    }
}

impl Selection {
    /// The selection of a single-resource `GET`: every field unless `fields`
    /// names some.
    pub fn for_show(
        resource: Resource,
        version: Version,
        fields: Option<&str>,
    ) -> Result<Selection, ApiError> {
        match fields {
            None => Ok(Selection::All),
            Some(_) => Selection::from_query(resource, version, fields, false),
        }
    }
}

/// Where a resource's links point: its collection path and its sub-resources.
#[derive(Debug, Clone, Copy)]
pub struct Place<'a> {
    /// e.g. `nodes/<uuid>`.
    pub path: &'a str,
}

/// Renders `record` (the resource serialized with every field) for a client.
pub fn render(
    resource: Resource,
    record: &Map<String, Value>,
    version: Version,
    selection: &Selection,
    base: &str,
    place: Place<'_>,
) -> Value {
    render_with(resource, |name| record.get(name).cloned(), version, selection, base, place)
}

/// [`render`] over a field lookup, for resources whose JSON is partly cached
/// and partly derived per request (a node's `reservation` and `conductor`).
pub fn render_with(
    resource: Resource,
    field: impl Fn(&str) -> Option<Value>,
    version: Version,
    selection: &Selection,
    base: &str,
    place: Place<'_>,
) -> Value {
    let mut out = Map::new();
    for slot in plan(resource, version, selection) {
        match slot {
            Slot::Field(name) => {
                if let Some(value) = field(&name) {
                    out.insert(name, value);
                }
            }
            Slot::Link(name) => {
                let value = link_value(&name, base, place);
                out.insert(name, value);
            }
        }
    }
    Value::Object(out)
}

/// One key of a rendered resource.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Slot {
    /// A data field, copied from the resource.
    Field(String),
    /// A link key (`links`, `ports`, ...), built from the resource's place.
    Link(String),
}

/// The keys a response carries, in output order: worked out once per request,
/// then applied to every item of a list.
pub fn plan(resource: Resource, version: Version, selection: &Selection) -> Vec<Slot> {
    let mut slots = Vec::new();
    match selection {
        Selection::All => {
            slots.extend(
                resource
                    .fields()
                    .iter()
                    .filter(|f| version >= f.since)
                    .map(|f| Slot::Field(f.name.to_owned())),
            );
            slots.extend(
                resource
                    .link_fields()
                    .iter()
                    .filter(|f| version >= f.since)
                    .map(|f| Slot::Link(f.name.to_owned())),
            );
        }
        Selection::ListDefault => {
            let names = resource.default_list_fields().unwrap_or(&[]);
            slots.extend(
                resource
                    .fields()
                    .iter()
                    .filter(|f| version >= f.since && names.contains(&f.name))
                    .map(|f| Slot::Field(f.name.to_owned())),
            );
            slots.push(Slot::Link("links".to_owned()));
        }
        Selection::Fields(names) => {
            for name in names {
                if resource.link_fields().iter().any(|f| f.name == name) {
                    slots.push(Slot::Link(name.clone()));
                } else {
                    slots.push(Slot::Field(name.clone()));
                }
            }
            if !names.iter().any(|n| n == "links") {
                slots.push(Slot::Link("links".to_owned()));
            }
        }
    }
    slots
}

fn link_value(name: &str, base: &str, place: Place<'_>) -> Value {
    if name == "links" {
        self_and_bookmark(base, place.path)
    } else {
        self_and_bookmark(base, &format!("{}/{name}", place.path))
    }
}

/// A resource as a JSON object (every field), for rendering.
pub fn to_map<T: serde::Serialize>(value: &T) -> Result<Map<String, Value>, ApiError> {
    match serde_json::to_value(value) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(ApiError::internal("a resource did not serialize to an object")),
        Err(error) => Err(ApiError::internal(format!("cannot serialize a resource: {error}"))),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn unknown_and_future_fields_are_refused() {
        let v = Version::new(1, 115);
        let error = Selection::from_query(Resource::Node, v, Some("uuid,bogus"), false).unwrap_err();
        assert_eq!(error.message(), "Field bogus is not a valid field.");
        let old = Version::new(1, 40);
        assert!(Selection::from_query(Resource::Node, old, Some("owner"), false).is_err());
        assert!(Selection::from_query(Resource::Node, v, Some("owner"), false).is_ok());
    }

    #[test]
    fn fields_keep_request_order_and_add_links() {
        let record = json!({"uuid": "u", "name": "n", "power_state": null}).as_object().unwrap().clone();
        let selection = Selection::Fields(vec!["name".into(), "uuid".into()]);
        let out = render(
            Resource::Node,
            &record,
            Version::new(1, 115),
            &selection,
            "http://h",
            Place { path: "nodes/u" },
        );
        let keys: Vec<_> = out.as_object().unwrap().keys().cloned().collect();
        assert_eq!(keys, ["name", "uuid", "links"]);
        assert_eq!(out["links"][0]["href"], "http://h/v1/nodes/u");
    }
}
