"""scenarios_resume: a system hibernated with its root pool imported resumes, never reimports.

The first boot stops after the import (rd.break=pre-mount), makes a swap area labelled zswap on
a second disk, tells the kernel to hibernate to it (/sys/power/resume, then `disk` to
/sys/power/state) and powers off; the shell's next commands print a token written before, then
let the boot go on. The second boot, with resume=LABEL=zswap as a user's command line (or
initramfs-tools' RESUME=) gives it, must hand the image to the kernel before anything is
imported: its console shows /init resuming, then the first boot's token and the rest of the
first boot (mount, switch_root, the root's marker with the pool ONLINE), and no import of its
own. Importing the pool there and then resuming a kernel that had it imported would have written
it from two pasts. hibernate_resume_partuuid puts the swap area on the first partition of a GPT
disk and names it resume=PARTUUID= (as systemd-based setups write it): that UUID is the partition
table's, which /init reads itself (the kernel exports it nowhere). hibernate_noresume boots the second time with `noresume` too: the image is left
alone with a warning that it must never be resumed, and the boot imports and goes on afresh. The
pool disk is a qcow2 overlay (the cached pool stays as it was); the swap
disk is a fresh file.
"""
import os
import re
import subprocess

import platforms
import vmlib

SWAP_BYTES = 768 << 20  # the image of a 1 GiB guest stopped in its initramfs fits many times
TIMEOUT = 420  # each boot: hibernating and resuming write and read the image under TCG
SHELL = r"rd\.break=pre-mount: starting rescue shell"
# In the first boot's shell: the swap disk by its serial, its area made and named, the kernel
# told where to write (it needs the device before hibernating), an image written, QEMU off.
# What follows `echo disk` runs only once the second boot has resumed the image; its token goes
# through the kernel's log too: the shell's own write to the serial line just after the resume
# can be lost while the console is brought back (the CI lost it once), printk's is replayed.
HIBERNATE = (
    'for b in /sys/block/vd*; do [ "$(cat $b/serial)" = zswap ] && d=${b##*/}{part}; done; '
    'mkswap -L zswap /dev/$d >/dev/null && swapon /dev/$d && cat /sys/class/block/$d/dev > /sys/power/resume; '
    't=T$$-$RANDOM; echo $t > /run/hibernate-token; echo TOKEN-$t; '
    'echo shutdown > /sys/power/disk; echo disk > /sys/power/state; '
    'r=RESUMED-$(cat /run/hibernate-token); echo $r > /dev/kmsg; echo $r; exit\n')


PARTUUID = "6a3d1c2e-9b4f-4d21-8e7a-5f0c3b2d1e9a"  # the swap partition's, set by sfdisk


class HibernateResume:
    """NORESUME: the second boot also has `noresume`: it must say that the image it leaves must
    never be resumed, and boot afresh (its own import, no token). PARTITIONED: the swap area is
    partition 1 of a GPT disk, its PARTUUID given to sfdisk."""

    image_args = ()

    def __init__(self, noresume=False, platforms=vmlib.BOTH, resume="LABEL=zswap",
                 partitioned=False):
        self.noresume, self.platforms, self.partitioned = noresume, platforms, partitioned
        self.append = f"root=zfs:rpool/ROOT/debian resume={resume}" + (" noresume" if noresume else "")

    def run(self, paths, name, image, echo=False):
        platform, _ = platforms.split(name)
        k = platform.kver()
        base = platform.pool_disks(paths)["rpool"]
        pool = os.path.join(paths.out, f"{name}-rpool.qcow2")
        swap = os.path.join(paths.out, f"{name}-swap.raw")
        for p in (pool, swap):
            if os.path.exists(p):
                os.unlink(p)
        subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", "-b", base, "-F", "raw", pool],
                       check=True)
        with open(swap, "wb") as f:
            f.truncate(SWAP_BYTES)
        if self.partitioned:
            subprocess.run(["sfdisk", "-q", swap], check=True, stdout=subprocess.DEVNULL, text=True,
                           input=f"label: gpt\ntype=S,uuid={PARTUUID},name=hibernate\n")
        disks = [pool, (swap, "virtio-blk", "zswap")]
        img = image()

        first = vmlib.Vm(platform.kernel(), img, "root=zfs:rpool/ROOT/debian rd.break=pre-mount",
                         disks, name=f"{name}-hibernate", snapshot=False, log_dir=paths.logs, echo=echo)
        try:
            first.expect(SHELL, timeout=TIMEOUT)
            first.expect(r"# ", timeout=60)
            first.send(HIBERNATE.replace("{part}", "1" if self.partitioned else ""))
            first.expect(r"PM: hibernation: (Image saved|wrote)|reboot: Power down|Power down",
                         timeout=TIMEOUT, fail=r"Kernel panic|PM: .*[Ff]ailed|Cannot find swap")
            status = first.wait_exit(TIMEOUT)
        finally:
            first.kill()
        if status != 0:
            raise AssertionError(f"{name}: the hibernating VM exited with status {status}\n{first.tail()}")
        token = next((m.group(1) for _, l in first.lines
                      for m in [re.search(r"TOKEN-(T\d+-\d+)", l)] if m), None)

        second = vmlib.Vm(platform.kernel(), img, self.append, disks, name=name, snapshot=False,
                          log_dir=paths.logs, echo=echo)
        if self.noresume:
            return self.afresh(paths, name, second, (pool, swap))
        try:
            second.expect(r"zinitrd: resuming the hibernated system from /dev/vd\w+",
                          timeout=TIMEOUT, fail=r"zinitrd: imported pool|Kernel panic|not resuming")
            _, resumed = second.expect(r"RESUMED-(T\d+-\d+)", timeout=TIMEOUT,
                                       fail=r"zinitrd: imported pool|Kernel panic|did not resume")
            secs, m = second.expect(r"ZINITRD-TEST-MARKER root=(\S+) .*pools=(\S+) state=(\S+)",
                                    timeout=TIMEOUT, fail=r"Kernel panic")
            status = second.wait_exit(120)
        finally:
            second.kill()
        text = second.text()
        problems = []
        if not token or resumed.group(1) != token:
            problems.append(f"the resumed shell printed {resumed.group(1)}, the hibernated one {token}")
        if (m.group(1), m.group(2), m.group(3)) != ("rpool/ROOT/debian", "rpool", "ONLINE"):
            problems.append(f"marker: {m.group(0)}")
        if "zinitrd: imported pool" in text:
            problems.append("the resuming boot imported a pool itself")
        if status != 0:
            problems.append(f"QEMU exit status {status}")
        if problems:
            raise AssertionError(f"{name}: {'; '.join(problems)}\n    console: "
                                 f"{os.path.join(paths.logs, name + '.log')}")
        for p in (pool, swap):
            os.unlink(p)
        return secs, (f"resumed token {resumed.group(1)} (written before hibernating: {token}), "
                      f"then the first boot went on to the root, pool ONLINE, no second import")


    def afresh(self, paths, name, vm, files):
        """The noresume boot: warned about the image, then booted without it."""
        try:
            vm.expect(r"zinitrd: noresume: the hibernation image on /dev/vd\w+ is left as it is",
                      timeout=TIMEOUT, fail=r"resuming the hibernated system|Kernel panic")
            vm.expect(r"zinitrd: imported pool 'rpool'", timeout=TIMEOUT, fail=r"Kernel panic")
            secs, m = vm.expect(r"ZINITRD-TEST-MARKER root=(\S+) .*pools=(\S+) state=(\S+)",
                                timeout=TIMEOUT, fail=r"Kernel panic|RESUMED-T")
            status = vm.wait_exit(120)
        finally:
            vm.kill()
        if (m.group(1), m.group(2), m.group(3)) != ("rpool/ROOT/debian", "rpool", "ONLINE") or status:
            raise AssertionError(f"{name}: marker {m.group(0)}, QEMU exit status {status}")
        for p in files:
            os.unlink(p)
        return secs, "noresume: the image left with a warning, booted afresh, pool ONLINE"


SCENARIOS = {
    "hibernate_resume": HibernateResume(),
    "hibernate_noresume": HibernateResume(noresume=True, platforms=vmlib.BOOKWORM),
    "hibernate_resume_partuuid": HibernateResume(resume=f"PARTUUID={PARTUUID}", partitioned=True,
                                                 platforms=vmlib.BOOKWORM),
}
