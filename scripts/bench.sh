#!/usr/bin/env bash
# Runs one benchmark target in release mode and prints its table.
set -euo pipefail
target="${1:-store}"
case "$target" in
  store) cargo run --release -q -p ferric-store --bin store-bench ;;
  # Status queries against 100 ipmi_sim BMCs: async pooled RMCP+ vs forking ipmitool.
  power) cargo run --release -q -p ferric-power --example power-bench ;;
  # Image serving vs nginx (1, 16, 64 clients) and fetch+verify vs curl | sha256sum.
  imagecache)
    "$(dirname "$0")/install-deps.sh" bench
    cargo run --release -q -p ferric-imagecache --bin imagecache-tool -- bench ;;
  # 1000 fake-hardware nodes manageable -> available -> active through the REST API
  # of one all-in-one process on the embedded store (Ironic: 13 s for 100).
  deploy)
    cargo build --release -q -p ferric
    cargo run --release -q -p ferric-deploy --bin deploy-bench -- \
      --ferric "${CARGO_TARGET_DIR:-target}/release/ferric" --nodes "${NODES:-1000}" ;;
  # Ironic's anchor benchmark (create, list, detail, state flows, RSS) against
  # a release all-in-one; extra arguments go to bench.py (e.g. --runs 1).
  # DHCP exchanges/s (perfdhcp) against Ferric, kea-dhcp4 and dnsmasq; TFTP 64 MiB
  # against tftpd-hpa, default blksize and blksize 1468 + windowsize 16. Root only.
  bootnet)
    "$(dirname "$0")/install-deps.sh" bench
    cargo run --release -q -p ferric-bootnet --example bootnet-bench ;;
  api) shift; "$(dirname "$0")/bench-api.sh" "$@" ;;
  # Simulated machines (Redfish BMC, DHCP through a relay, iPXE script, TFTP/HTTP
  # boot files, ferric-agent on a sparse disk) enrolled -> active through the REST
  # API of a release all-in-one, in a network namespace; 100 then 1000 machines
  # (FLEET_SIZES overrides), extra arguments go to ferric-sim. Root only.
  fleet)
    shift
    cargo build --release -q -p ferric -p ferric-sim
    for nodes in ${FLEET_SIZES:-100 1000}; do
      "${CARGO_TARGET_DIR:-target}/release/ferric-sim" \
        --ferric "${CARGO_TARGET_DIR:-target}/release/ferric" --nodes "$nodes" "$@"
    done ;;
  *) echo "unknown bench target: $target (known: store, power, imagecache, deploy, bootnet, api, fleet)" >&2; exit 2 ;;
esac
