//! The version documents and negotiation headers, compared with what the real
//! Ironic answered (shared/ironic-reference/transcripts/curl/00..05, 73..77).

use axum::body::Body;
use axum::http::{Request, StatusCode};
use ferric_gateway::{AppState, router};
use http_body_util::BodyExt;
use serde_json::Value;
use tower::ServiceExt;

async fn get(path: &str, version: Option<&str>) -> (StatusCode, axum::http::HeaderMap, String) {
    let dir = tempfile::tempdir().unwrap();
    let store = ferric_store::embedded::EmbeddedStore::open(dir.path().join("s.redb")).await.unwrap();
    let app = router(AppState::new(std::sync::Arc::new(store), None));
    let mut request = Request::get(path).header("host", "127.0.0.1:6385");
    if let Some(version) = version {
        request = request.header("X-OpenStack-Ironic-API-Version", version);
    }
    let response = app.oneshot(request.body(Body::empty()).unwrap()).await.unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let body = response.into_body().collect().await.unwrap().to_bytes();
    (status, headers, String::from_utf8(body.to_vec()).unwrap())
}

#[tokio::test]
async fn root_names_the_api_and_its_range() {
    let (status, headers, body) = get("/", None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers["x-openstack-ironic-api-minimum-version"], "1.1");
    assert_eq!(headers["x-openstack-ironic-api-version"], "1.1");
    let request_id = headers["x-openstack-request-id"].to_str().unwrap();
    assert!(request_id.starts_with("req-") && request_id.len() == 40, "{request_id}");
    assert_eq!(headers["openstack-request-id"], request_id);
    let doc: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(doc["name"], "OpenStack Ironic API");
    assert_eq!(doc["default_version"]["id"], "v1");
    assert_eq!(doc["default_version"]["min_version"], "1.1");
    assert_eq!(doc["default_version"]["links"][0]["href"], "http://127.0.0.1:6385/v1/");
    assert_eq!(doc["versions"][0], doc["default_version"]);
}

#[tokio::test]
async fn v1_at_the_minimum_lists_the_original_resources() {
    let (status, _, body) = get("/v1", None).await;
    assert_eq!(status, StatusCode::OK);
    let doc: Value = serde_json::from_str(&body).unwrap();
    let keys: Vec<&str> = doc.as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(keys, ["id", "links", "media_types", "chassis", "nodes", "ports", "drivers", "version"]);
    assert_eq!(doc["nodes"][0]["href"], "http://127.0.0.1:6385/v1/nodes/");
    assert_eq!(doc["nodes"][1]["href"], "http://127.0.0.1:6385/nodes/");
    assert_eq!(doc["media_types"]["type"], "application/vnd.openstack.ironic.v1+json");
}

#[tokio::test]
async fn bad_versions_get_ironics_406() {
    let (status, headers, body) = get("/v1/nodes", Some("1.999")).await;
    assert_eq!(status, StatusCode::NOT_ACCEPTABLE);
    assert!(headers.contains_key("x-openstack-ironic-api-maximum-version"));
    assert!(!headers.contains_key("x-openstack-ironic-api-version"));
    assert!(body.starts_with(r#"{"error_message": "{\"code\": 406, \"title\": \"Not Acceptable\", \"description\": \"Version 1.999 was requested but the minor version is not supported by this service. The supported version range is: [1.1, "#), "{body}");

    let (status, headers, body) = get("/v1/nodes", Some("abc")).await;
    assert_eq!(status, StatusCode::NOT_ACCEPTABLE);
    assert!(!headers.contains_key("x-openstack-ironic-api-maximum-version"));
    assert_eq!(
        body,
        r#"{"error_message": "{\"code\": 406, \"title\": \"Not Acceptable\", \"description\": \"Invalid value for X-OpenStack-Ironic-API-Version header\"}"}"#
    );

    let (status, _, body) = get("/v1/nodes", Some("2.1")).await;
    assert_eq!(status, StatusCode::NOT_ACCEPTABLE);
    assert!(
        body.contains(r#"Mutually exclusive versions requested. Version 2.1 requested but not supported"#),
        "{body}"
    );
}

#[tokio::test]
async fn unknown_path_is_ironics_bare_404() {
    let (status, headers, body) = get("/v1/bogus", Some("1.1")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(headers["content-type"], "application/json");
    assert!(headers.contains_key("x-openstack-request-id"));
    assert_eq!(
        body,
        r#"{"error_message": "{\"code\": 404, \"title\": \"Not Found\", \"description\": \"\"}"}"#
    );
}
