//! `/v1/openapi.json` describes what is served: every registered route is in
//! it, every reference resolves, and it is public like version discovery.

mod common;

use axum::http::{Method, StatusCode};
use common::Api;
use serde_json::Value;

fn refs(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            if let Some(Value::String(target)) = map.get("$ref") {
                out.push(target.clone());
            }
            map.values().for_each(|v| refs(v, out));
        }
        Value::Array(items) => items.iter().for_each(|v| refs(v, out)),
        _ => {}
    }
}

#[tokio::test]
async fn the_document_covers_every_route_and_resolves() {
    let api = Api::start().await;
    let reply = api.call(Method::GET, "/v1/openapi.json", None, None).await;
    assert_eq!(reply.status, StatusCode::OK);
    let doc = reply.body;
    assert_eq!(doc["openapi"], "3.0.3");
    let paths = doc["paths"].as_object().unwrap();
    for operation in ferric_gateway::operations().into_parts().1 {
        let method = operation.method.as_str().to_lowercase();
        assert!(
            paths.get(operation.path).and_then(|p| p.get(&method)).is_some(),
            "{method} {} undocumented",
            operation.path
        );
    }
    assert!(paths["/v1/nodes"]["post"]["requestBody"]["required"].as_bool().unwrap());
    assert_eq!(paths["/v1/nodes/{node}"]["get"]["parameters"][0]["name"], "node");
    let schemas = doc["components"]["schemas"].as_object().unwrap();
    assert!(schemas["Node"]["properties"].get("provision_state").is_some());
    assert!(schemas["Node"]["properties"].get("links").is_some());
    assert_eq!(schemas["NodeCreate"]["required"], serde_json::json!(["driver"]));
    let mut targets = Vec::new();
    refs(&doc, &mut targets);
    assert!(!targets.is_empty());
    for target in targets {
        let name = target.strip_prefix("#/components/schemas/").expect("local ref");
        assert!(schemas.contains_key(name), "dangling $ref {target}");
    }
}
