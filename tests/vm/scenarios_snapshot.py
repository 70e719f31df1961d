"""scenarios_snapshot: snapshot boot (pool spool, made by pools/20-crypt.sh).

spool/ROOT/os and its /usr child have @before; /etc/zinitrd-test-extra was written after it, so
the marker's extra= says whether the root was rolled back ("none") or not ("after-snapshot").
Log lines are awaited with interact entries that type nothing.
"""
from vmlib import RESCUE, Boot, Fails

OS = dict(disks=("spool",), root="spool/ROOT/os", usr="spool/ROOT/os/usr")


def boot(append, extra, saw, **kw):
    b = Boot(append, interact=[(rx, "") for rx in saw], **{**OS, **kw})
    b.extra = extra
    return b


SCENARIOS = {
    # bootfs.snapshot: named after the running kernel; the root boots unchanged.
    "snapshot_boot": boot("root=zfs:spool/ROOT/os bootfs.snapshot", "after-snapshot",
                          [r"took snapshot 'spool/ROOT/os@\d+\.\d+\S*'"]),
    # bootfs.rollback=before: the file written after @before is gone.
    "rollback_boot": boot("root=zfs:spool/ROOT/os bootfs.rollback=before", "none",
                          [r"rolled back 'spool/ROOT/os' to @before"]),
    # root=zfs:POOL/DS@SNAP: a clone (with its /usr child) is created and booted.
    "clone_boot": boot("root=zfs:spool/ROOT/os@before", "none",
                       [r"created 'spool/ROOT/os_before', a clone of 'spool/ROOT/os@before'"],
                       root="spool/ROOT/os_before", usr="spool/ROOT/os_before/usr"),
    "rollback_missing_snapshot": Fails(
        "root=zfs:spool/ROOT/os bootfs.rollback=nosuch", disks=("spool",),
        messages=[r"'spool/ROOT/os@nosuch' \(bootfs.rollback=nosuch\) does not exist",
                  r"snapshots of 'spool/ROOT/os': before", RESCUE]),
}
