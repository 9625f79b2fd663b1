#!/bin/bash
# test/kvm/build.sh: builds the nested-KVM test guest (adapted from the reference recipe in
# /work/shared/tools/kvm-nested): Debian's kernel with kvm/kvm-amd and virtio-9p modules
# (and dummy, for a network interface passt can use), and a busybox initramfs whose /init
# loads them and runs a command with the host's root (shared read-only over 9p) as its
# root. Nothing is written to the repository: output goes to
# ${VIREO_KVM_CACHE:-~/.cache/vireo/kvm-nested}. Idempotent; ~30 s and ~70 MB download the
# first time.
#
# Needs (Debian 12): qemu-system-x86 busybox-static cpio kmod python3 (and apt-get download).
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
OUT=${VIREO_KVM_CACHE:-$HOME/.cache/vireo/kvm-nested}
mkdir -p "$OUT"
cd "$OUT"
need() { command -v "$1" >/dev/null || { echo "build.sh: missing $1 (apt-get install $2)" >&2; exit 1; }; }
need qemu-system-x86_64 qemu-system-x86
need cpio cpio
need depmod kmod
need python3 python3
{ [ -x /bin/busybox ] && ! ldd /bin/busybox >/dev/null 2>&1; } || { echo "build.sh: need a static /bin/busybox (apt-get install busybox-static)" >&2; exit 1; }

# 1. kernel + modules from Debian's linux-image-amd64
if [ ! -d kernel/boot ]; then
  PKG=$(apt-cache depends linux-image-amd64 | awk '/Depends: linux-image-/{print $2; exit}')
  mkdir -p deb
  (cd deb && apt-get download "$PKG")
  dpkg-deb -x deb/"$PKG"_*.deb kernel
fi
KVER=$(ls kernel/lib/modules | head -1)
[ -f "kernel/lib/modules/$KVER/modules.dep" ] || depmod -b kernel "$KVER"
VMLINUZ=$(ls kernel/boot/vmlinuz-*)
# 2. uncompressed vmlinux: QEMU boots it through PVH, ~3 s faster than the bzImage under TCG
if [ ! -f vmlinux ] || [ vmlinux -ot "$VMLINUZ" ]; then
  python3 - "$VMLINUZ" vmlinux <<'PY'
import lzma, sys
d = open(sys.argv[1], 'rb').read()
off = d.find(b'\xfd7zXZ\x00')   # Debian kernels are xz-compressed bzImages
open(sys.argv[2], 'wb').write(lzma.LZMADecompressor(format=lzma.FORMAT_XZ).decompress(d[off:]))
PY
fi
# 3. initramfs: busybox, modules (deps first), /init
rm -rf root && mkdir -p root/{bin,sbin,dev,proc,sys,tmp,host,lib/modules}
cp /bin/busybox root/bin/busybox
for a in $(/bin/busybox --list); do [ "$a" = busybox ] || ln -sf busybox "root/bin/$a"; done
MODDIR=kernel/lib/modules/$KVER
mods_for() {
  local deps; deps=$(awk -F': ' -v m="$1" '$1==m{print $2}' "$MODDIR/modules.dep")
  for d in $(echo $deps | tr ' ' '\n' | tac); do echo "$d"; done
  echo "$1"
}
: > root/lib/modules/load-order
for m in kernel/arch/x86/kvm/kvm-amd.ko kernel/drivers/virtio/virtio_pci.ko kernel/net/9p/9pnet_virtio.ko kernel/fs/9p/9p.ko kernel/drivers/net/dummy.ko; do
  mods_for "$m"
done | awk '!seen[$0]++' | while read -r p; do
  case "$p" in
    *.ko.xz)  xz -dc "$MODDIR/$p" > "root/lib/modules/$(basename "$p" .xz)"; basename "$p" .xz ;;
    *.ko.zst) zstd -qdc "$MODDIR/$p" > "root/lib/modules/$(basename "$p" .zst)"; basename "$p" .zst ;;
    *)        cp "$MODDIR/$p" root/lib/modules/; basename "$p" ;;
  esac >> root/lib/modules/load-order
done
cp "$HERE/init" root/init
chmod +x root/init
(cd root && find . | LC_ALL=C sort | cpio -o -H newc --quiet -R 0:0 | gzip -6) > initrd.cpio.gz
echo "build.sh: $OUT/vmlinux + initrd.cpio.gz ready (kernel $KVER; modules: $(tr '\n' ' ' < root/lib/modules/load-order))"
