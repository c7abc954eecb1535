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
test: deps-test ramdisk
    cargo nextest run --workspace --no-fail-fast

# The deploy ramdisk machines PXE-boot into (Debian's kernel, busybox-static and the
# static `ferric-agent`): $CARGO_TARGET_DIR/ramdisk/ferric-agent.{kernel,initramfs}.
# Rebuilt only when an input changed; the end-to-end machine tests boot it.
ramdisk: deps-test
    scripts/build-ramdisk.sh

# Distributed mode on this machine: a 3-member etcd and every role as its own process
# (gateway x2, deploy x3, power x2, bootnet x2, imagecache x2); prints the gateway URLs.
mesh *ARGS: deps-test
    cargo build -p ferric --bin ferric
    cargo run -p ferric-integration --bin ferric-mesh -- --ferric "$CARGO_TARGET_DIR/debug/ferric" {{ARGS}}

# Benchmarks: `just bench store|power|imagecache|deploy|bootnet|api|fleet [ARGS]`.
bench target="store" *ARGS: deps-test
    scripts/bench.sh {{target}} {{ARGS}}

# The static `ferric` binary and Debian's iPXE builds are staged into a context
# under the target dir; needs buildah or podman (`apt-get install buildah`).
# Build the container image (Containerfile) with buildah or podman.
image tag="ferric:0.1.0": deps-test
    RUSTFLAGS="-C target-feature=+crt-static" cargo build --release -p ferric --target x86_64-unknown-linux-gnu
    rm -rf "$CARGO_TARGET_DIR/image-context" && mkdir -p "$CARGO_TARGET_DIR/image-context/ipxe"
    cp "$CARGO_TARGET_DIR/x86_64-unknown-linux-gnu/release/ferric" "$CARGO_TARGET_DIR/image-context/"
    strip "$CARGO_TARGET_DIR/image-context/ferric"
    cp /usr/lib/ipxe/undionly.kpxe /usr/lib/ipxe/ipxe.efi "$CARGO_TARGET_DIR/image-context/ipxe/"
    if command -v buildah >/dev/null; then buildah build -f Containerfile -t {{tag}} "$CARGO_TARGET_DIR/image-context"; else podman build -f Containerfile -t {{tag}} "$CARGO_TARGET_DIR/image-context"; fi

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
