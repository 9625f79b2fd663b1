#!/bin/bash
# test/kvm/run-nested.sh: runs Vireo's KVM tests where there is a /dev/kvm: inside a QEMU
# TCG guest with an emulated AMD SVM CPU (-cpu max), which loads kvm-amd. The host's / is
# shared read-only over virtio-9p and the test command runs chrooted in it, so the host's
# node, node_modules and this checkout are used as they are. Builds the guest first if
# needed (test/kvm/build.sh, cached outside the repository).
#
#   test/kvm/run-nested.sh                 # npx vitest run --configLoader runner test/kvm/inner
#                                          (the runner loader: vite cannot write its temp config to the read-only share)
#   test/kvm/run-nested.sh 'node -e 0'     # any command (run from the repository root)
# Env: VIREO_KVM_CACHE (cache dir), MEM (MiB, default 512), TIMEOUT (s, default 900), LOG.
# Exit status 0 only if the guest printed "VIREO-KVM: RESULT PASS".
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
OUT=${VIREO_KVM_CACHE:-$HOME/.cache/vireo/kvm-nested}
[ -f "$OUT/vmlinux" ] && [ -f "$OUT/initrd.cpio.gz" ] && [ "$OUT/initrd.cpio.gz" -nt "$HERE/init" ] || "$HERE/build.sh" || exit 1
CMD=${1:-npx vitest run --configLoader runner test/kvm/inner}
case "$CMD" in *@*|*\"*) echo "run-nested.sh: the command must not contain @ or \"" >&2; exit 2 ;; esac
# Inside the guest the tests must know they are meant to run (and fail loudly if KVM is missing).
# HOME and TMPDIR on the guest's tmpfs (/run): the host's / (and /tmp) are read-only there.
FULL="cd $REPO && VIREO_KVM_NESTED=1 HOME=/run TMPDIR=/run $CMD"
LOG=${LOG:-$OUT/run-$(date +%s).log}
echo "run-nested.sh: $CMD (log $LOG)" >&2
timeout "${TIMEOUT:-900}" qemu-system-x86_64 \
  -accel tcg,thread=multi -machine q35 -cpu max -smp 1 -m "${MEM:-512}" \
  -kernel "$OUT/vmlinux" -initrd "$OUT/initrd.cpio.gz" \
  -append "console=ttyS0 quiet loglevel=4 panic=-1 rootfstype=ramfs vireo.cmd=${FULL// /@}" \
  -nographic -no-reboot -serial mon:stdio -monitor none -nic none \
  -virtfs "local,path=/,mount_tag=host,security_model=none,multidevs=remap,id=host,readonly=on" \
  2>&1 | tee "$LOG"
grep -a -q 'VIREO-KVM: RESULT PASS' "$LOG"
