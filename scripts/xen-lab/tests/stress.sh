# A diagnostic, not run by ctest: records traces over and over, through the
# Xen adapter (to the ext4 scratch disk and to tmpfs) and through the pid
# adapter (a python process in dom0), and verifies each trace's checksums. It
# found that with two dom0 vCPUs, dom0 memory is occasionally corrupted under
# TCG (about one trace in three failed to verify, from either adapter, to
# either file system), and that with dom0_max_vcpus=1 no trace failed
# (docs/adapters.md, "Xen lab"). Run: xen-lab.sh run stress; try other
# settings with FGBI_XEN_LAB_XEN_ARGS / FGBI_XEN_LAB_QEMU_ARGS.
. /lab/lib.sh
start_guest lab-pvh pvh 128
dom=$(xl domid lab-pvh)
python3 -c "
import os, time
b = bytearray(os.urandom(64 << 20))
i = 0
while True:
    for o in range(0, len(b), 4096 * 97): b[o] = (b[o] + 1) & 255
    time.sleep(0.05)
" &
py=$!
sleep 5
t0=$(now)
fails=0
for k in 1 2 3 4 5 6 7 8 9; do
  case $((k % 3)) in
    1) src="xen:$dom,epochs=12,interval=0"; out=/scratch/t.trace; what="xen->ext4" ;;
    2) src="xen:$dom,epochs=12,interval=0"; out=/tmp/t.trace; what="xen->tmpfs" ;;
    0) src="pid:$py,epochs=40,interval=0"; out=/scratch/t.trace; what="pid->ext4" ;;
  esac
  fgbi-engine trace record --source "$src" -o $out --codec none > /dev/null 2> /tmp/e
  rc=$?
  fgbi-engine trace info --verify $out > /tmp/v 2>&1
  v=$?
  log "run $k $what: record $rc, verify $v ($(since $t0) s) $(grep -a mismatch /tmp/v)"
  [ $rc = 0 ] && [ $v = 0 ] || fails=$((fails + 1))
  [ $rc = 0 ] || cat /tmp/e
  rm -f $out
  [ $(($(now) - t0)) -lt 60000 ] || break
done
kill $py
log "failures: $fails of $k"
dmesg | grep -A3 -iE "segfault|traps:|general protection" | tail -n 20
exit 0
