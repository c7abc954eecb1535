#!/usr/bin/env bash
# Runs one benchmark target in release mode and prints its table.
set -euo pipefail
target="${1:-store}"
case "$target" in
  store) cargo run --release -q -p ferric-store --bin store-bench ;;
  *) echo "unknown bench target: $target (known: store)" >&2; exit 2 ;;
esac
