# PV (runs in dom0, on the pinned hypervisor 4.17.5, which still has shadow
# paging): a PV guest boots; the hypervisor can track its dirty pages
# (log-dirty on and off, the fact that Debian's 4.17.7 security build lacks);
# and fgbi-engine refuses it at open, with exit status 2 and a reason that
# names PV, instead of shipping nothing (issue 14: foreign maps of a PV guest
# take machine frames; pfn -> mfn translation is not implemented). This checks
# the adapter's guest-type detection on a real domain.
. /lab/lib.sh
log "Xen $XEN_LAB_XEN ($XEN_LAB_WHICH), dom0 kernel $XEN_LAB_KERNEL"
[ "$XEN_LAB_WHICH" = pinned ] ||
  skip "PV cases run on the pinned hypervisor only (Debian's security build has no shadow paging)"
xl info | grep -E '^(xen_version|xen_extra|xen_commandline)'
start_guest lab-pv pv 128
dom=$(xl domid lab-pv)
retry xen_lab_check logdirty "$dom" || fail "no log-dirty for a PV guest on Xen $XEN_LAB_XEN"
fgbi-engine send --source "xen:$dom" --epochs 2 > /tmp/send.out 2> /tmp/send.err
rc=$?
cat /tmp/send.out /tmp/send.err
[ $rc = 2 ] || fail "send on a PV guest exited with $rc, expected 2 (refused at open)"
grep -q "PV" /tmp/send.err || fail "the refusal does not say the guest is PV"
xl list "$dom" > /dev/null || fail "the PV guest did not survive the refusal"
xl destroy "$dom"
log "PV guest refused with a reason; it runs on"
