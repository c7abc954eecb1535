#!/usr/bin/env bash
# Installs, only when missing, what Ferric needs to build (`build`), to run its
# tests against real peers (`test`), or the benchmarks' reference servers
# (`bench`). Idempotent and quiet when all is present, so `just test` can call it
# every time.
set -euo pipefail

mode="${1:-test}"
packages=()

need() { # need COMMAND DEBIAN-PACKAGE
  command -v "$1" >/dev/null 2>&1 || packages+=("$2")
}

need_sbin() { # need_sbin COMMAND DEBIAN-PACKAGE: also found in /usr/sbin when not on PATH
  command -v "$1" >/dev/null 2>&1 || [ -x "/usr/sbin/$1" ] || [ -x "/sbin/$1" ] || packages+=("$2")
}

# protoc: our proto/ crate and etcd-client's build script both run it; the
# latter also needs the well-known types (google/protobuf/*.proto).
need protoc protobuf-compiler
[ -f /usr/include/google/protobuf/descriptor.proto ] || packages+=(libprotobuf-dev)

if [ "$mode" = test ]; then
  # A real etcd for the store conformance suite and the takeover tests.
  need etcd etcd-server
  need etcdctl etcd-client
  # A real IPMI BMC (ipmi_sim) and the independent client that checks what our
  # power service did to it.
  need ipmi_sim openipmi
  need ipmitool ipmitool
  # qemu-img: the image cache converts qcow2 to raw and reads virtual sizes.
  need qemu-img qemu-utils
  # The boot network's real peers: DHCP clients (ISC dhclient, busybox udhcpc),
  # a relay (ISC dhcrelay), TFTP clients (tftp-hpa, atftp, curl), iPXE builds
  # and qemu with its iPXE NIC ROMs for the PXE VM, ip for the namespaces.
  need_sbin dhclient isc-dhcp-client
  # The deploy ramdisk (scripts/build-ramdisk.sh) packs /bin/busybox itself, so
  # it must be the static build; the kernel is downloaded there, not installed.
  if ! dpkg-query -W -f='${Status}' busybox-static 2>/dev/null | grep -q 'ok installed'; then
    packages+=(busybox-static)
  fi
  need gzip gzip
  need dpkg-deb dpkg
  need_sbin dhcrelay isc-dhcp-relay
  need tftp tftp-hpa
  need atftp atftp
  need curl curl
  [ -f /usr/lib/ipxe/undionly.kpxe ] || packages+=(ipxe)
  [ -d /usr/lib/ipxe/qemu ] || packages+=(ipxe-qemu)
  need qemu-system-x86_64 qemu-system-x86
  need_sbin ip iproute2
  # npm installs the buf CLI (below); Debian's npm brings node with it.
  need npm npm
fi

if [ "$mode" = test ] || [ "$mode" = bench ]; then
  # `just bench bootnet`: perfdhcp (in kea-admin) drives Ferric, kea-dhcp4 and
  # dnsmasq; tftpd-hpa is the TFTP reference.
  need_sbin perfdhcp kea-admin
  need_sbin kea-dhcp4 kea-dhcp4-server
  need_sbin dnsmasq dnsmasq
  need_sbin in.tftpd tftpd-hpa
fi

if [ "$mode" = bench ]; then
  # `just bench api` drives the REST API with wrk, as Ironic's anchor was.
  need wrk wrk
  # `just bench imagecache` compares with nginx serving, and curl | sha256sum.
  command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || packages+=(nginx)
  need curl curl
  need qemu-img qemu-utils
fi

if [ ${#packages[@]} -gt 0 ]; then
  echo "install-deps: installing ${packages[*]}" >&2
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${packages[@]}" >/dev/null
fi

# Real Python clients (the `baremetal` CLI, openstacksdk) in a venv of our own
# beside the build output, so CI reuses it and the system Python stays clean.
if [ "$mode" = test ]; then
  venv="${FERRIC_VENV:-${CARGO_TARGET_DIR:-$HOME/.cache/ferric-target}/venv}"
  requirements="$(dirname "$0")/test-requirements.txt"
  stamp="$venv/.requirements"
  if ! cmp -s "$requirements" "$stamp" 2>/dev/null; then
    echo "install-deps: installing Python test clients into $venv" >&2
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check -r "$requirements"
    cp "$requirements" "$stamp"
  fi
fi

# The buf CLI (`buf lint` and `buf breaking` over proto/, run by
# proto/tests/buf.rs) from the npm registry's @bufbuild/buf, which ships the
# binary, pinned, beside the build output like the venv.
if [ "$mode" = test ]; then
  buf_version=1.75.0
  buf_dir="${FERRIC_BUF_DIR:-${CARGO_TARGET_DIR:-$HOME/.cache/ferric-target}/buf}"
  if [ "$("$buf_dir/node_modules/.bin/buf" --version 2>/dev/null || true)" != "$buf_version" ]; then
    echo "install-deps: installing buf $buf_version into $buf_dir" >&2
    npm install --silent --no-audit --no-fund --prefix "$buf_dir" "@bufbuild/buf@$buf_version" >/dev/null
  fi
fi

if [ "$mode" = test ] && ! cargo nextest --version >/dev/null 2>&1; then
  echo "install-deps: installing cargo-nextest" >&2
  cargo install --locked cargo-nextest
fi
