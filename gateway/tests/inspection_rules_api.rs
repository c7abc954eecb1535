//! Inspection rules (1.96): stored, checked for shape, sensitive ones hidden.

mod common;

use axum::http::{Method, StatusCode};
use common::{Api, sorted_keys};
use serde_json::{Value, json};

fn sample() -> Value {
    json!({
        "description": "BMC credentials",
        "phase": "main",
        "priority": 100,
        "sensitive": true,
        "conditions": [
            {"op": "contains", "args": {"value": "{inventory[system_vendor][manufacturer]}", "regex": "(?i)dell"}},
            {"op": "is-true", "args": {"value": "{node.auto_discovered}"}}
        ],
        "actions": [
            {"op": "set-attribute", "args": {"path": "/driver", "value": "idrac"}},
            {"op": "set-attribute", "args": {"path": "/driver_info/redfish_password", "value": "password"}}
        ]
    })
}

#[tokio::test]
async fn rules_are_created_listed_and_sensitive_ones_hide_their_steps() {
    let api = Api::start().await;
    let created = api.latest(Method::POST, "/v1/inspection_rules", Some(sample())).await;
    assert_eq!(created.status, StatusCode::CREATED, "{:?}", created.body);
    assert_eq!(
        sorted_keys(&created.body),
        [
            "actions",
            "conditions",
            "created_at",
            "description",
            "links",
            "phase",
            "priority",
            "sensitive",
            "updated_at",
            "uuid"
        ]
    );
    assert_eq!(created.body["actions"], Value::Null, "sensitive rules hide their actions");
    assert_eq!(created.body["conditions"], Value::Null);
    let uuid = created.body["uuid"].as_str().unwrap().to_owned();

    let plain = api
        .latest(
            Method::POST,
            "/v1/inspection_rules",
            Some(json!({"actions": [{"op": "add-trait", "args": {"name": "CUSTOM_X"}}]})),
        )
        .await;
    assert_eq!(plain.status, StatusCode::CREATED, "{:?}", plain.body);
    assert_eq!(plain.body["phase"], "main");
    assert_eq!(plain.body["priority"], 0);
    assert_eq!(plain.body["conditions"], json!([]));
    assert_eq!(plain.body["actions"][0]["op"], "add-trait");

    let list = api.latest(Method::GET, "/v1/inspection_rules", None).await;
    let items = list.body["inspection_rules"].as_array().unwrap();
    assert_eq!(items.len(), 2);
    assert_eq!(sorted_keys(&items[0]), ["description", "links", "phase", "priority", "sensitive", "uuid"]);
    let detail = api.latest(Method::GET, "/v1/inspection_rules?detail=True", None).await;
    assert!(detail.body["inspection_rules"][0].get("created_at").is_some());
    assert_eq!(
        api.call(Method::GET, "/v1/inspection_rules", Some("1.95"), None).await.status,
        StatusCode::NOT_FOUND
    );

    let change = json!([
        {"path": "/description", "value": "Updated", "op": "replace"},
        {"path": "/priority", "value": 75, "op": "replace"},
        {"path": "/actions/-", "value": {"op": "set-attribute", "args": {"path": "/properties/local_gb", "value": "1"}}, "op": "add"}
    ]);
    let patched = api.latest(Method::PATCH, &format!("/v1/inspection_rules/{uuid}"), Some(change)).await;
    assert_eq!(patched.status, StatusCode::OK, "{:?}", patched.body);
    assert_eq!(patched.body["priority"], 75);
    assert!(patched.body["updated_at"].is_string());

    assert_eq!(
        api.latest(Method::DELETE, &format!("/v1/inspection_rules/{uuid}"), None).await.status,
        StatusCode::NO_CONTENT
    );
    let gone = api.latest(Method::GET, &format!("/v1/inspection_rules/{uuid}"), None).await;
    assert_eq!(gone.status, StatusCode::NOT_FOUND);
    assert_eq!(gone.fault(), format!("Inspection rule {uuid} could not be found."));
    assert_eq!(api.latest(Method::DELETE, "/v1/inspection_rules", None).await.status, StatusCode::NO_CONTENT);
    let empty = api.latest(Method::GET, "/v1/inspection_rules", None).await;
    assert!(empty.body["inspection_rules"].as_array().unwrap().is_empty());
}

#[tokio::test]
async fn malformed_rules_are_refused() {
    let api = Api::start().await;
    let cases = [
        (json!({}), "Schema error for inspection_rule: 'actions' is a required property"),
        (json!({"actions": []}), "Schema error for inspection_rule: [] should be non-empty"),
        (
            json!({"actions": [{"op": "explode"}]}),
            "Schema error for inspection_rule: unknown action operator 'explode'",
        ),
        (
            json!({"actions": [{"op": "log", "args": {}}], "conditions": [{"op": "bigger"}]}),
            "Schema error for inspection_rule: unknown condition operator 'bigger'",
        ),
        (
            json!({"actions": [{"op": "log", "args": {}}], "phase": "early"}),
            "Schema error for inspection_rule: \"early\" is not one of ['main']",
        ),
        (
            json!({"actions": [{"op": "log"}], "bogus": 1}),
            "Schema error for inspection_rule: Additional properties are not allowed ('bogus' was unexpected)",
        ),
    ];
    for (body, message) in cases {
        let reply = api.latest(Method::POST, "/v1/inspection_rules", Some(body.clone())).await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{body}");
        assert_eq!(reply.fault(), message, "{body}");
    }
    let created =
        api.latest(Method::POST, "/v1/inspection_rules", Some(json!({"actions": [{"op": "log"}]}))).await;
    let path = format!("/v1/inspection_rules/{}", created.body["uuid"].as_str().unwrap());
    let emptied = api
        .latest(Method::PATCH, &path, Some(json!([{"op": "replace", "path": "/actions", "value": []}])))
        .await;
    assert_eq!(emptied.status, StatusCode::BAD_REQUEST);
    let uuid = api
        .latest(Method::PATCH, &path, Some(json!([{"op": "replace", "path": "/uuid", "value": "x"}])))
        .await;
    assert_eq!(uuid.status, StatusCode::BAD_REQUEST);
}
