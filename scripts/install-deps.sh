#!/usr/bin/env bash
# Installs, only when missing, what Ferric needs to build (`build`) or to run its
# tests against real peers (`test`). Idempotent and quiet when all is present, so
# `just test` can call it every time.
set -euo pipefail

mode="${1:-test}"
packages=()

need() { # need COMMAND DEBIAN-PACKAGE
  command -v "$1" >/dev/null 2>&1 || packages+=("$2")
}

# protoc: our proto/ crate and etcd-client's build script both run it.
need protoc protobuf-compiler

if [ "$mode" = test ]; then
  # A real etcd for the store conformance suite and the takeover tests.
  need etcd etcd-server
  need etcdctl etcd-client
fi

if [ ${#packages[@]} -gt 0 ]; then
  echo "install-deps: installing ${packages[*]}" >&2
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${packages[@]}" >/dev/null
fi

if [ "$mode" = test ] && ! cargo nextest --version >/dev/null 2>&1; then
  echo "install-deps: installing cargo-nextest" >&2
  cargo install --locked cargo-nextest
fi
