#!/bin/bash
# test/kvm/run-nested.sh: runs Vireo's KVM tests where there is a /dev/kvm: inside a QEMU
# TCG guest with an emulated AMD SVM CPU (-cpu max), which loads kvm-amd. The host's / is
# shared read-only over virtio-9p and the test command runs with it as its root, so the host's
# node, node_modules and this checkout are used as they are. Builds the guest first if
# needed (test/kvm/build.sh, cached outside the repository).
#
#   test/kvm/run-nested.sh                 # vitest on test/kvm/inner, then test/kvm/last
#                                          (the runner loader: vite cannot write its temp config to the read-only share)
#   test/kvm/run-nested.sh 'node -e 0'     # any command (run from the repository root)
# Before the guest starts, the host builds what the tests need and the offline guest cannot
# (test/kvm/kvm-fixtures.ts: the Linux test ISO from Debian packages and the interpreter's
# serial output of its boot, the reference for the KVM boot; a few minutes the first time per
# commit, VIREO_KVM_REFERENCE=0 skips the reference) into the fixture cache, which the guest
# reads through VIREO_CACHE, and dist/ when it is missing (the inner Linux test runs the built
# `vireo` command).
# Env: VIREO_KVM_CACHE (cache dir), VIREO_CACHE (fixture cache, default ~/.cache/vireo),
# MEM (MiB, default 512), TIMEOUT (s, default 1500, 600 with VIREO_KVM_LINUX=0: the two Linux
# boots under KVM take one or two minutes each, and each fails by itself after 7 minutes), LOG,
# VIREO_KVM_LINUX (0: without the Linux boots under KVM), MONITOR (a path: the QEMU monitor on
# that unix socket, for `info registers` or `sendkey alt-sysrq-t`; default a private one),
# HEARTBEAT_S and STALL_S (the heartbeat and the stall watchdog, below).
# Exit status 0 only if the guest printed "VIREO-KVM: RESULT PASS".
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
OUT=${VIREO_KVM_CACHE:-$HOME/.cache/vireo/kvm-nested}
[ -f "$OUT/vmlinux" ] && [ -f "$OUT/initrd.cpio.gz" ] && [ "$OUT/initrd.cpio.gz" -nt "$HERE/init" ] || "$HERE/build.sh" || exit 1
# Default: test/kvm/inner, then test/kvm/last (a triple fault, which upsets the nested KVM).
CMD=${1:-npx vitest run --configLoader runner test/kvm/inner && npx vitest run --configLoader runner test/kvm/last}
case "$CMD" in *@*|*\"*) echo "run-nested.sh: the command must not contain @ or \"" >&2; exit 2 ;; esac
# Inside the guest the tests must know they are meant to run (and fail loudly if KVM is missing).
# HOME and TMPDIR on the guest's tmpfs (/run): the host's / (and /tmp) are read-only there.
FIXTURES=${VIREO_CACHE:-$HOME/.cache/vireo}
case "$FIXTURES" in *' '*|*@*) echo "run-nested.sh: the fixture cache path must not contain spaces or @" >&2; exit 2 ;; esac
# The inner Linux tests run the built `vireo` command: build it when missing or older than a source.
DIST="$REPO/dist/main/cli/vireo.js"
{ [ -f "$DIST" ] && [ -z "$(find "$REPO/emulator" "$REPO/main" "$REPO/protocol" -name '*.ts' -newer "$DIST" -print -quit)" ]; } \
  || (cd "$REPO" && npm run build:node >/dev/null) || { echo "run-nested.sh: npm run build:node failed" >&2; exit 1; }
# The Linux boots under nested KVM (the test ISO and the virtio guest) run unless
# VIREO_KVM_LINUX=0; their fixtures are built only then.
LINUX=${VIREO_KVM_LINUX:-1}
[ "$LINUX" = 1 ] || echo "run-nested.sh: the Linux boots under KVM are skipped (VIREO_KVM_LINUX=0)" >&2
REF=
if [ "$LINUX" = 1 ]; then
  FIXJSON=$(cd "$REPO" && npx esbuild test/kvm/kvm-fixtures.ts --bundle --platform=node --format=esm --log-level=warning --outfile="$OUT/kvm-fixtures.mjs" \
    && VIREO_CACHE="$FIXTURES" node "$OUT/kvm-fixtures.mjs" "$REPO") || { echo "run-nested.sh: could not prepare the fixtures" >&2; exit 1; }
  echo "$FIXJSON" >&2
  # The reference recorded for this checkout's commit now (the tests must not look up a newer one).
  REF=$(printf '%s' "$FIXJSON" | sed -n 's/.*"interpReference":"\(\/[^"]*\)".*/\1/p')
fi
FULL="cd $REPO && export VIREO_KVM_NESTED=1 VIREO_KVM_LINUX=$LINUX VIREO_CACHE=$FIXTURES VIREO_KVM_REFERENCE=${VIREO_KVM_REFERENCE:-1} VIREO_KVM_REF_FILE=$REF HOME=/run TMPDIR=/run && $CMD"
LOG=${LOG:-$OUT/run-$(date +%s).log}
# The QEMU monitor on a unix socket (MONITOR, or a private temporary one): the watchdog uses it.
MONDIR=$(mktemp -d)
trap 'rm -rf "$MONDIR"' EXIT
MONITOR=${MONITOR:-$MONDIR/monitor.sock}
monitor() { # monitor COMMAND: prints the monitor's answer (python3: no socat needed)
  python3 - "$MONITOR" "$1" <<'PY' 2>&1
import socket, sys, time
s = socket.socket(socket.AF_UNIX); s.settimeout(4); s.connect(sys.argv[1])
s.sendall(sys.argv[2].encode() + b"\n"); time.sleep(1)
print(s.recv(1 << 16).decode(errors="replace"))
PY
}
echo "run-nested.sh: $CMD (log $LOG)" >&2
if [ "$LINUX" = 1 ]; then DEFAULT_TIMEOUT=1500; else DEFAULT_TIMEOUT=600; fi
# The nested test host is not fully reliable: in about one run in ten to thirty its timer
# interrupts stop for a minute or more ("watchdog: BUG: soft lockup - CPU#0 stuck for 99s!
# [node]" once they resume; the guest's BIOS timeouts expire meanwhile). Caught four times,
# with the nested vCPU idle in HLT (also with idle=poll) and with it busy running the guest in
# KVM_RUN. It went on each time right after a key press sent through the QEMU monitor; monitor
# commands alone (`info status`, `info registers` every 5 s) did not prevent it. So the nested
# kernel takes its timer from the HPET through the IOAPIC instead of the local APIC timer
# (nolapic_timer), and a heartbeat presses Shift (no character) through the monitor every
# HEARTBEAT_S seconds (default 5; 0: off): an external interrupt. And a watchdog: inside the
# guest vitest redraws its status every second, so a log silent for STALL_S seconds (default
# 180; 0: off) means the run is stuck; it is stopped instead of waiting for TIMEOUT.
NAME="vireo-kvm-nested-$$"
STALL=${STALL_S:-180}
BEAT=${HEARTBEAT_S:-5}
timeout "${TIMEOUT:-$DEFAULT_TIMEOUT}" qemu-system-x86_64 -name "$NAME" \
  -accel tcg,thread=multi -machine q35 -cpu max -smp 1 -m "${MEM:-512}" \
  -kernel "$OUT/vmlinux" -initrd "$OUT/initrd.cpio.gz" \
  -append "console=ttyS0 quiet loglevel=4 panic=-1 nolapic_timer sysrq_always_enabled rootfstype=ramfs vireo.cmd=${FULL// /@}" \
  -nographic -no-reboot -serial mon:stdio -monitor "unix:$MONITOR,server,nowait" -nic none \
  -virtfs "local,path=/,mount_tag=host,security_model=none,multidevs=remap,id=host,readonly=on" \
  2>&1 | tee "$LOG" &
TEE=$!
last=-1; quiet=0; tick=0
while kill -0 "$TEE" 2>/dev/null; do
  sleep 1
  tick=$((tick + 1))
  if [ "$BEAT" -gt 0 ] && [ $((tick % BEAT)) -eq 0 ]; then monitor "sendkey shift" >/dev/null; fi
  [ $((tick % 5)) -eq 0 ] || continue
  size=$(stat -c %s "$LOG" 2>/dev/null || echo 0)
  if [ "$size" != "$last" ]; then last=$size; quiet=0; else quiet=$((quiet + 5)); fi
  if [ "$STALL" -gt 0 ] && [ "$quiet" -ge "$STALL" ]; then
    echo "run-nested.sh: no output from the nested host for ${STALL}s: it is stuck; stopping it (its CPU: $(monitor "info registers" | grep -a -o 'RIP=[0-9a-f]*.*HLT=[01]'))" | tee -a "$LOG" >&2
    pkill -f -- "-name $NAME" || true
    break
  fi
done
wait "$TEE"
grep -a -q 'VIREO-KVM: RESULT PASS' "$LOG"
