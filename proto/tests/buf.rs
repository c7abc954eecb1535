//! The contracts as `buf` sees them: `buf lint` passes, and `buf breaking` finds no
//! wire- or source-incompatible change against the last released contract.
//!
//! The released contract is the committed image `baseline/ferric-v1.binpb`
//! (`buf build -o baseline/ferric-v1.binpb`, run in `proto/` at the release), not a
//! git tag: a fresh clone, a shallow CI checkout or a tarball has no tags, and a
//! check that needs one would either fail there or be skipped. When a contract is
//! released on purpose (a new `ferric.v2` package, say), the image is rebuilt and
//! committed with it, and the release is tagged (`proto-v1.0`, ...) for people.
//!
//! `buf` itself comes from the npm package `@bufbuild/buf`, installed by
//! `scripts/install-deps.sh test` beside the build output.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use ferric_proto::SERVICE_NAMES;
use prost::Message as _;
use prost_types::FileDescriptorSet;

const BASELINE: &str = "baseline/ferric-v1.binpb";

/// The `buf` that `scripts/install-deps.sh test` installs: `$FERRIC_BUF_DIR`, else
/// `buf` under the Cargo target directory (as the Python venv).
fn buf() -> PathBuf {
    let dir = std::env::var_os("FERRIC_BUF_DIR").map(PathBuf::from).unwrap_or_else(|| {
        std::env::var_os("CARGO_TARGET_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|| {
                PathBuf::from(std::env::var_os("HOME").unwrap_or_default()).join(".cache/ferric-target")
            })
            .join("buf")
    });
    let path = dir.join("node_modules/.bin/buf");
    assert!(
        path.exists(),
        "{} is missing: run `just test` (scripts/install-deps.sh test) to install it",
        path.display()
    );
    path
}

fn proto_dir() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn run_buf(dir: &Path, args: &[&str]) -> Output {
    Command::new(buf())
        .args(args)
        .current_dir(dir)
        // buf keeps a module cache; keep it out of the user's home in CI.
        .env("BUF_CACHE_DIR", std::env::temp_dir().join("ferric-buf-cache"))
        .output()
        .expect("run buf")
}

fn describe(output: &Output) -> String {
    format!(
        "exit {:?}\nstdout:\n{}\nstderr:\n{}",
        output.status.code(),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

#[test]
fn buf_lint_passes() {
    let output = run_buf(proto_dir(), &["lint"]);
    assert!(output.status.success(), "buf lint found problems:\n{}", describe(&output));
}

#[test]
fn no_breaking_change_against_the_released_contract() {
    let output = run_buf(proto_dir(), &["breaking", "--against", BASELINE]);
    assert!(output.status.success(), "buf breaking against {BASELINE}:\n{}", describe(&output));
}

/// An empty or foreign baseline would make the breaking check pass vacuously.
#[test]
fn the_baseline_holds_every_service_of_the_contract() {
    let bytes = std::fs::read(proto_dir().join(BASELINE)).expect("baseline image");
    // A buf image is a FileDescriptorSet on the wire (plus buf's own extension
    // fields, which decoding skips).
    let set = FileDescriptorSet::decode(bytes.as_slice()).expect("baseline decodes as a descriptor set");
    let mut services: Vec<String> = set
        .file
        .iter()
        .filter(|f| f.package() == "ferric.v1")
        .flat_map(|f| f.service.iter().map(|s| format!("ferric.v1.{}", s.name())))
        .collect();
    services.sort();
    let mut expected: Vec<String> = SERVICE_NAMES.iter().map(|s| (*s).to_owned()).collect();
    expected.sort();
    assert_eq!(services, expected);
    let power =
        set.file.iter().find(|f| f.name() == "ferric/v1/power.proto").expect("power.proto in baseline");
    let methods = power.service[0].method.len();
    assert!(methods >= 10, "PowerService in the baseline has {methods} methods");
}

/// A temporary copy of `proto/`, removed on drop.
struct Scratch(PathBuf);

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_tree(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

/// The check has teeth: renumbering a field, which silently corrupts every old
/// peer's reads, is refused.
#[test]
fn breaking_refuses_a_renumbered_field() {
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos();
    let scratch = Scratch(std::env::temp_dir().join(format!("ferric-buf-{}-{nanos}", std::process::id())));
    copy_tree(&proto_dir().join("proto"), &scratch.0.join("proto"));
    std::fs::copy(proto_dir().join("buf.yaml"), scratch.0.join("buf.yaml")).unwrap();
    let power = scratch.0.join("proto/ferric/v1/power.proto");
    let text = std::fs::read_to_string(&power).unwrap();
    let original = "message GetPowerStateResponse {\n  PowerState power_state = 1;\n}";
    assert!(text.contains(original), "power.proto changed shape; update this test");
    std::fs::write(
        &power,
        text.replace(original, "message GetPowerStateResponse {\n  PowerState power_state = 2;\n}"),
    )
    .unwrap();

    let baseline = proto_dir().join(BASELINE);
    let output = run_buf(&scratch.0, &["breaking", "--against", baseline.to_str().unwrap()]);
    assert!(!output.status.success(), "buf breaking accepted a renumbered field:\n{}", describe(&output));
    let said = String::from_utf8_lossy(&output.stdout);
    assert!(said.contains("GetPowerStateResponse"), "{}", describe(&output));
}
