//! schemathesis (a property-based API fuzzer we did not write) against
//! `/v1/openapi.json` of a running all-in-one: no request it can make gets a 5xx,
//! and every response matches the document.

use std::path::Path;
use std::process::Command;

use ferric_integration::{FerricProcess, venv_tool};

#[tokio::test(flavor = "multi_thread")]
async fn schemathesis_finds_no_server_error_and_no_schema_violation() {
    let dir = tempfile::tempdir().unwrap();
    let ferric = FerricProcess::all_in_one(Path::new(env!("CARGO_BIN_EXE_ferric")), dir.path(), &[]).await;
    let output = Command::new(venv_tool("schemathesis"))
        .args(["run", &format!("{}/v1/openapi.json", ferric.api)])
        .args(["--checks", "not_a_server_error,response_schema_conformance,content_type_conformance"])
        // One worker: CPython 3.11.7's `ast` is not thread-safe (gh-106905) and
        // schemathesis compiles code while it generates, so two workers crash it.
        .args(["--phases", "examples,coverage,fuzzing", "--max-examples", "25", "--workers", "1"])
        .args(["--header", "X-OpenStack-Ironic-API-Version: 1.115"])
        .args(["--suppress-health-check", "all", "--no-color"])
        .env("SCHEMATHESIS_HOOKS", "")
        .current_dir(dir.path())
        .output()
        .expect("run schemathesis");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "schemathesis found problems:\n{stdout}\n{stderr}\nferric log:\n{}",
        ferric.log()
    );
}
