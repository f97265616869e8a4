#!/usr/bin/env bash
# xen-lab.sh: a nested Xen 4.17 lab, built from Debian packages alone and
# booted under QEMU with TCG (issue 14; docs/adapters.md, "Xen lab").
#
#   xen-lab.sh check                    are the prerequisites here? (exit 77 if not)
#   xen-lab.sh prepare [--xen V]        download and build what a boot needs (cached)
#   xen-lab.sh run [options] TEST       boot Xen, run scripts/xen-lab/tests/TEST.sh in dom0
#   xen-lab.sh clean                    remove the cache
#
# run options:
#   --xen current|pinned   the hypervisor: Debian 12's current xen-hypervisor-4.17-amd64
#                          (default) or the pinned point release 4.17.5+72-g01140da4e8-1,
#                          which still has shadow paging (PV log-dirty)
#   --engine FILE          fgbi-engine to copy into dom0 (default build/release/cli/fgbi-engine)
#   --check FILE           xen_lab_check to copy into dom0 (default next to the engine's build)
#   --timeout S            give up after S seconds of boot + test (default 900)
#   --log FILE             keep the serial console log in FILE
#   --set NAME=VALUE       set a variable of the test in dom0 (e.g. EPOCHS=5; each test
#                          lists its own); NAME in capitals and not XEN_LAB_* (the lab's
#                          own), VALUE of [A-Za-z0-9_.,:/=+-]
#
# Exit status of run: 0 PASS, 1 FAIL (including a timeout or a crash), 77 SKIP
# (a prerequisite is missing, or the test skipped itself, e.g. no pinned Xen).
#
# What it builds, cached under ${FGBI_XEN_LAB_CACHE:-${XDG_CACHE_HOME:-~/.cache}/fgbi-xen-lab},
# each keyed by the Debian package versions it came from:
#   xen-VERSION              the gunzipped hypervisor (multiboot kernel for QEMU's -kernel)
#   kernel-VERSION/          Debian's linux-image vmlinuz (dom0 and guests) and the dom0
#                            modules it needs (xen, virtio-blk, ext4) as a cpio
#   dom0-KEY/rootfs.cpio.zst a debootstrap --variant=minbase of bookworm with xen-utils-4.17
#                            (about 5 minutes to build; the key hashes the recipe and versions)
#   guest-KEY/guest.cpio.gz  busybox-static and an init that keeps rewriting memory
# A run concatenates a small overlay (the dom0 /init, the test, fgbi-engine and the shared
# libraries it needs that the rootfs lacks), the modules and the rootfs into dom0's initramfs.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
CACHE=${FGBI_XEN_LAB_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/fgbi-xen-lab}
MIRROR=${FGBI_XEN_LAB_MIRROR:-http://deb.debian.org/debian}
SECURITY_MIRROR=${FGBI_XEN_LAB_SECURITY_MIRROR:-http://deb.debian.org/debian-security}
SUITE=bookworm
PINNED_XEN=4.17.5+72-g01140da4e8-1
# Modules dom0 loads (anything built in is skipped).
DOM0_MODULES="xenfs xen-evtchn xen-gntdev xen-gntalloc xen-privcmd virtio_pci virtio_blk ext4"

say() { echo "xen-lab: $*" >&2; }
die() { say "error: $*"; exit 1; }
skip() { say "SKIP: $*"; exit 77; }

# ---------------------------------------------------------------- prerequisites
missing_prerequisites() {
  local miss=()
  [ "$(uname -m)" = x86_64 ] || miss+=("an x86_64 host")
  [ "$(id -u)" = 0 ] || miss+=("root (debootstrap, chroot, cpio of root-owned files)")
  local tool
  for tool in qemu-system-x86_64 debootstrap cpio zstd gzip depmod modprobe mkfs.ext4 \
              dpkg-deb apt-get apt-cache flock timeout; do
    command -v "$tool" >/dev/null 2>&1 || miss+=("$tool")
  done
  [ -e /usr/share/seabios/bios-256k.bin ] || miss+=("seabios (QEMU's BIOS)")
  if [ ${#miss[@]} -gt 0 ]; then
    echo "missing: ${miss[*]} (Debian: apt-get install qemu-system-x86 debootstrap cpio zstd kmod e2fsprogs)"
  fi
}

cmd_check() {
  local m
  m=$(missing_prerequisites)
  [ -z "$m" ] || skip "$m"
  say "prerequisites present; cache: $CACHE"
}

# ---------------------------------------------------------------- versions
candidate() {  # the version apt would install of package $1
  apt-cache policy "$1" 2>/dev/null | awk '/Candidate:/ {print $2; exit}'
}
available() {  # is version $2 of package $1 known to apt?
  apt-cache show "$1=$2" >/dev/null 2>&1
}
kernel_package() {  # linux-image-X.Y.Z-N-amd64, what linux-image-amd64 depends on
  apt-cache depends linux-image-amd64 2>/dev/null | awk '/Depends: linux-image-/ {print $2; exit}'
}

resolve_versions() {
  XEN_CURRENT=$(candidate xen-hypervisor-4.17-amd64)
  XEN_UTILS=$(candidate xen-utils-4.17)
  KPKG=$(kernel_package)
  KPKG_VERSION=$(candidate "$KPKG")
  BUSYBOX_VERSION=$(candidate busybox-static)
  [ -n "$XEN_CURRENT" ] && [ -n "$XEN_UTILS" ] && [ -n "$KPKG" ] && [ -n "$BUSYBOX_VERSION" ] ||
    die "apt does not know xen-hypervisor-4.17-amd64, xen-utils-4.17, linux-image-amd64 or \
busybox-static: is this Debian 12 with main enabled? (apt-get update)"
}

# Downloads package $1 version $2 into the cache, prints the .deb's path.
fetch_deb() {
  local pkg=$1 ver=$2 dir="$CACHE/debs"
  mkdir -p "$dir"
  local f
  f=$(ls "$dir/${pkg}_${ver//:/%3a}_"*.deb 2>/dev/null | head -1 || true)
  if [ -z "$f" ]; then
    (cd "$dir" && apt-get download -q "$pkg=$ver" >&2 2>/dev/null) ||
      (cd "$dir" && apt-get download -q "$pkg=$ver" >&2) || die "cannot download $pkg=$ver"
    f=$(ls "$dir/${pkg}_${ver//:/%3a}_"*.deb | head -1)
  fi
  echo "$f"
}

# ---------------------------------------------------------------- artifacts
# The hypervisor: Debian ships it gzipped; QEMU's multiboot loader wants it plain.
prepare_xen() {  # $1 = version; prints the image's path
  local ver=$1 out="$CACHE/xen-$1"
  if [ ! -s "$out" ]; then
    local deb tmp
    deb=$(fetch_deb xen-hypervisor-4.17-amd64 "$ver")
    tmp=$(mktemp -d "$CACHE/tmp.XXXXXX")
    dpkg-deb -x "$deb" "$tmp"
    gzip -dc "$tmp"/boot/xen-4.17-amd64.gz > "$out.part"
    mv "$out.part" "$out"
    rm -rf "$tmp"
    say "hypervisor $ver ready"
  fi
  echo "$out"
}

prepare_kernel() {  # sets KDIR (vmlinuz, modules.cpio.zst, version)
  KDIR="$CACHE/kernel-$KPKG_VERSION"
  if [ ! -s "$KDIR/modules.cpio" ]; then
    local deb tmp kver mod
    deb=$(fetch_deb "$KPKG" "$KPKG_VERSION")
    tmp=$(mktemp -d "$CACHE/tmp.XXXXXX")
    dpkg-deb -x "$deb" "$tmp/full"
    kver=$(ls "$tmp/full/lib/modules")
    depmod -b "$tmp/full" "$kver"
    # Under usr/lib: in the merged-/usr rootfs, /lib is a symlink to usr/lib.
    mkdir -p "$tmp/sub/usr/lib/modules/$kver" "$KDIR"
    cp "$tmp/full/lib/modules/$kver"/modules.{order,builtin,builtin.modinfo} \
      "$tmp/sub/usr/lib/modules/$kver/"
    for mod in $DOM0_MODULES; do
      modprobe -d "$tmp/full" -S "$kver" --show-depends "$mod" |
        awk '$1 == "insmod" {print $2}' | while read -r ko; do
          local rel=usr/${ko#"$tmp/full/"}
          mkdir -p "$tmp/sub/$(dirname "$rel")"
          cp "$ko" "$tmp/sub/$rel"
        done
    done
    depmod -b "$tmp/sub/usr" "$kver"
    (cd "$tmp/sub" && find . | cpio -o -H newc --quiet -R 0:0 > "$KDIR/modules.cpio.part")
    cp "$tmp/full/boot/vmlinuz-$kver" "$KDIR/vmlinuz"
    echo "$kver" > "$KDIR/version"
    mv "$KDIR/modules.cpio.part" "$KDIR/modules.cpio"
    rm -rf "$tmp"
    say "kernel $KPKG $KPKG_VERSION ready"
  fi
}

# The dom0 root file system. Changing this function changes the cache key.
build_rootfs() {  # $1 = empty directory
  local root=$1
  debootstrap --variant=minbase --include=busybox,kmod "$SUITE" "$root" "$MIRROR" >&2
  cat > "$root/etc/apt/sources.list" <<EOF
deb $MIRROR $SUITE main
deb $MIRROR $SUITE-updates main
deb $SECURITY_MIRROR $SUITE-security main
EOF
  printf '#!/bin/sh\nexit 101\n' > "$root/usr/sbin/policy-rc.d"  # start no services
  chmod +x "$root/usr/sbin/policy-rc.d"
  mount -t proc proc "$root/proc"
  MOUNTED_PROC="$root/proc"  # on_exit unmounts it if anything below fails
  chroot "$root" apt-get -q update >&2
  chroot "$root" env DEBIAN_FRONTEND=noninteractive apt-get -q install -y \
    --no-install-recommends "xen-utils-4.17=$XEN_UTILS" >&2
  chroot "$root" apt-get clean
  umount "$root/proc"
  MOUNTED_PROC=
  rm -rf "$root"/var/lib/apt/lists/* "$root"/usr/share/{doc,man,info,locale}/* \
    "$root"/var/cache/debconf/*-old "$root"/var/log/*.log
  chroot "$root" dpkg-query -W -f '${Package} ${Version}\n' > "$root/etc/xen-lab-packages"
}

prepare_rootfs() {  # sets ROOTFS_DIR (rootfs.cpio.zst, rootfs.files)
  local key
  key=$( { declare -f build_rootfs; echo "$SUITE $MIRROR $SECURITY_MIRROR $XEN_UTILS"; } |
         sha256sum | cut -c1-16)
  ROOTFS_DIR="$CACHE/dom0-$key"
  if [ ! -s "$ROOTFS_DIR/rootfs.cpio.zst" ]; then
    local tmp t0=$SECONDS
    say "building dom0's root file system (debootstrap, about 5 minutes; cached in $ROOTFS_DIR)"
    tmp=$(mktemp -d "$CACHE/tmp.XXXXXX")
    build_rootfs "$tmp/root"
    mkdir -p "$ROOTFS_DIR"
    (cd "$tmp/root" && find . | sort > "$ROOTFS_DIR/rootfs.files" &&
       find . | cpio -o -H newc --quiet | zstd -q -3 -T0 > "$ROOTFS_DIR/rootfs.cpio.zst.part")
    cp "$tmp/root/etc/xen-lab-packages" "$ROOTFS_DIR/packages"
    mv "$ROOTFS_DIR/rootfs.cpio.zst.part" "$ROOTFS_DIR/rootfs.cpio.zst"
    rm -rf "$tmp"
    say "dom0 root file system ready in $((SECONDS - t0)) s ($(du -h "$ROOTFS_DIR/rootfs.cpio.zst" | cut -f1))"
  fi
}

prepare_guest() {  # sets GUEST_DIR (guest.cpio.gz)
  local key
  key=$( { cat "$HERE/guest-init"; echo "$BUSYBOX_VERSION"; } | sha256sum | cut -c1-16)
  GUEST_DIR="$CACHE/guest-$key"
  if [ ! -s "$GUEST_DIR/guest.cpio.gz" ]; then
    local deb tmp
    deb=$(fetch_deb busybox-static "$BUSYBOX_VERSION")
    tmp=$(mktemp -d "$CACHE/tmp.XXXXXX")
    dpkg-deb -x "$deb" "$tmp/deb"
    mkdir -p "$tmp/root"/{bin,dev,proc,sys,tmp,mnt} "$GUEST_DIR"
    cp "$tmp/deb/bin/busybox" "$tmp/root/bin/busybox"
    install -m 755 "$HERE/guest-init" "$tmp/root/init"
    (cd "$tmp/root" && find . | cpio -o -H newc --quiet -R 0:0 | gzip -9 > "$GUEST_DIR/guest.cpio.gz.part")
    mv "$GUEST_DIR/guest.cpio.gz.part" "$GUEST_DIR/guest.cpio.gz"
    rm -rf "$tmp"
    say "guest initramfs ready"
  fi
}

# Prepares everything for hypervisor $1 (current|pinned); sets XEN_IMAGE, XEN_VERSION.
prepare_all() {
  local which=$1
  mkdir -p "$CACHE"
  exec 9> "$CACHE/lock"
  flock 9  # one preparation at a time; runs share the cache read-only afterwards
  unmount_stale
  rm -rf "$CACHE"/tmp.*
  resolve_versions
  case $which in
    current) XEN_VERSION=$XEN_CURRENT ;;
    pinned)
      XEN_VERSION=$PINNED_XEN
      if [ ! -s "$CACHE/xen-$PINNED_XEN" ] && ! available xen-hypervisor-4.17-amd64 "$PINNED_XEN"; then
        flock -u 9
        skip "the pinned hypervisor xen-hypervisor-4.17-amd64=$PINNED_XEN is not in apt's lists \
(it was Debian 12's point-release version; PV log-dirty needs it, the security build has no shadow paging)"
      fi ;;
    *) die "--xen takes current or pinned" ;;
  esac
  XEN_IMAGE=$(prepare_xen "$XEN_VERSION")
  prepare_kernel
  prepare_rootfs
  prepare_guest
  flock -u 9
}

cmd_prepare() {
  local which=current
  while [ $# -gt 0 ]; do
    case $1 in
      --xen) which=$2; shift 2 ;;
      *) die "prepare: unknown option $1" ;;
    esac
  done
  local m
  m=$(missing_prerequisites)
  [ -z "$m" ] || skip "$m"
  prepare_all "$which"
  say "ready: xen $XEN_VERSION, kernel $KPKG_VERSION, dom0 $ROOTFS_DIR"
}

# ---------------------------------------------------------------- run
# Copies executable $1 into overlay $2 at /opt/fgbi/bin, and every shared
# library it needs that the rootfs lacks into /opt/fgbi/lib.
add_executable() {
  local exe=$1 ov=$2 lib base
  install -D -m 755 "$exe" "$ov/opt/fgbi/bin/$(basename "$exe")"
  mkdir -p "$ov/opt/fgbi/lib"
  ldd "$exe" | awk '/=> \// {print $3}' | while read -r lib; do
    base=$(basename "$lib")
    if ! grep -qxF -e "./usr/lib/x86_64-linux-gnu/$base" -e "./lib/x86_64-linux-gnu/$base" \
         "$ROOTFS_DIR/rootfs.files"; then
      cp -L "$lib" "$ov/opt/fgbi/lib/$base"
    fi
  done
}

# Under the lock: a proc left mounted in a chroot by a killed preparation.
unmount_stale() {
  local m
  awk -v p="$CACHE/tmp." 'index($2, p) == 1 {print $2}' /proc/mounts | sort -r |
    while read -r m; do umount -l "$m" || true; done
}

MOUNTED_PROC=
QEMU_PID=
TAIL_PID=
WORK=
on_exit() {
  if [ -n "$MOUNTED_PROC" ]; then umount -l "$MOUNTED_PROC" 2>/dev/null || true; fi
  if [ -n "$QEMU_PID" ] && kill -0 "$QEMU_PID" 2>/dev/null; then
    kill "$QEMU_PID" 2>/dev/null || true
    wait "$QEMU_PID" 2>/dev/null || true
  fi
  if [ -n "$TAIL_PID" ]; then kill "$TAIL_PID" 2>/dev/null || true; fi
  if [ -n "$WORK" ] && [ -z "${FGBI_XEN_LAB_KEEP:-}" ]; then rm -rf "$WORK"; fi
}

cmd_run() {
  local which=current engine="$REPO/build/release/cli/fgbi-engine" check="" timeout=900 keep_log=""
  local sets=()
  while [ $# -gt 0 ]; do
    case $1 in
      --xen) which=$2; shift 2 ;;
      --engine) engine=$2; shift 2 ;;
      --check) check=$2; shift 2 ;;
      --timeout) timeout=$2; shift 2 ;;
      --log) keep_log=$2; shift 2 ;;
      --set)
        # /lab/env is sourced by the test's shell: nothing but a plain assignment.
        [[ ${2:-} =~ ^[A-Z][A-Z0-9_]*=[A-Za-z0-9_.,:/=+-]*$ && ${2:-} != XEN_LAB_* ]] ||
          die "run: --set takes NAME=VALUE (NAME in capitals, not XEN_LAB_*; VALUE of [A-Za-z0-9_.,:/=+-])"
        sets+=("$2"); shift 2 ;;
      -*) die "run: unknown option $1" ;;
      *) break ;;
    esac
  done
  [ $# -eq 1 ] || die "run: name one test (scripts/xen-lab/tests/*.sh)"
  local test="$HERE/tests/$1.sh"
  [ -f "$test" ] || die "no test $test"
  [ -n "$check" ] || check="$(dirname "$engine")/../tests/xen_lab_check"
  local m
  m=$(missing_prerequisites)
  [ -z "$m" ] || skip "$m"
  [ -x "$engine" ] || skip "no fgbi-engine at $engine (build first)"
  [ -x "$check" ] || skip "no xen_lab_check at $check (built with libxen-dev)"
  ldd "$engine" | grep libxenctrl > /dev/null ||  # not -q: with pipefail, SIGPIPE to ldd fails it
    skip "$engine was built without the Xen adapter (libxen-dev missing at configure time)"

  local t0=$SECONDS
  prepare_all "$which"
  local t_prepared=$SECONDS

  WORK=$(mktemp -d "${TMPDIR:-/tmp}/fgbi-xen-lab.XXXXXX")
  local ov="$WORK/overlay" kver
  kver=$(cat "$KDIR/version")
  mkdir -p "$ov/lab"
  install -m 755 "$HERE/dom0-init" "$ov/init"
  install -m 644 "$HERE/lib.sh" "$ov/lab/lib.sh"
  install -m 755 "$test" "$ov/lab/test.sh"
  cp "$KDIR/vmlinuz" "$ov/lab/vmlinuz"
  cp "$GUEST_DIR/guest.cpio.gz" "$ov/lab/guest.cpio.gz"
  printf 'XEN_LAB_XEN=%s\nXEN_LAB_WHICH=%s\nXEN_LAB_KERNEL=%s\n' \
    "$XEN_VERSION" "$which" "$kver" > "$ov/lab/env"
  [ ${#sets[@]} -eq 0 ] || printf '%s\n' "${sets[@]}" >> "$ov/lab/env"
  add_executable "$engine" "$ov"
  add_executable "$check" "$ov"
  # The stopwatch for `xl remus` (tests/xen_lab/remus_timing.c), built beside xen_lab_check.
  if [ -f "$(dirname "$check")/libxen_lab_remus_timing.so" ]; then
    install -m 644 "$(dirname "$check")/libxen_lab_remus_timing.so" "$ov/opt/fgbi/lib/"
  fi
  (cd "$ov" && find . | cpio -o -H newc --quiet -R 0:0 > "$WORK/overlay.cpio")
  # The compressed archive goes last: the kernel's zstd decoder takes the rest of the
  # initramfs as zstd frames, so nothing may follow it.
  cat "$WORK/overlay.cpio" "$KDIR/modules.cpio" "$ROOTFS_DIR/rootfs.cpio.zst" > "$WORK/dom0.img"
  # Scratch disk for replicas: recv reserves (fallocate) its replica and journal, each the
  # size of the guest's p2m (4 GiB for a PVH guest), which tmpfs would really allocate.
  truncate -s 20G "$WORK/scratch.img"
  mkfs.ext4 -q -F -E lazy_itable_init=1,lazy_journal_init=1,nodiscard "$WORK/scratch.img"

  local log="$WORK/serial.log"
  : > "$log"
  # Xen on com1; dom0's console (hvc0) goes through Xen's console to com1 too.
  # One dom0 vCPU: with two, dom0's memory is occasionally corrupted under TCG (traces
  # written by any adapter fail their checksums, processes die in ld.so or segfault;
  # tests/stress.sh); with one, never in the runs made (docs/adapters.md, "Xen lab").
  local xen_args="console=com1 com1=115200,8n1 dom0_mem=1536M,max:1536M dom0_max_vcpus=1 \
bootscrub=0 loglvl=all guest_loglvl=all console_timestamps=boot ${FGBI_XEN_LAB_XEN_ARGS:-}"
  local dom0_args="console=hvc0 earlyprintk=xen rdinit=/init loglevel=5"
  say "booting Xen $XEN_VERSION ($which) with dom0 kernel $kver; test $1${sets[*]:+ (${sets[*]})}; timeout ${timeout}s"
  # timeout(1) outlives this script if it is killed outright (SIGKILL): QEMU never lingers.
  timeout -k 10 $((timeout + 60)) qemu-system-x86_64 \
    -nodefaults -display none -no-reboot \
    -accel tcg,thread=multi -cpu max,-smap,-smep -smp 2 -m 2560 \
    -serial "file:$log" \
    -kernel "$XEN_IMAGE" -append "$xen_args" \
    -initrd "$KDIR/vmlinuz $dom0_args,$WORK/dom0.img" \
    -drive "file=$WORK/scratch.img,if=virtio,format=raw,cache=unsafe" \
    ${FGBI_XEN_LAB_QEMU_ARGS:-} \
    < /dev/null > "$WORK/qemu.out" 2>&1 &
  QEMU_PID=$!
  (tail -n +1 -f --pid="$QEMU_PID" "$log" | sed -u 's/\r$//') &
  TAIL_PID=$!

  local result="" deadline=$((SECONDS + timeout))
  while :; do
    result=$(grep -a -o 'FGBI-XEN-LAB-RESULT: [A-Z]*' "$log" | head -1 | awk '{print $2}' || true)
    [ -z "$result" ] || break
    if ! kill -0 "$QEMU_PID" 2>/dev/null; then
      result=DIED
      break
    fi
    if [ $SECONDS -ge $deadline ]; then
      result=TIMEOUT
      break
    fi
    sleep 1
  done
  sleep 1  # let the tail print the last lines
  kill "$QEMU_PID" 2>/dev/null || true
  wait "$QEMU_PID" 2>/dev/null || true
  QEMU_PID=
  [ -z "$keep_log" ] || tr -d '\r' < "$log" > "$keep_log"
  local t_end=$SECONDS
  say "timings: prepare $((t_prepared - t0)) s, boot + test $((t_end - t_prepared)) s, total $((t_end - t0)) s"
  case $result in
    PASS) say "PASS: $1 on Xen $XEN_VERSION"; exit 0 ;;
    SKIP) say "SKIP: $1 on Xen $XEN_VERSION (see the reason above)"; exit 77 ;;
    FAIL) say "FAIL: $1 on Xen $XEN_VERSION"; exit 1 ;;
    DIED) say "FAIL: QEMU exited before a result: $(cat "$WORK/qemu.out")"; exit 1 ;;
    TIMEOUT) say "FAIL: no result within ${timeout}s"; exit 1 ;;
  esac
}

cmd_clean() {
  mkdir -p "$CACHE"
  exec 9> "$CACHE/lock"
  flock 9
  unmount_stale
  rm -rf "$CACHE"
}

trap on_exit EXIT
trap 'exit 130' INT
trap 'exit 143' TERM HUP

case ${1:-} in
  check) shift; cmd_check "$@" ;;
  prepare) shift; cmd_prepare "$@" ;;
  run) shift; cmd_run "$@" ;;
  clean) shift; cmd_clean "$@" ;;
  *) sed -n '2,24p' "$0" | sed 's/^# \{0,1\}//'; exit 2 ;;
esac
