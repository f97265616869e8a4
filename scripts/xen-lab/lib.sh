# Helpers for the lab's tests, sourced by /lab/test.sh in dom0 (busybox + Debian minbase).
. /lab/env  # XEN_LAB_XEN (hypervisor version), XEN_LAB_WHICH (current|pinned), XEN_LAB_KERNEL

log() { echo "xen-lab: $*"; }
fail() { echo "xen-lab: FAIL: $*"; exit 1; }
skip() { echo "xen-lab: SKIP: $*"; exit 77; }
# Times without starting processes (dom0 runs under TCG, where starting one is slow):
# now prints the uptime in centiseconds, since T prints the seconds since T.
now() { read -r up _ < /proc/uptime; echo "${up%.*}${up#*.}"; }
since() { t=$(($(now) - $1)); echo "$((t / 100)).$((t % 100 / 10))"; }

# start_guest NAME TYPE MEMORY_MIB [CMDLINE]: creates a guest from the lab's
# kernel and busybox initramfs (CMDLINE: more kernel arguments, e.g.
# xenlab_verify for guest-init's self-check) and waits (up to 300 s) until
# its init says it is up.
start_guest() {
  name=$1 type=$2 mem=$3 more=${4:-}
  {
    echo "name = \"$name\""
    echo "type = \"$type\""
    echo "kernel = \"/lab/vmlinuz\""
    echo "ramdisk = \"/lab/guest.cpio.gz\""
    echo "extra = \"console=hvc0 loglevel=4${more:+ $more}\""
    echo "memory = $mem"
    echo "vcpus = 1"
    echo "on_crash = \"preserve\""
    # No AVX: under TCG a guest's AVX instructions now and then raise #UD (once
    # busybox's init died of SIGILL in one of glibc's AVX2 string functions, and
    # the guest with it; docs/adapters.md, "Xen lab").
    echo "cpuid = \"host,avx=0\""
    # Under TCG an emulated TSC makes a PVH guest's clock unusable.
    [ "$type" = pvh ] && echo "tsc_mode = \"native\""
  } > "/tmp/$name.cfg"
  t0=$(now)
  xl create "/tmp/$name.cfg" || fail "xl create $name ($type) failed"
  i=0
  while ! grep -q "xen-lab guest: up" "/var/log/xen/console/guest-$name.log" 2>/dev/null; do
    i=$((i + 1))
    if [ $i -gt 300 ] || ! xl domid "$name" > /dev/null 2>&1; then
      xl list
      cat "/var/log/xen/console/guest-$name.log" 2>/dev/null
      fail "$type guest $name not up after $i s"
    fi
    sleep 1
  done
  log "$type guest $name (domain $(xl domid "$name"), $mem MiB) up in $(since "$t0") s: $(grep "xen-lab guest: up" "/var/log/xen/console/guest-$name.log")"
}

# guest_symbols NAME: the guest's console log, which holds the kernel symbols
# guest-init prints for xen_lab_check to find the event-channel state that Xen
# writes into guest memory without log-dirty seeing it (xen_lab_check xen-areas).
guest_symbols() { echo "/var/log/xen/console/guest-$1.log"; }

# retry CMD...: runs CMD up to 3 times until it succeeds. Under TCG a process
# start very rarely dies in ld.so ("Inconsistency detected by ld.so:
# dl-hwcaps.c: 136: compute_priorities: Assertion `i == total_count' failed").
retry() { "$@" || "$@" || "$@"; }
