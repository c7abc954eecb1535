//! `ferric all-in-one` as `just run` starts it: a real process, on the embedded
//! store, answering Ironic's version document.

use std::path::Path;

use ferric_integration::FerricProcess;
use serde_json::Value;

fn bin() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_ferric"))
}

#[tokio::test(flavor = "multi_thread")]
async fn all_in_one_answers_the_version_document_and_stops_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let mut ferric = FerricProcess::all_in_one(bin(), dir.path(), &[]).await;

    let client = reqwest::Client::new();
    let response = client.get(format!("{}/", ferric.api)).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["x-openstack-ironic-api-minimum-version"], "1.1");
    let doc: Value = response.json().await.unwrap();
    assert_eq!(doc["name"], "OpenStack Ironic API");
    assert_eq!(doc["default_version"]["links"][0]["href"], format!("{}/v1/", ferric.api));

    let metrics = client.get(format!("{}/metrics", ferric.api)).send().await.unwrap().text().await.unwrap();
    assert!(metrics.contains("ferric_http_requests_total"), "{metrics}");

    // Every back-end service came up and registered itself.
    let log = ferric.log();
    for kind in ["deploy", "power", "bootnet", "imagecache"] {
        assert!(log.contains(&format!("/ferric/services/{kind}/")), "{kind} not registered:\n{log}");
    }

    let status = ferric.terminate();
    assert!(status.success(), "ferric exited with {status}:\n{}", ferric.log());
    assert!(dir.path().join("store.redb").exists());
}

#[tokio::test(flavor = "multi_thread")]
async fn all_in_one_restarts_on_its_own_state() {
    let dir = tempfile::tempdir().unwrap();
    let mut first = FerricProcess::all_in_one(bin(), dir.path(), &[]).await;
    // A crash must not leave the store unopenable or locked.
    first.kill();
    let mut second = FerricProcess::all_in_one(bin(), dir.path(), &[]).await;
    assert!(second.terminate().success());
}
