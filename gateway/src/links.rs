//! Ironic's `links`: every resource points at itself twice, once versioned
//! (`rel: self`) and once unversioned (`rel: bookmark`), and lists point at their
//! next page.

use serde_json::{Value, json};

/// `[{"href": base/v1/path, "rel": "self"}, {"href": base/path, "rel": "bookmark"}]`.
///
/// `path` is relative to the API root without a leading slash, e.g.
/// `nodes/<uuid>` or `nodes/<uuid>/ports`.
pub fn self_and_bookmark(base: &str, path: &str) -> Value {
    json!([
        {"href": format!("{base}/v1/{path}"), "rel": "self"},
        {"href": format!("{base}/{path}"), "rel": "bookmark"},
    ])
}

/// The `next` URL of a page: `base/v1/<resource>?<args>limit=N&marker=M`, with the
/// other query arguments first, as Ironic builds it.
pub fn next_page(base: &str, resource: &str, args: &[(&str, String)], limit: usize, marker: &str) -> String {
    let mut query = String::new();
    for (key, value) in args {
        query.push_str(key);
        query.push('=');
        query.push_str(value);
        query.push('&');
    }
    format!("{base}/v1/{resource}?{query}limit={limit}&marker={marker}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_match_ironic() {
        let links = self_and_bookmark("http://h:6385", "nodes/abc");
        assert_eq!(links[0]["href"], "http://h:6385/v1/nodes/abc");
        assert_eq!(links[0]["rel"], "self");
        assert_eq!(links[1]["href"], "http://h:6385/nodes/abc");
        assert_eq!(links[1]["rel"], "bookmark");
    }

    #[test]
    fn next_link_keeps_arguments_before_limit_and_marker() {
        let args = [("sort_key", "id".to_owned()), ("sort_dir", "asc".to_owned())];
        assert_eq!(
            next_page("http://h", "nodes", &args, 2, "m"),
            "http://h/v1/nodes?sort_key=id&sort_dir=asc&limit=2&marker=m"
        );
    }
}
