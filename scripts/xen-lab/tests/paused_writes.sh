# Diagnostic (not a ctest): does a paused PVH guest's memory change, and
# does log-dirty report it? Pauses the guest at a few moments and lets
# xen_lab_check copy every page with data, wait, and compare
# (`xen_lab_check paused-writes`). A change while the domain is paused is a
# write by Xen or a dom0 backend (event delivery into the guest's FIFO
# event-channel pages and vcpu_info); "NOT logged dirty" means no
# log-dirty-based replication can capture it. Each round first lists where
# Xen writes the guest's event-channel state (`xen_lab_check xen-areas`).
# With EVENT_AT_S, an event is sent to the paused guest that many seconds
# into each round (set WAIT_S well above it). Run:
#   scripts/xen-lab/xen-lab.sh run [--set WAIT_S=25 --set EVENT_AT_S=12] paused_writes
. /lab/lib.sh
ROUNDS=${ROUNDS:-3}
WAIT_S=${WAIT_S:-5}
log "Xen $XEN_LAB_XEN ($XEN_LAB_WHICH), dom0 kernel $XEN_LAB_KERNEL"
start_guest lab-pvh pvh 128
dom=$(xl domid lab-pvh)
i=0
while [ $i -lt "$ROUNDS" ]; do
  i=$((i + 1))
  sleep 3
  xl pause "$dom" || fail "xl pause"
  t0=$(now)
  xen_lab_check xen-areas "$dom" "$(guest_symbols lab-pvh)"
  # With EVENT_AT_S, an event for the paused guest while the pages are compared:
  # a sysrq request through xenstore, which the guest's kernel watches.
  xen_lab_check paused-writes "$dom" "$WAIT_S" &
  check=$!
  if [ -n "${EVENT_AT_S:-}" ]; then
    sleep "$EVENT_AT_S"
    xl sysrq "$dom" h && log "round $i: sent sysrq h to the paused guest at $(since "$t0") s"
  fi
  wait $check
  log "round $i: status $? after $(since "$t0") s"
  xl unpause "$dom" || fail "xl unpause"
done
xl destroy "$dom"
