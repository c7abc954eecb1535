//! Replays every request Ironic 39 answered in the recorded curl transcripts
//! against a fresh `ferric all-in-one`, in order, and compares what a client can
//! observe: the status code, the version headers, and the JSON key sets.
//! Values that naturally differ (UUIDs, times, request ids, host names) are not
//! compared; UUIDs Ironic generated are mapped to the ones Ferric generated.

use std::collections::{BTreeSet, HashMap};
use std::path::Path;
use std::time::Duration;

use ferric_integration::transcript::{curl_dir, load};
use ferric_integration::{FerricProcess, wait_until};
use serde_json::Value;

/// Where Ferric deliberately answers differently, and why.
const DEVIATIONS: &[(&str, u16, &str)] = &[
    // Ironic answers malformed JSON with 500 (a WSME bug); the fault is the client's.
    ("72-node-create-bad-json-400.txt", 400, "malformed JSON is a client error"),
    // Ironic bug: the parent node is looked up by UUID only, so a name gives 404.
    ("54-node-ports.txt", 200, "a node's ports by node name work"),
];

fn keys(value: &Value) -> BTreeSet<String> {
    value.as_object().map(|map| map.keys().cloned().collect()).unwrap_or_default()
}

/// The key set of a document, plus that of the first item of a list document.
fn shape(body: &str) -> Option<(BTreeSet<String>, Option<BTreeSet<String>>)> {
    let value: Value = serde_json::from_str(body).ok()?;
    let top = keys(&value);
    let first = value.as_object().and_then(|map| {
        map.values()
            .find_map(|v| v.as_array().and_then(|items| items.first()).filter(|i| i.is_object()).map(keys))
    });
    Some((top, first))
}

fn uuids(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            if let Some(Value::String(uuid)) = map.get("uuid") {
                out.push(uuid.clone());
            }
        }
        Value::Array(items) => items.iter().for_each(|item| uuids(item, out)),
        _ => {}
    }
}

fn substitute(text: &str, ids: &HashMap<String, String>) -> String {
    ids.iter().fold(text.to_owned(), |acc, (theirs, ours)| acc.replace(theirs, ours))
}

/// Waits until no transition of `node` is in flight, as a client polling
/// Ironic would before its next action.
async fn settle(client: &reqwest::Client, api: &str, node: &str) {
    let url = format!("{api}/v1/nodes/{node}?fields=target_provision_state,target_power_state,reservation");
    wait_until(Duration::from_secs(30), &format!("node {node} to settle"), || {
        let request = client.get(&url).header("X-OpenStack-Ironic-API-Version", "1.115").send();
        async move {
            match request.await {
                Ok(response) if response.status() == 404 => true,
                Ok(response) => response.json::<Value>().await.is_ok_and(|v| {
                    v["target_provision_state"].is_null()
                        && v["target_power_state"].is_null()
                        && v["reservation"].is_null()
                }),
                Err(_) => false,
            }
        }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn every_transcript_request_gets_ironics_status_headers_and_shapes() {
    let exchanges = load(&curl_dir());
    assert!(exchanges.len() >= 90, "expected the full curl transcript set, found {}", exchanges.len());
    let dir = tempfile::tempdir().unwrap();
    let ferric = FerricProcess::all_in_one(Path::new(env!("CARGO_BIN_EXE_ferric")), dir.path(), &[]).await;
    let client = reqwest::Client::new();
    let mut ids: HashMap<String, String> = HashMap::new();
    let mut mismatches = Vec::new();

    for exchange in &exchanges {
        let path = substitute(&exchange.path, &ids);
        if let Some(node) =
            path.strip_prefix("/v1/nodes/").map(|rest| rest.split(['/', '?']).next().unwrap_or_default())
            && !node.is_empty()
            && (exchange.method != "GET" || path.contains("/states"))
        {
            settle(&client, &ferric.api, node).await;
        }
        let method = reqwest::Method::from_bytes(exchange.method.as_bytes()).unwrap();
        let mut request = client.request(method, format!("{}{path}", ferric.api));
        for (key, value) in &exchange.headers {
            request = request.header(key, value);
        }
        if let Some(body) = &exchange.body {
            request = request.body(substitute(body, &ids));
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let body = response.text().await.unwrap();

        let expected_status =
            DEVIATIONS.iter().find(|d| d.0 == exchange.name).map_or(exchange.status, |d| d.1);
        if status != expected_status {
            mismatches
                .push(format!("{}: status {status}, Ironic {} ({body})", exchange.name, exchange.status));
            continue;
        }
        for header in [
            "x-openstack-ironic-api-minimum-version",
            "x-openstack-ironic-api-maximum-version",
            "x-openstack-ironic-api-version",
        ] {
            let theirs = exchange.response_headers.iter().find(|(k, _)| k == header).map(|(_, v)| v.as_str());
            let ours = headers.get(header).and_then(|v| v.to_str().ok());
            if theirs != ours {
                mismatches.push(format!("{}: header {header} {ours:?}, Ironic {theirs:?}", exchange.name));
            }
        }
        if DEVIATIONS.iter().any(|d| d.0 == exchange.name) {
            continue;
        }
        if let (Some(theirs), Some(ours)) = (shape(&exchange.response_body), shape(&body)) {
            if theirs.0 != ours.0 {
                mismatches.push(format!("{}: keys {:?}, Ironic {:?}", exchange.name, ours.0, theirs.0));
            } else if theirs.1.is_some() && ours.1.is_some() && theirs.1 != ours.1 {
                mismatches.push(format!("{}: item keys {:?}, Ironic {:?}", exchange.name, ours.1, theirs.1));
            }
        } else if exchange.response_body.is_empty() != body.is_empty() {
            mismatches.push(format!("{}: body {body:?}, Ironic {:?}", exchange.name, exchange.response_body));
        }
        // Map the UUIDs Ironic generated to Ferric's, in order of appearance.
        if let (Ok(theirs), Ok(ours)) =
            (serde_json::from_str::<Value>(&exchange.response_body), serde_json::from_str::<Value>(&body))
        {
            let (mut a, mut b) = (Vec::new(), Vec::new());
            uuids(&theirs, &mut a);
            uuids(&ours, &mut b);
            for (theirs, ours) in a.into_iter().zip(b) {
                ids.entry(theirs).or_insert(ours);
            }
        }
    }
    assert!(
        mismatches.is_empty(),
        "{} of {} exchanges differ from Ironic:\n{}",
        mismatches.len(),
        exchanges.len(),
        mismatches.join("\n")
    );
}
