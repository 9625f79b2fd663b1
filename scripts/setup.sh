#!/usr/bin/env bash
# Installs what Vireo needs on a Debian/Ubuntu machine: the Debian packages the emulator
# and the tests use (firmware, QEMU as a test oracle, Chromium for UI tests, image tools),
# then the npm dependencies. Safe to run again: it installs only what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

PACKAGES=(
  seabios ovmf                          # firmware the emulator boots (never committed)
  chromium                              # end-to-end UI tests (playwright-core drives it)
  qemu-system-x86 qemu-utils            # oracles: CPU differential tests, qemu-img checks
  nasm                                  # assembles CPU test guests
  xorriso isolinux syslinux-common      # builds bootable test ISOs
  acpica-tools                          # iasl -d checks our ACPI tables
  cpio                                  # packs test initramfs images
  vncsnapshot libjpeg-turbo-progs       # a VNC client nobody here wrote, for RFB interop tests
  passt                                 # user-mode networking for guests
  kmod zstd                             # nested-KVM test harness (depmod, compressed modules)
  osinfo-db                             # OS detection for install media (the wizard)
  time                                  # GNU time: CPU time and peak memory in the benchmarks
  g++ make python3                      # node-gyp builds node-pty (serial port as a host pty)
)
# The 32-bit Linux test guest (i386 kernel + busybox) is fetched with `apt-get download`
# at test time; that needs the i386 architecture in apt's lists.

if command -v dpkg-query >/dev/null 2>&1; then
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  need_update=0
  if ! dpkg --print-foreign-architectures | grep -qx i386; then
    echo "setup: enabling the i386 architecture in apt (for the 32-bit test guest)"
    $SUDO dpkg --add-architecture i386
    need_update=1
  fi
  missing=()
  for p in "${PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  if [ ${#missing[@]} -gt 0 ] || [ "$need_update" = 1 ]; then
    # A mirror mid-sync can fail one index; the others still update, so go on.
    $SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -qq || echo "setup: apt-get update reported errors; continuing with the lists it has"
  fi
  if [ ${#missing[@]} -gt 0 ]; then
    echo "setup: installing Debian packages: ${missing[*]}"
    $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
  fi
else
  echo "setup: not a Debian-based system; install the equivalents of: ${PACKAGES[*]}" >&2
fi

# Electron's binary is fetched by its own install script, which npm does not run here
# (package.json "allowScripts"). `npm start` fetches it on first use where the network allows.
export ELECTRON_SKIP_BINARY_DOWNLOAD=1
# `npm install` with the committed lockfile, not `npm ci`: some registries (mirrors) do not
# serve every platform's optional packages (e.g. rollup's Android/Windows builds), and
# `npm ci` refuses a lockfile that lacks them even though they are never installed here.
# With exact pins in package.json and the lockfile present, `npm install` installs the
# locked versions and leaves package-lock.json unchanged.
#
# node-pty (a VM's serial port as a host pseudo-terminal) is a native addon built by node-gyp
# during the install (allowed in package.json "allowScripts"). node-gyp needs the running
# Node's headers: where they are installed beside it (Debian and NodeSource packages put them
# in /usr/include/node), use those instead of letting node-gyp download them.
node_prefix="$(node -p 'require("node:path").resolve(process.execPath, "..", "..")')"
if [ -z "${npm_config_nodedir:-}" ] && [ -f "$node_prefix/include/node/common.gypi" ]; then
  export npm_config_nodedir="$node_prefix"
fi
npm install --no-audit --no-fund
# node-pty is an optional dependency (a failed build must not stop the install on hosts that
# cannot build it, e.g. Windows without build tools), so check that it is there.
if [ "$(node -p process.platform)" != "win32" ] && ! node -e "require('node-pty')" >/dev/null 2>&1; then
  echo "setup: node-pty (serial pseudo-terminals) did not build; see \`npm install --foreground-scripts\` for node-gyp's error (it needs g++, make, python3 and Node's headers)" >&2
  exit 1
fi
