"""debian_target: a Debian 13 ("trixie") system made the way an installer makes its /target.

make_target.sh debootstraps the distribution kernel with its headers and zfsutils-linux into a
directory, then installs zfs-dkms in a chroot of it: DKMS builds ZFS 2.3 for the target's kernel
inside the target, as an installer's `apt install zfs-dkms` does. The host's zinitrd then builds images for it with `zinitrd build --root TREE --kver KVER`,
without chroot, and the VM tests boot the target's kernel (platforms.py, platform `trixie`).

The tree is cached in vmlib.CACHE/target-SUITE-KEY/tree, KEY hashing make_target.sh, the suite,
the package list, the mirror (read from this machine's apt sources at run time) and debootstrap's
version: 35 minutes cold on 2 shared cores, then reused. facts.json records what making it
cost and what it holds (kernel release, ZFS version, module compression).
"""
import fcntl
import glob
import hashlib
import json
import os
import re
import shutil
import subprocess
import time

import vmlib
from debian_root import Missing, apt_mirror

HERE = vmlib.HERE
SCRIPT = os.path.join(HERE, "make_target.sh")
SUITE = "trixie"
# What an installer of a ZFS-on-root Debian puts into /target (zfs-dkms follows in a chroot:
# make_target.sh), plus busybox-static: the tests' pool VM and test roots run busybox from the
# image, which `--root` takes from the target.
PACKAGES = ("systemd-sysv,udev,dbus,kmod,linux-image-amd64,linux-headers-amd64,zfsutils-linux,"
            "busybox-static")
HOSTNAME = "zinitrd-trixie"


def host_codename():
    for line in open("/etc/os-release"):
        if line.startswith("VERSION_CODENAME="):
            return line.split("=", 1)[1].strip().strip('"')
    return "bookworm"


def mirror():
    """The Debian mirror of this machine's apt sources (the one serving its own suite's main)."""
    return apt_mirror(host_codename())


def key():
    if not shutil.which("debootstrap"):
        raise Missing("debootstrap is not installed (scripts/setup-debian.sh installs it)")
    h = hashlib.sha256()
    with open(SCRIPT, "rb") as f:
        h.update(f.read())
    h.update(f"{SUITE}\0{PACKAGES}\0{mirror()}\0".encode())
    h.update(subprocess.check_output(["dpkg-query", "-W", "-f=${Version}", "debootstrap"]))
    return h.hexdigest()[:16]


def _inspect(tree):
    """What the target holds: its kernel, the DKMS-built zfs.ko and how its modules are stored."""
    kvers = sorted(os.path.basename(os.path.dirname(p))
                   for p in glob.glob(os.path.join(tree, "usr/lib/modules/*/modules.dep")))
    if len(kvers) != 1:
        raise AssertionError(f"{tree}: expected one kernel in usr/lib/modules, found {kvers}")
    k = kvers[0]
    zfs = glob.glob(os.path.join(tree, f"usr/lib/modules/{k}/updates/dkms/zfs.ko*"))
    if not zfs:
        logs = glob.glob(os.path.join(tree, "var/lib/dkms/zfs/*/build/make.log"))
        raise AssertionError(f"{tree}: DKMS built no zfs.ko for {k}; see {logs or 'dkms status'}")
    suffixes = {}
    for p in glob.glob(os.path.join(tree, f"usr/lib/modules/{k}/**/*.ko*"), recursive=True):
        s = p[p.rindex(".ko"):]
        suffixes[s] = suffixes.get(s, 0) + 1
    config = {}
    for line in open(os.path.join(tree, f"boot/config-{k}")):
        m = re.match(r"(CONFIG_MODULE_(?:DECOMPRESS|COMPRESS\w*))=(\S+)", line)
        if m:
            config[m.group(1)] = m.group(2)
    zfs_version = None
    for p in glob.glob(os.path.join(tree, "usr/src/zfs-*")):
        zfs_version = os.path.basename(p)[len("zfs-"):]
    return {"kver": k, "zfs_ko": os.path.relpath(zfs[0], tree), "zfs_version": zfs_version,
            "module_suffixes": suffixes, "module_config": config}


def tree():
    """The target's root directory (made once per key); returns (path, facts)."""
    d = os.path.join(vmlib.CACHE, f"target-{SUITE}-{key()}")
    root, info = os.path.join(d, "tree"), os.path.join(d, "facts.json")
    os.makedirs(vmlib.CACHE, exist_ok=True)
    with open(os.path.join(vmlib.CACHE, f"target-{SUITE}.lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not os.path.exists(info):
            if os.geteuid() != 0:
                raise Missing("debootstrap needs root")
            vmlib.log(f"debootstrap {SUITE} with its kernel, then zfs-dkms in a chroot, into {d} "
                      "(minutes to build ZFS, once per key)")
            tmp = d + ".tmp"
            subprocess.run(["rm", "-rf", tmp], check=True)
            os.makedirs(tmp)
            t = time.monotonic()
            with open(os.path.join(tmp, "make_target.log"), "w") as log:
                p = subprocess.run([SCRIPT, SUITE, PACKAGES, mirror(), os.path.join(tmp, "tree")],
                                   stdout=subprocess.PIPE, stderr=log, text=True)
            if p.returncode != 0:
                tail = open(os.path.join(tmp, "make_target.log")).read()[-4000:]
                raise AssertionError(f"make_target.sh {SUITE} failed ({p.returncode}); "
                                     f"{tmp}/make_target.log ends:\n{tail}")
            secs = {k: float(v) for k, v in re.findall(r"(\w+_seconds)=([\d.]+)", p.stdout)}
            with open(os.path.join(tmp, "tree/etc/hostname"), "w") as f:
                f.write(HOSTNAME + "\n")
            facts = dict(_inspect(os.path.join(tmp, "tree")),
                         **secs,
                         total_seconds=round(time.monotonic() - t, 1),
                         made=time.strftime("%Y-%m-%d %H:%M:%S"))
            with open(os.path.join(tmp, "facts.json"), "w") as f:
                json.dump(facts, f, indent=1)
            subprocess.run(["rm", "-rf", d], check=True)
            os.rename(tmp, d)
            vmlib.log(f"target {SUITE}: {facts}")
            _prune(d)
        os.utime(d)
        return root, json.load(open(info))


def _prune(keep):
    """Drops other target-SUITE-* trees not used in the last day (each is a few GB)."""
    for old in glob.glob(os.path.join(vmlib.CACHE, f"target-{SUITE}-*")):
        if old != keep and not old.endswith(".tmp") and time.time() - os.path.getmtime(old) > 86400:
            subprocess.run(["rm", "-rf", old], check=True)


if __name__ == "__main__":
    print(json.dumps(tree(), indent=1))
