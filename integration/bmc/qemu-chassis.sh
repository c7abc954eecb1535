#!/bin/sh
# ipmi_sim's chassis_control program for a test machine that is a qemu VM: the
# BMC's power is the VM process, its boot device is a file read at power-on.
#
#   qemu-chassis.sh MACHINE_DIR 0x20 get power|boot ...
#   qemu-chassis.sh MACHINE_DIR 0x20 set power 0|1 | reset 1 | boot DEV | shutdown 1 | identify I F
#
# MACHINE_DIR/machine.env (written by the test fixture) names the VM's MAC, tap,
# disk file and serial log. Each action is appended to MACHINE_DIR/events so a
# test can check what the BMC was asked to do.
#
# It must answer quickly: ipmi_sim is single-threaded and blocks while this
# runs, and ipmitool resends a request unanswered after ~1 s (a slow `reset`
# would run twice). So qemu daemonizes, and liveness is read from /proc: a
# daemonized qemu that exited stays a zombie until its new parent reaps it,
# and `kill -0` would call that alive.
dir=$1
shift 2
op=$1
shift
. "$dir/machine.env"
pidfile="$dir/qemu.pid"
events="$dir/events"

running() { # PID: a live process that is not a zombie
  [ -r "/proc/$1/status" ] && ! grep -q '^State:[[:space:]]*Z' "/proc/$1/status"
}
powered() { [ -s "$pidfile" ] && running "$(cat "$pidfile")"; }

power_on() {
  powered && return 0
  bootdev=$(cat "$dir/bootdev" 2>/dev/null || echo pxe)
  # `ipmitool chassis bootdev disk` reaches ipmi_sim as "default"; anything but
  # pxe boots the disk, as the deployed instance should.
  order=c
  [ "$bootdev" = pxe ] && order=n
  echo "power on bootdev=$bootdev" >> "$events"
  # -no-reboot: a reboot or poweroff inside the guest ends the process, so the
  # BMC reports power off, as a real machine would after shutting down.
  # virtio-rng: a hardware RNG, as servers have; without one the ramdisk
  # kernel's CRNG stays uninitialised under TCG and getrandom(2) blocks.
  qemu-system-x86_64 -name "$NAME" -accel "${ACCEL:-tcg}" -m "${MEMORY_MB:-256}" -smp 1 \
    -nodefaults -display none -no-reboot -monitor none -daemonize -pidfile "$pidfile" \
    -chardev "file,id=console,path=$SERIAL,append=on" -serial chardev:console \
    -boot "order=$order" \
    -netdev "tap,id=net0,ifname=$TAP,script=no,downscript=no" \
    -device "virtio-net-pci,netdev=net0,mac=$MAC" \
    -drive "file=$DISK,format=raw,if=virtio" \
    -device virtio-rng-pci >> "$events" 2>&1
}

power_off() {
  powered || return 0
  echo "power off" >> "$events"
  pid=$(cat "$pidfile")
  kill "$pid" 2>/dev/null
  i=0
  while running "$pid" && [ $i -lt 40 ]; do sleep 0.05; i=$((i + 1)); done
  running "$pid" && kill -9 "$pid" 2>/dev/null
  rm -f "$pidfile"
  return 0
}

case $op in
  get)
    for param in "$@"; do
      case $param in
        power) if powered; then echo "power:1"; else echo "power:0"; fi ;;
        boot) echo "boot:$(cat "$dir/bootdev" 2>/dev/null || echo pxe)" ;;
        *) echo "Invalid parameter: $param"; exit 1 ;;
      esac
    done
    ;;
  set)
    while [ $# -gt 0 ]; do
      param=$1
      value=${2:-}
      shift 2 2>/dev/null || shift
      case $param in
        power) if [ "$value" = 1 ]; then power_on; else power_off; fi ;;
        reset) echo "reset" >> "$events"; power_off; power_on ;;
        boot) echo "$value" > "$dir/bootdev"; echo "boot $value" >> "$events" ;;
        # No ACPI handler runs in the ramdisk or the test image, so a soft
        # power-off would never finish: treat it as a hard one.
        shutdown) echo "soft-off" >> "$events"; power_off ;;
        identify) shift 1 2>/dev/null || true ;;
        *) echo "Invalid parameter: $param"; exit 1 ;;
      esac
    done
    ;;
  check) exit 1 ;;
  *) echo "Unknown operation: $op"; exit 1 ;;
esac
exit 0
