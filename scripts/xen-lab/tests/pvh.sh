# PVH end to end (runs in dom0). A PVH guest boots and keeps rewriting 4 MiB
# of its memory. Log-dirty mode is left on, as after a killed `xl remus`.
# `fgbi-engine trace record --source xen:DOMID` captures it
# epoch by epoch through the Xen adapter (log-dirty, CLEAN each epoch, page
# types to skip holes, foreign maps, pause/unpause). Partway through, the
# guest is paused, and the recording runs on for two more epochs, the second
# of them captured entirely after the pause, then stops (SIGTERM finishes the
# trace). Replaying every epoch of the trace must then give exactly the
# paused guest's memory: xen_lab_check replays the trace into a sparse image
# (its own reader) and compares every pfn of the guest, mapped by itself,
# with it. A page the adapter missed (a write log-dirty did not report, a
# page skipped as a hole that holds data) shows up as a difference.
#
# Not here: `fgbi-engine send` to `recv` (docs/adapters.md, "Xen lab": a full
# synchronisation carries the whole 4 GiB p2m span of a PVH guest).
. /lab/lib.sh
PAUSE_AFTER=${PAUSE_AFTER:-4}  # epochs recorded while the guest runs, at least

log "Xen $XEN_LAB_XEN ($XEN_LAB_WHICH), dom0 kernel $XEN_LAB_KERNEL"
xl info | grep -E '^(xen_version|xen_extra|xen_commandline|virt_caps|total_memory|free_memory)'
start_guest lab-pvh pvh 128
dom=$(xl domid lab-pvh)
pages=$(xen_lab_check pages "$dom") || fail "xen_lab_check pages $dom"
log "domain $dom: p2m of $pages pages"
[ -d /scratch ] || fail "no scratch disk"
trace=/scratch/pvh.trace

# Leave log-dirty on, as a killed xl remus or fgbi does: the adapter must turn
# it off and on again (Xen's enable_logdirty does the same).
retry xen_lab_check logdirty "$dom" on || fail "cannot turn log-dirty on"
# Xen refuses to enable it twice (EINVAL): what the adapter's fallback is for.
again=$(xen_lab_check logdirty "$dom" 2>&1) && fail "log-dirty could be enabled twice: $again"
log "$again"
t0=$(now)
timeout -k 5 900 fgbi-engine trace record --source "xen:$dom,interval=300" -o "$trace" \
  --codec none --json > /tmp/rec.json 2> /tmp/rec.err &
rec=$!

# wait_epochs N: until N epochs are complete in the trace.
# A failed count (see retry in lib.sh) counts as 0.
wait_epochs() {
  last=-1
  while :; do
    n=$(xen_lab_check epochs "$trace" 2> /dev/null) || n=0
    [ "${n:-0}" -ge "$1" ] && return 0
    if ! kill -0 $rec 2> /dev/null; then
      cat /tmp/rec.err /tmp/rec.json
      fail "trace record stopped after $n epochs, before $1"
    fi
    [ $(($(now) - t0)) -lt 60000 ] || fail "only $n epochs after $(since "$t0") s"
    if [ "$n" != "$last" ]; then
      log "  $n epochs recorded after $(since "$t0") s"
      last=$n
    fi
    sleep 1
  done
}

wait_epochs "$PAUSE_AFTER"
xl pause "$dom" || fail "xl pause"
# Epochs complete in the file now were captured before or during the pause;
# the next may have been captured just before it; the one after that began
# after this point.
at_pause=$(retry xen_lab_check epochs "$trace") || fail "cannot count the epochs"
log "guest paused with $at_pause epochs recorded ($(since "$t0") s)"
wait_epochs $((at_pause + 2))
kill -TERM $rec
wait $rec

rc=$?
log "trace record stopped with status $rc after $(since "$t0") s"
cat /tmp/rec.err
cat /tmp/rec.json
echo
[ $rc = 0 ] || dmesg | grep -A3 -iE "segfault|traps:|general protection" | tail -n 20
fgbi-engine trace info --verify "$trace" || fail "the trace does not verify"
case $rc in 0 | 130 | 143) ;; *) fail "trace record exited with $rc" ;; esac
total=$(retry xen_lab_check epochs "$trace") || fail "cannot count the epochs"
[ "$total" -ge $((at_pause + 2)) ] || fail "$total epochs, need $((at_pause + 2))"
xen_lab_check replay "$trace" /scratch/pvh.mem || fail "replay"
# Bytes of the event-channel state that Xen writes into guest memory without
# logging them are reported and allowed (xen_lab_check.c, docs/adapters.md).
xen_lab_check compare "$dom" /scratch/pvh.mem "$(guest_symbols lab-pvh)"
check=$?
xl destroy "$dom"
[ $check = 0 ] || fail "the guest's memory differs from the replayed trace (xen_lab_check status $check)"
log "PVH guest: $total epochs captured through the Xen adapter ($((total - at_pause)) after the pause); replaying them gives the paused guest's memory, every pfn but Xen's event-channel state"
