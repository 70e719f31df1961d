"""scenarios_fault: runtime faults and hostile kernel command lines (issue 8, docs/reliability.md).

Each fault must end in a clear message and a working rescue shell (Fails), never a kernel panic or
a silent hang; command lines that are odd but usable (repeated, empty or trailing-slash values)
must still boot the right dataset (Boot). The xpool datasets come from pools/30-fault.sh.
"""
from vmlib import RESCUE, Boot, Fails

DEBIAN = dict(root="rpool/ROOT/debian", usr="rpool/ROOT/debian/usr")
FAILED = r"BOOT FAILED at stage '{}'"
LONG = "a" * 1500  # the kernel keeps 2048 bytes of command line on x86

SCENARIOS = {
    # Garbage values: each one named and ignored, the unusable root explained.
    "fault_cmdline_garbage": Fails(
        "root=zfs:%%garbage!! rd.timeout=abc rootdelay=-5 loglevel=zz zfs_force=maybe "
        "rd.break=nowhere",
        messages=[r"'rd\.timeout=abc': expected seconds", r"'rootdelay=-5': expected seconds",
                  r"'zfs_force=maybe'", r"'rd\.break=nowhere': unknown stage",
                  FAILED.format("cmdline"), r"a pool name starts with a letter", RESCUE]),
    # Repeated parameters: the last one wins, as in the kernel.
    "fault_cmdline_repeated": Boot(
        "root=zfs:nopool/x root=zfs:rpool/ROOT/debian rw ro rw zfs_force=0 zfs_force=0 "
        "root=zfs:rpool/ROOT/debian", mode="rw", **DEBIAN),
    # Empty values: named and ignored; an empty zfs= means the pool's bootfs.
    "fault_cmdline_empty": Boot(
        "root= zfs= rd.timeout= rootdelay= loglevel= init=",
        interact=[(r"'root=' is empty; ignored", ""), (r"'init=': init= needs an absolute path", "")],
        **DEBIAN),
    # Overlong values: refused with the reason, the value cut in the message.
    "fault_cmdline_overlong": Fails(
        f"root=zfs:rpool/{LONG} rd.timeout={'9' * 200}",
        messages=[r"'rd\.timeout=9+\.\.\.': expected seconds", FAILED.format("cmdline"),
                  r"longer than ZFS allows", RESCUE]),
    "fault_root_trailing_slashes": Boot("root=zfs:rpool/ROOT/debian///", **DEBIAN),
    "fault_root_empty_dataset": Fails(
        "root=zfs:/// rd.timeout=5",
        messages=[FAILED.format("cmdline"),
                  r"the dataset name is empty; write root=zfs:POOL/DATASET .* or root=zfs:AUTO",
                  RESCUE]),
    # A root dataset that mounts but holds no init program.
    "fault_root_without_init": Fails(
        "root=zfs:xpool/noinit", disks=("fault",),
        messages=[FAILED.format("switch_root") + r": no init program", r"/sbin/init: No such file",
                  RESCUE]),
    "fault_init_param_missing": Fails(
        "root=zfs:rpool/ROOT/debian init=/sbin/no-such-init",
        messages=[r"init=/sbin/no-such-init cannot be run", r"fix or drop init=", RESCUE]),
    # A dataset that will not mount: the root's canmount=on /usr child, on a read-only root
    # (rootflags=ro) without /usr, so the directory cannot be created.
    "fault_child_will_not_mount": Fails(
        "root=zfs:xpool/nousr rootflags=ro", disks=("fault",),
        messages=[FAILED.format("mount") + r": cannot mount 'xpool/nousr/usr' on /sysroot/usr",
                  r"the directory /usr is missing in the root dataset", RESCUE]),
    # A module that fails to load: an invalid value for a zfs.ko parameter makes the kernel
    # refuse the module (EINVAL).
    "fault_module_fails": Fails(
        "root=zfs:rpool/ROOT/debian zfs.zfs_arc_max=garbage",
        messages=[FAILED.format("modules") + r": kernel modules needed for the boot did not load",
                  r"zfs", RESCUE]),
}
