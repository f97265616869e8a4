# fgbi under an unmodified `xl remus` (runs in dom0; docs/adapters.md, "fgbi
# under unmodified xl remus"). A PVH guest boots with guest-init's
# self-check (xenlab_verify: each round it verifies the MD5 of the 4 MiB it
# wrote the round before, then writes new data). `xl remus` checkpoints it to
# this same host through the proxy pair:
#   xl remus -s '' DOM "fgbi-engine remus-tx -- fgbi-engine remus-rx -- xl migrate-receive -r -e"
# After CHECKPOINTS checkpoints (beyond the first, full one) have crossed
# the proxy, the primary is destroyed. The backup must fail over, run on,
# and report rounds beyond the primary's last one with no failed check. The
# bytes per checkpoint with and without the proxy come from remus-tx: what
# xl wrote (the stream without the proxy) and what crossed the link.
. /lab/lib.sh
CHECKPOINTS=${CHECKPOINTS:-10}
REMUS_MS=${REMUS_MS:-500}
LIMIT_S=${LIMIT_S:-600}

log "Xen $XEN_LAB_XEN ($XEN_LAB_WHICH), dom0 kernel $XEN_LAB_KERNEL"
start_guest lab-pvh pvh 128 xenlab_verify
dom=$(xl domid lab-pvh)
primary_log=/var/log/xen/console/guest-lab-pvh.log

proxy="fgbi-engine remus-tx -v --json -- sh -c 'exec fgbi-engine remus-rx -v --json -- xl migrate-receive -r -e 2>/tmp/rx.err' 2>/tmp/tx.err"

# forwarded: checkpoints remus-tx has forwarded whole (its -v lines).
forwarded() {
  n=0
  [ -f /tmp/tx.err ] && n=$(grep -c "remus-tx: checkpoint [0-9]*:" /tmp/tx.err)
  echo "${n:-0}"
}
# Under TCG, with dom0's one vCPU busy with xl and the proxy pair, a guest
# has once not acknowledged xl's first suspend request within libxl's 60 s
# ("guest didn't acknowledge suspend, cancelling request"); xl remus then
# stops before its first checkpoint and the primary runs on. That is retried
# once; any other failure, or a second one, fails the test.
attempt=1
while :; do
  rm -f /tmp/tx.err /tmp/rx.err
  t0=$(now)
  xl remus -F -n -d -e -i "$REMUS_MS" -s '' "$dom" "$proxy" > /tmp/remus.out 2>&1 &
  remus=$!
  log "attempt $attempt: xl remus -F -n -d -e -i $REMUS_MS -s '' $dom \"$proxy\""
  last=-1
  stopped=
  while :; do
    n=$(forwarded)
    [ "$n" -ge $((CHECKPOINTS + 1)) ] && break
    if ! kill -0 $remus 2> /dev/null; then
      stopped=1
      break
    fi
    [ $(($(now) - t0)) -lt $((LIMIT_S * 100)) ] || {
      tail -n 40 /tmp/remus.out /tmp/tx.err /tmp/rx.err 2> /dev/null
      fail "only $n checkpoints after $(since "$t0") s"
    }
    if [ "$n" != "$last" ]; then
      log "  $n checkpoints through the proxy after $(since "$t0") s"
      last=$n
    fi
    sleep 1
  done
  [ -z "$stopped" ] && break
  cat /tmp/remus.out /tmp/tx.err /tmp/rx.err 2> /dev/null | grep -v -e 'libxl: debug' -e 'xc: detail' | tail -n 40
  if [ "$attempt" = 1 ] && [ "$n" = 0 ] && grep -q "guest didn't acknowledge suspend" /tmp/remus.out &&
    xl domid lab-pvh > /dev/null 2>&1; then
    log "attempt 1: the guest did not acknowledge xl's suspend request in time; retrying once"
    xl destroy lab-pvh--incoming 2> /dev/null
    sleep 10
    attempt=2
    continue
  fi
  fail "xl remus stopped after $n checkpoints through the proxy"
done
xl list
primary_round=$(grep -o "round [0-9]*" "$primary_log" | tail -n 1 | cut -d' ' -f2)
log "$n checkpoints through the proxy after $(since "$t0") s; the primary is at round ${primary_round:-?}; destroying it"
grep "check FAILED" "$primary_log" && fail "the primary's own check failed"
xl destroy "$dom" || fail "xl destroy $dom"
t1=$(now)
wait $remus
log "xl remus exited with status $? $(since "$t1") s after the destroy"

# The backup: renamed to lab-pvh and unpaused by xl migrate-receive.
backup=
backup_log=
best=0
while [ $(($(now) - t1)) -lt 18000 ]; do
  b=$(xl domid lab-pvh 2> /dev/null) && [ "$b" != "$dom" ] && backup=$b
  for f in /var/log/xen/console/guest-lab-pvh--incoming.log /var/log/xen/console/guest-lab-pvh.log; do
    [ -f "$f" ] || continue
    r=$(grep -o "round [0-9]*" "$f" | tail -n 1 | cut -d' ' -f2)
    if [ -n "$r" ] && [ "$r" -gt "$best" ]; then
      best=$r
      backup_log=$f
    fi
  done
  [ -n "$backup" ] && [ "$best" -ge $((${primary_round:-0} + 20)) ] && break
  sleep 2
done
sleep 1
echo "---- remus-tx"
cat /tmp/tx.err
echo "---- remus-rx and xl migrate-receive"
cat /tmp/rx.err
echo "---- xl remus"
grep -v -e 'libxl: debug' -e 'xc: detail' /tmp/remus.out | tail -n 30
echo "----"
xl list
[ -n "$backup" ] || fail "no backup domain lab-pvh after the failover"
[ -n "$backup_log" ] && tail -n 5 "$backup_log"
[ "$best" -ge $((${primary_round:-0} + 20)) ] ||
  fail "the backup (domain $backup) did not run on: its last round is $best, the primary's ${primary_round:-?}"
grep -h "check FAILED" "$primary_log" "$backup_log" && fail "a self-check failed on the backup"
grep -h "round $best," "$backup_log" | grep -q "failed 0" || fail "the backup reports failed checks"

# Bytes per checkpoint: in = xl's stream (without the proxy), out = the link.
grep "remus-tx: checkpoint [0-9]*:" /tmp/tx.err | awk '
  { c = $4 + 0; inb = $5; outb = $8
    if (c == 0) printf "checkpoint 0 (the whole memory): %d bytes from xl, %d on the link\n", inb, outb
    else { n++; si += inb; so += outb } }
  END { if (n) printf "checkpoints 1-%d: mean %d bytes a checkpoint from xl (without the proxy), %d on the link (with it): %.1fx fewer\n", n, si / n, so / n, so ? si / so : 0 }'
log "PVH guest: $(forwarded) checkpoints of xl remus through remus-tx/remus-rx (checkpoint 0 included); after the primary was destroyed the backup (domain $backup) ran on to round $best (the primary stopped at ${primary_round:-?}) and its self-checks passed"
