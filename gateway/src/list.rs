//! The paging and sorting arguments every Ironic collection accepts, validated
//! with Ironic's messages, and the page cut that goes with them.

use std::cmp::Ordering;

use serde::Deserialize;
use serde_json::Value;

use crate::ApiError;

/// Ironic's `[api] max_limit`: the default page size and the largest one.
pub const MAX_LIMIT: usize = 1000;

/// The raw paging arguments of a collection request.
#[derive(Debug, Default, Deserialize)]
pub struct PageQuery {
    /// Page size; absent means [`MAX_LIMIT`].
    pub limit: Option<String>,
    /// UUID of the last item of the previous page.
    pub marker: Option<String>,
    /// Field to sort by; `id` (creation order) by default.
    pub sort_key: Option<String>,
    /// `asc` or `desc`.
    pub sort_dir: Option<String>,
}

/// Validated paging arguments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page {
    /// Items per page, 1..=[`MAX_LIMIT`].
    pub limit: usize,
    /// Start after this UUID.
    pub marker: Option<String>,
    /// Sort field; `id` is creation order.
    pub sort_key: String,
    /// Descending when true.
    pub descending: bool,
}

impl PageQuery {
    /// Validates against Ironic's rules; `unsortable` are fields Ironic refuses to
    /// sort by (JSON blobs).
    pub fn validate(&self, unsortable: &[&str]) -> Result<Page, ApiError> {
        let limit = match self.limit.as_deref() {
            None => MAX_LIMIT,
            Some(raw) => {
                let value: i64 = raw.parse().map_err(|_| {
                    ApiError::bad_request(format!(
                        "Invalid input for field/attribute limit. Value: '{raw}'. unable to convert to int"
                    ))
                })?;
                if value <= 0 {
                    return Err(ApiError::bad_request("Limit must be positive"));
                }
                usize::try_from(value).unwrap_or(MAX_LIMIT).min(MAX_LIMIT)
            }
        };
        let sort_dir = self.sort_dir.as_deref().unwrap_or("asc");
        let descending = match sort_dir {
            "asc" => false,
            "desc" => true,
            other => {
                return Err(ApiError::bad_request(format!(
                    "Invalid sort direction: {other}. Acceptable values are 'asc' or 'desc'"
                )));
            }
        };
        let sort_key = self.sort_key.clone().unwrap_or_else(|| "id".to_owned());
        if unsortable.contains(&sort_key.as_str()) {
            return Err(ApiError::bad_request(format!(
                "The sort_key value {sort_key} is an invalid field for sorting"
            )));
        }
        Ok(Page { limit, marker: self.marker.clone(), sort_key, descending })
    }
}

/// One item to page over: its UUID (the marker), its creation order (what
/// `sort_key=id` means), the value of the sort field when sorting by another,
/// and the item itself.
#[derive(Debug, Clone)]
pub struct Row<T> {
    /// The marker key.
    pub uuid: String,
    /// Creation order.
    pub order: i64,
    /// The item's value of `sort_key` (`None` when sorting by `id`).
    pub sort_value: Option<Value>,
    /// What is being listed.
    pub item: T,
}

impl Page {
    /// The value to sort `item` by: nothing for creation order, else the field
    /// of its JSON form (computed only when needed: it costs a serialization).
    pub fn sort_value<T: serde::Serialize>(&self, item: &T) -> Option<Value> {
        if self.sort_key == "id" {
            return None;
        }
        serde_json::to_value(item).ok().and_then(|mut doc| doc.get_mut(&self.sort_key).map(Value::take))
    }
}

/// Sorts `rows` as asked and cuts the page after `marker`. An unknown marker is
/// Ironic's 404 for the resource, which the caller names in `not_found`.
pub fn cut<T>(
    mut rows: Vec<Row<T>>,
    page: &Page,
    not_found: impl Fn(&str) -> ApiError,
) -> Result<Vec<Row<T>>, ApiError> {
    rows.sort_by(|a, b| {
        let ordering = if page.sort_key == "id" {
            a.order.cmp(&b.order)
        } else {
            compare_json(a.sort_value.as_ref(), b.sort_value.as_ref()).then(a.order.cmp(&b.order))
        };
        if page.descending { ordering.reverse() } else { ordering }
    });
    let start = match &page.marker {
        None => 0,
        Some(marker) => rows.iter().position(|row| &row.uuid == marker).ok_or_else(|| not_found(marker))? + 1,
    };
    Ok(rows.into_iter().skip(start).take(page.limit).collect())
}

/// Orders JSON values as a database would order the column: nulls first, then
/// by value.
fn compare_json(a: Option<&Value>, b: Option<&Value>) -> Ordering {
    fn rank(value: Option<&Value>) -> u8 {
        match value {
            None | Some(Value::Null) => 0,
            Some(Value::Bool(_)) => 1,
            Some(Value::Number(_)) => 2,
            Some(Value::String(_)) => 3,
            Some(_) => 4,
        }
    }
    match (a, b) {
        (Some(Value::Bool(x)), Some(Value::Bool(y))) => x.cmp(y),
        (Some(Value::Number(x)), Some(Value::Number(y))) => {
            x.as_f64().partial_cmp(&y.as_f64()).unwrap_or(Ordering::Equal)
        }
        (Some(Value::String(x)), Some(Value::String(y))) => x.cmp(y),
        _ => rank(a).cmp(&rank(b)),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn rows() -> Vec<Row<()>> {
        ["c", "a", "b"]
            .iter()
            .enumerate()
            .map(|(i, name)| Row {
                uuid: format!("u{i}"),
                order: i as i64,
                sort_value: Some(json!(name)),
                item: (),
            })
            .collect()
    }

    fn query(limit: Option<&str>, sort_key: Option<&str>, sort_dir: Option<&str>) -> PageQuery {
        PageQuery {
            limit: limit.map(str::to_owned),
            marker: None,
            sort_key: sort_key.map(str::to_owned),
            sort_dir: sort_dir.map(str::to_owned),
        }
    }

    #[test]
    fn limits_follow_ironic() {
        assert_eq!(query(None, None, None).validate(&[]).unwrap().limit, MAX_LIMIT);
        assert_eq!(query(Some("5000"), None, None).validate(&[]).unwrap().limit, MAX_LIMIT);
        assert_eq!(
            query(Some("0"), None, None).validate(&[]).unwrap_err().message(),
            "Limit must be positive"
        );
        assert_eq!(query(Some("x"), None, None).validate(&[]).unwrap_err().status(), 400);
        let error = query(None, None, Some("up")).validate(&[]).unwrap_err();
        assert_eq!(error.message(), "Invalid sort direction: up. Acceptable values are 'asc' or 'desc'");
        let error = query(None, Some("extra"), None).validate(&["extra"]).unwrap_err();
        assert_eq!(error.message(), "The sort_key value extra is an invalid field for sorting");
    }

    #[test]
    fn default_order_is_creation_and_marker_continues() {
        let page = query(Some("2"), None, None).validate(&[]).unwrap();
        let first = cut(rows(), &page, |m| ApiError::not_found_message(m.to_owned())).unwrap();
        assert_eq!(first.iter().map(|r| r.uuid.as_str()).collect::<Vec<_>>(), ["u0", "u1"]);
        let next = Page { marker: Some("u1".into()), ..page };
        let second = cut(rows(), &next, |m| ApiError::not_found_message(m.to_owned())).unwrap();
        assert_eq!(second.iter().map(|r| r.uuid.as_str()).collect::<Vec<_>>(), ["u2"]);
    }

    #[test]
    fn sorts_by_field_both_ways_and_rejects_unknown_marker() {
        let page = query(None, Some("name"), Some("desc")).validate(&[]).unwrap();
        let sorted = cut(rows(), &page, |m| ApiError::not_found_message(m.to_owned())).unwrap();
        let names: Vec<_> = sorted.iter().map(|r| r.sort_value.as_ref().unwrap().as_str().unwrap()).collect();
        assert_eq!(names, ["c", "b", "a"]);
        let missing = Page { marker: Some("nope".into()), ..page };
        assert_eq!(
            cut(rows(), &missing, |m| ApiError::not_found_message(m.to_owned())).unwrap_err().status(),
            404
        );
    }
}
