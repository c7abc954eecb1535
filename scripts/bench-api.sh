#!/usr/bin/env bash
# `just bench api`: the REST API under the load Ironic's own anchor was measured
# with (../shared/anchors/ironic/bench.py): 1000 node creates at 16 threads, then
# GET /v1/nodes and ?detail=True at 16 connections with wrk, the fake-hardware
# state flows, and the server's RSS — against a release `ferric all-in-one` on the
# embedded store, started here on a free port with a fresh state directory.
set -euo pipefail
cd "$(dirname "$0")/.."

bench_py="${IRONIC_BENCH:-../shared/anchors/ironic/bench.py}"
[ -f "$bench_py" ] || { echo "bench-api: $bench_py not found (set IRONIC_BENCH)" >&2; exit 2; }
"$(dirname "$0")/install-deps.sh" bench

target="${CARGO_TARGET_DIR:-$HOME/.cache/ferric-target}"
cargo build --release -q -p ferric
state="$(mktemp -d)"
port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
FERRIC_STATE_DIR="$state" FERRIC_GATEWAY__LISTEN="127.0.0.1:$port" FERRIC_TELEMETRY__LOG_FILTER=warn \
  "$target/release/ferric" all-in-one >"$state/ferric.log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null; rm -rf "$state"' EXIT
for _ in $(seq 100); do
  curl -fs "http://127.0.0.1:$port/" >/dev/null && break
  sleep 0.1
done
python3 "$bench_py" "http://127.0.0.1:$port" --pid "$pid" "$@"
