//! Builds the OpenAPI 3.0 document from the registered operations.

use ferric_model::Version;
use serde_json::{Map, Value, json};

use super::routes::{Body, Operation, Reply, Schema};

fn schema_of(schema: Schema) -> Value {
    match schema {
        Schema::Ref(name) => json!({"$ref": format!("#/components/schemas/{name}")}),
        Schema::List(key, item) => json!({"type": "object", "properties": {
            key: {"type": "array", "items": {"$ref": format!("#/components/schemas/{item}")}},
            "next": {"type": "string"}
        }, "required": [key]}),
        Schema::Strings(key) => {
            json!({"type": "object", "properties": {key: {"type": "array", "items": {"type": "string"}}}, "required": [key]})
        }
        Schema::Object => json!({"type": "object"}),
        Schema::Patch => json!({"$ref": "#/components/schemas/Patch"}),
    }
}

fn parameters(operation: &Operation) -> Vec<Value> {
    let mut out: Vec<Value> = operation
        .path
        .split('/')
        .filter_map(|segment| segment.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
        .map(|name| json!({"name": name, "in": "path", "required": true, "schema": {"type": "string"}}))
        .collect();
    if operation.doc.paged {
        out.push(json!({"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1}}));
        out.push(json!({"name": "marker", "in": "query", "schema": {"type": "string"}}));
        out.push(json!({"name": "sort_key", "in": "query", "schema": {"type": "string"}}));
        out.push(
            json!({"name": "sort_dir", "in": "query", "schema": {"type": "string", "enum": ["asc", "desc"]}}),
        );
        out.push(json!({"name": "fields", "in": "query", "schema": {"type": "string"}}));
        out.push(json!({"name": "detail", "in": "query", "schema": {"type": "boolean"}}));
    }
    out
}

fn operation_object(operation: &Operation) -> Value {
    let mut object = Map::new();
    object.insert("summary".into(), json!(operation.doc.summary));
    let id = format!(
        "{}{}",
        operation.method.as_str().to_lowercase(),
        operation.path.replace(['/', '{', '}'], "_")
    );
    object.insert("operationId".into(), json!(id));
    object.insert("parameters".into(), Value::Array(parameters(operation)));
    match operation.doc.body {
        Body::None => {}
        Body::Json(schema) | Body::OptionalJson(schema) => {
            let required = matches!(operation.doc.body, Body::Json(_));
            object.insert(
                "requestBody".into(),
                json!({"required": required, "content": {"application/json": {"schema": schema_of(schema)}}}),
            );
        }
    }
    let mut responses = Map::new();
    match operation.doc.reply {
        Reply::Json(status, schema) => {
            responses.insert(
                status.to_string(),
                json!({"description": "Success", "content": {"application/json": {"schema": schema_of(schema)}}}),
            );
        }
        Reply::Empty(status) => {
            responses.insert(status.to_string(), json!({"description": "Success, no body"}));
        }
    }
    responses.insert(
        "default".into(),
        json!({"description": "Ironic's error body", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}),
    );
    object.insert("responses".into(), Value::Object(responses));
    Value::Object(object)
}

/// The OpenAPI document of `operations`, for API version `version`.
pub fn document(operations: &[Operation], version: Version) -> Value {
    let mut paths: Map<String, Value> = Map::new();
    for operation in operations {
        let entry = paths.entry(operation.path.to_owned()).or_insert_with(|| json!({}));
        if let Value::Object(methods) = entry {
            methods.insert(operation.method.as_str().to_lowercase(), operation_object(operation));
        }
    }
    json!({
        "openapi": "3.0.3",
        "info": {
            "title": "Ferric: the OpenStack Ironic bare-metal API",
            "version": version.to_string(),
            "description": "Every route Ferric serves, generated from its router. Send X-OpenStack-Ironic-API-Version to pick a microversion."
        },
        "paths": paths,
        "components": {"schemas": super::schema::components()},
    })
}
