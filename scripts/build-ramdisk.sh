#!/usr/bin/env bash
# Builds Ferric's deploy ramdisk: the kernel and initramfs a machine PXE-boots
# into so that `ferric-agent` can clean its disks and write its image.
#
#   $CARGO_TARGET_DIR/ramdisk/ferric-agent.kernel     Debian's stock amd64 kernel
#   $CARGO_TARGET_DIR/ramdisk/ferric-agent.initramfs  busybox + virtio modules + agent
#
# Why these pieces: Debian's kernel is signed, maintained and has virtio as
# plain (uncompressed) modules, so busybox `insmod` loads them with no module
# tooling; busybox-static gives a shell, `udhcpc` and `ip` in 2 MB; the agent is
# a static binary, so the initramfs needs no libc. The kernel package is only
# downloaded and unpacked into a cache (never installed on the host).
#
# Idempotent: the initramfs is repacked only when one of its inputs (this
# script, busybox, the kernel version, the agent binary) changed. Cargo decides
# whether the agent itself needs rebuilding.
#
# Environment:
#   CARGO_TARGET_DIR        build output (default ~/.cache/ferric-target)
#   FERRIC_AGENT_PROFILE    cargo profile of the agent (default: ramdisk-agent, see below)
#   FERRIC_AGENT_BINARY     pack this agent binary instead of building one (to
#                           try a ramdisk with a stand-in agent)
set -euo pipefail

repo="$(cd "$(dirname "$0")/.." && pwd)"
target="${CARGO_TARGET_DIR:-$HOME/.cache/ferric-target}"
out="$target/ramdisk"
cache="$out/cache"
mkdir -p "$cache"

# The virtio drivers a qemu machine needs for its NIC and disk, in dependency
# order (insmod resolves nothing by itself), and its hardware RNG: without an
# entropy source the kernel's CRNG may not be ready for minutes under TCG, and
# getrandom(2) — which the agent's TLS, tokens and UUIDs use — blocks until it is.
modules=(virtio_ring virtio virtio_pci_modern_dev virtio_pci_legacy_dev virtio_pci
  failover net_failover virtio_net virtio_blk virtio-rng)

log() { echo "build-ramdisk: $*" >&2; }

# --- kernel: the version linux-image-amd64 points at, downloaded once -------
kernel_version() {
  apt-cache depends linux-image-amd64 2>/dev/null |
    awk '/Depends: linux-image-[0-9]/ { sub("linux-image-", "", $2); print $2; exit }'
}
apt_update() {
  local sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
}
kver="$(kernel_version)"
if [ -z "$kver" ]; then
  # apt's lists may be missing on a fresh machine.
  apt_update
  kver="$(kernel_version)"
fi
[ -n "$kver" ] || { log "cannot find the kernel linux-image-amd64 depends on"; exit 1; }
kdir="$cache/linux-$kver"
deb="$cache/linux-image-$kver.deb"
download_kernel() { # into $deb; false when the mirror no longer has $kver
  local tmp
  tmp="$(mktemp -d "$cache/download.XXXXXX")"
  if (cd "$tmp" && apt-get download -qq -o APT::Sandbox::User=root "linux-image-$kver"); then
    mv "$tmp"/linux-image-"$kver"_*.deb "$deb"
    rm -rf "$tmp"
  else
    rm -rf "$tmp"
    return 1
  fi
}
kernel_cached() {
  [ -f "$kdir/vmlinuz" ] || return 1
  for module in "${modules[@]}"; do [ -f "$kdir/modules/$module.ko" ] || return 1; done
}
if ! kernel_cached; then
  if [ ! -f "$deb" ]; then
    log "downloading linux-image-$kver"
    if ! download_kernel; then
      # Old lists name a kernel the mirror has since replaced: refresh, retry.
      apt_update
      kver="$(kernel_version)"
      kdir="$cache/linux-$kver"
      deb="$cache/linux-image-$kver.deb"
      download_kernel || { log "cannot download linux-image-$kver"; exit 1; }
    fi
  fi
  # Keep only what the ramdisk uses (the unpacked package is ~400 MB).
  tmp="$(mktemp -d "$cache/unpack.XXXXXX")"
  dpkg-deb -x "$deb" "$tmp"
  rm -rf "$kdir" && mkdir -p "$kdir.partial/modules"
  cp "$tmp/boot/vmlinuz-$kver" "$kdir.partial/vmlinuz"
  for module in "${modules[@]}"; do
    file="$(find "$tmp/lib/modules/$kver" -name "$module.ko" -print -quit)"
    [ -n "$file" ] || { log "module $module.ko not found in linux-image-$kver"; exit 1; }
    cp "$file" "$kdir.partial/modules/"
  done
  rm -rf "$tmp"
  mv "$kdir.partial" "$kdir"
  # Keep one kernel: drop what belongs to versions no longer current.
  find "$cache" -maxdepth 1 -name 'linux-*' ! -name "linux-$kver" ! -name "linux-image-$kver.deb" \
    -exec rm -rf {} +
fi

# --- busybox: must be the static build ---------------------------------------
busybox=/bin/busybox
if ! dpkg-query -W -f='${Status}' busybox-static 2>/dev/null | grep -q 'ok installed'; then
  log "busybox-static is not installed: run scripts/install-deps.sh test"
  exit 1
fi

# --- the agent: a static binary ----------------------------------------------
# Profile `ramdisk-agent` (Cargo.toml): release optimisation for size, stripped, no
# LTO, many codegen units — a small binary without release's long link-time work
# on a 2-core machine.
profile="${FERRIC_AGENT_PROFILE:-ramdisk-agent}"
host="x86_64-unknown-linux-gnu"
if [ -n "${FERRIC_AGENT_BINARY:-}" ]; then
  agent="$FERRIC_AGENT_BINARY"
else
  log "building ferric-agent (profile $profile, static)"
  (cd "$repo" && RUSTFLAGS="-C target-feature=+crt-static" cargo build --quiet -p ferric-agent \
    --target "$host" --profile "$profile")
  dir="$profile"
  [ "$profile" = dev ] && dir=debug
  agent="$target/$host/$dir/ferric-agent"
fi
[ -x "$agent" ] || { log "no agent binary at $agent"; exit 1; }

# --- up to date? ---------------------------------------------------------------
stamp="$(cat "$0" "$busybox" "$agent" | sha256sum | cut -d' ' -f1) $kver"
if [ -f "$out/ferric-agent.initramfs" ] && [ -f "$out/ferric-agent.kernel" ] &&
  [ "$(cat "$out/.inputs" 2>/dev/null)" = "$stamp" ]; then
  exit 0
fi

# --- the initramfs tree ----------------------------------------------------------
root="$(mktemp -d "$out/root.XXXXXX")"
trap 'rm -rf "$root"' EXIT
mkdir -p "$root"/{bin,sbin,dev,proc,sys,tmp,run,etc,lib/modules,usr/bin,usr/sbin,usr/share/udhcpc}
cp "$busybox" "$root/bin/busybox"
for applet in $("$busybox" --list); do
  [ "$applet" = busybox ] || ln -sf busybox "$root/bin/$applet"
done
cp "$kdir"/modules/*.ko "$root/lib/modules/"
install -m 0755 "$agent" "$root/bin/ferric-agent"

# udhcpc's hook: it only hands over variables; this sets the address, the
# default route (if any) and the DNS servers with busybox's own tools.
cat > "$root/usr/share/udhcpc/default.script" <<'EOF'
#!/bin/sh
case "$1" in
  deconfig)
    ip -4 addr flush dev "$interface"
    ip link set "$interface" up
    ;;
  bound|renew)
    ip -4 addr flush dev "$interface"
    ip addr add "$ip/${mask:-24}" ${broadcast:+broadcast "$broadcast"} dev "$interface"
    if [ -n "$router" ]; then
      ip route replace default via "${router%% *}" dev "$interface"
    fi
    : > /etc/resolv.conf
    for server in $dns; do echo "nameserver $server" >> /etc/resolv.conf; done
    ;;
esac
exit 0
EOF
chmod 0755 "$root/usr/share/udhcpc/default.script"

# /init: the kernel's first process. Everything the agent needs from the
# system (proc, sys, dev, drivers) is set up here; the agent does the rest
# (address, lookup, heartbeats). If it ever returns, the machine powers off
# rather than panicking the kernel, and the console says why.
{
  echo '#!/bin/sh'
  echo "modules=\"${modules[*]}\""
  cat <<'EOF'
export PATH=/bin:/sbin:/usr/bin:/usr/sbin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mkdir -p /dev/pts /run /tmp
for module in $modules; do
  insmod "/lib/modules/$module.ko" || echo "FERRIC-RAMDISK-MODULE-FAILED $module"
done
ip link set lo up
echo "FERRIC-RAMDISK-UP kernel=$(uname -r)"
/bin/ferric-agent
echo "FERRIC-RAMDISK-AGENT-EXITED status=$?"
sync
poweroff -f
EOF
} > "$root/init"
chmod 0755 "$root/init"

(cd "$root" && find . | sort | busybox cpio -o -H newc --quiet | gzip -6) > "$out/ferric-agent.initramfs.new"
cp "$kdir/vmlinuz" "$out/ferric-agent.kernel.new"
mv "$out/ferric-agent.initramfs.new" "$out/ferric-agent.initramfs"
mv "$out/ferric-agent.kernel.new" "$out/ferric-agent.kernel"
echo "$stamp" > "$out/.inputs"
log "$out/ferric-agent.initramfs ($(du -k "$out/ferric-agent.initramfs" | cut -f1) KiB, kernel $kver)"
