# Ferric's commands. The README's contract: `just run` starts Ferric here, `just test`
# installs what the tests need and runs every test.

set shell := ["bash", "-euo", "pipefail", "-c"]

# Builds reuse one target dir outside the clone, so a fresh clone (and CI) does not
# rebuild the world; it still works when the dir is empty.
export CARGO_TARGET_DIR := env_var_or_default("CARGO_TARGET_DIR", env_var("HOME") / ".cache/ferric-target")

# List the recipes.
default:
    @just --list

# Start Ferric on this machine: every service in one process, embedded store under ./var.
run *ARGS: deps-build
    cargo run --release -p ferric -- all-in-one {{ARGS}}

# Install what the tests need (when missing), then run every test in the workspace.
test: deps-test
    cargo nextest run --workspace --no-fail-fast

# Benchmarks: `just bench store|power|imagecache|deploy|bootnet|api [ARGS]`.
bench target="store" *ARGS: deps-test
    scripts/bench.sh {{target}} {{ARGS}}

# Format all code.
fmt:
    cargo fmt --all

# Lints as CI would see them.
lint: deps-build
    cargo fmt --all -- --check
    cargo clippy --workspace --all-targets -- -D warnings

# Build-time tools (protoc for the gRPC contracts and etcd-client).
deps-build:
    scripts/install-deps.sh build

# Build-time tools plus the real peers the tests run against.
deps-test:
    scripts/install-deps.sh test
