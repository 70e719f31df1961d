"""debian_root: a real Debian system with systemd on root-on-ZFS pools, for the systemd
scenarios (scenarios_systemd.py) and the benchmark (bench/systemd_boot.py): Debian 12 made for the
host's kernel, and the Debian 13 target of the trixie platform (debian_target.py) as it is.

Every other test root has a test script as /sbin/init; this one boots systemd, which shows what a
distribution is handed: a read-only root, failed units, pools imported twice. Made in three
layers, each cached in vmlib.CACHE by a hash of its inputs:
  debian-base-KEY/base.tar   debian_base.sh: debootstrap (about a minute or two). KEY hashes the
                             script (suite, packages), the mirror (read from this machine's apt
                             sources at run time) and debootstrap's version.
  overlay.tar                what the tests add, made from the host and the booted kernel in a few
                             seconds: /lib/modules/KVER with the DKMS-built ZFS, /etc/hostid (the
                             test images carry the host's, and pools are made under it), a
                             hostname, the marker unit (zinitrd-marker.service, systemd_marker.sh).
  systemd-pools-KEY/         sd-rpool.raw, sd-crpool.raw and sd-lpool.raw: the pools made from
                             both tars by a pool VM of their own (make_pools.sh with
                             pools-systemd/*.sh). KEY hashes the base's key, the overlay's inputs,
                             the pool scripts and the pool VM's arguments.

For a target (ROOT: the trixie platform's tree, debootstrapped with its kernel, zfs-dkms and
systemd as an installer makes /target) the base is a tar of that tree as it is, its own kernel
modules and /etc/hostid included; the overlay adds only the hostname and the marker unit; the
pool VM boots the target's kernel with an image `zinitrd build --root ROOT` made, so its own ZFS
(2.3) makes the pools, as the installer's does (target-systemd-pools-KEY/, KEY hashing the target's
key and the same inputs), without the LUKS pool (pools-systemd/20-luks.sh is for the host only:
the target's pool VM has no cryptsetup).
"""
import fcntl
import glob
import hashlib
import io
import json
import os
import re
import shutil
import subprocess
import tarfile
import time

import vmlib

HERE = vmlib.HERE
SUITE = "bookworm"  # as in debian_base.sh
BASE_SCRIPT = os.path.join(HERE, "debian_base.sh")
POOLS_DIR = os.path.join(HERE, "pools-systemd")
MARKER_SCRIPT = os.path.join(HERE, "systemd_marker.sh")
MARKER_UNIT = os.path.join(HERE, "zinitrd-marker.service")
HOSTNAME = "zinitrd-systemd"
DISK_GB = 4  # each pool disk, sparse: the root is about 0.7 GB before compression
PASSPHRASE = "zinitrd-systemd-pass"  # crpool's, as in pools-systemd/10-debian.sh
TAR_DISKS = ["sd-base-tar", "sd-overlay-tar"]  # then sd-POOL for each of pools(root)
LUKS_UUID = "4c554b53-5344-4000-8000-000000000001"  # lpool's LUKS volume, as in 20-luks.sh
LUKS_NAME = "luks1"  # its crypttab name, the guide's
# sd-rpool: rpool, then the guide's boot pool bpool (512 MiB); sd-crpool: crpool alone; sd-lpool:
# a LUKS volume holding lpool.
PARTITIONS = {"rpool": f"label: gpt\n,{(DISK_GB << 10) - 512}M\n,,\n", "crpool": "label: gpt\n,,\n",
              "lpool": "label: gpt\n,,\n"}
COMPAT = "/usr/share/zfs/compatibility.d/grub2"


class Missing(Exception):
    """A prerequisite of this machine is missing (the tests skip loudly, or fail under CI)."""


def _deb822_entries(text):
    for stanza in re.split(r"\n\s*\n", text):
        f = {}
        for line in stanza.splitlines():
            if line.startswith("#") or not line.strip() or line[0].isspace():
                continue  # comments, continuation lines (Signed-By key blocks)
            k, _, v = line.partition(":")
            f[k.strip().lower()] = v.split()
        if f.get("enabled", ["yes"])[0].lower() != "no":
            yield f.get("types", []), f.get("uris", []), f.get("suites", []), f.get("components", [])


def _one_line_entries(text):
    for line in text.splitlines():
        words = re.sub(r"\[[^]]*\]", "", line.split("#", 1)[0]).split()
        if len(words) >= 3:
            yield [words[0]], [words[1]], [words[2]], words[3:]


def apt_mirror(suite=SUITE):
    """The URI this machine's apt sources use for SUITE's main component (deb822 or one-line)."""
    found = []
    for path in sorted(glob.glob("/etc/apt/sources.list.d/*.sources")):
        found += _deb822_entries(open(path).read())
    for path in ["/etc/apt/sources.list"] + sorted(glob.glob("/etc/apt/sources.list.d/*.list")):
        if os.path.exists(path):
            found += _one_line_entries(open(path).read())
    for types, uris, suites, components in found:
        if "deb" in types and suite in suites and "main" in components and uris:
            return uris[0]
    raise Missing(f"no apt source serves '{suite}' with 'main' in /etc/apt/sources.list*: "
                  "debootstrap needs a mirror")


def _digest(h, *paths):
    for p in paths:
        h.update(os.path.basename(p).encode())
        with open(p, "rb") as f:
            h.update(f.read())


def _prune(prefix, keep):
    """Drops cached PREFIX* sets beyond the newest KEEP that were not used in the last day."""
    sets = sorted((os.path.join(vmlib.CACHE, e) for e in os.listdir(vmlib.CACHE)
                   if e.startswith(prefix) and not e.endswith(".tmp")), key=os.path.getmtime, reverse=True)
    for old in sets[keep:]:
        if time.time() - os.path.getmtime(old) > 86400:
            shutil.rmtree(old, ignore_errors=True)


def base_key():
    if not shutil.which("debootstrap"):
        raise Missing("debootstrap is not installed (scripts/setup-debian.sh installs it)")
    h = hashlib.sha256()
    _digest(h, BASE_SCRIPT)
    h.update(apt_mirror().encode())
    h.update(subprocess.check_output(["dpkg-query", "-W", "-f=${Version}", "debootstrap"]))
    return h.hexdigest()[:16]


def base_tar():
    """The debootstrapped root as a tar (made once per key); returns (path, facts)."""
    d = os.path.join(vmlib.CACHE, f"debian-base-{base_key()}")
    tar, info = os.path.join(d, "base.tar"), os.path.join(d, "facts.json")
    os.makedirs(vmlib.CACHE, exist_ok=True)
    with open(os.path.join(vmlib.CACHE, "debian-base.lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not os.path.exists(info):
            if os.geteuid() != 0:
                raise Missing("debootstrap needs root")
            vmlib.log(f"debootstrap {SUITE} into {d} (a minute or two, once per key)")
            tmp = d + ".tmp"
            shutil.rmtree(tmp, ignore_errors=True)
            os.makedirs(tmp)
            t = time.monotonic()
            p = subprocess.run(["bash", BASE_SCRIPT, apt_mirror(), os.path.join(tmp, "base.tar")],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            if p.returncode != 0:
                raise AssertionError(f"debian_base.sh failed ({p.returncode}):\n{p.stderr[-4000:]}")
            m = re.search(r"debootstrap_seconds=([\d.]+)", p.stdout)
            facts = {"debootstrap_seconds": float(m.group(1)) if m else None,
                     "base_seconds": round(time.monotonic() - t, 1),
                     "base_tar_bytes": os.path.getsize(os.path.join(tmp, "base.tar")),
                     "made": time.strftime("%Y-%m-%d %H:%M:%S")}
            with open(os.path.join(tmp, "facts.json"), "w") as f:
                json.dump(facts, f)
            shutil.rmtree(d, ignore_errors=True)
            os.rename(tmp, d)
            vmlib.log(f"debootstrap took {facts['debootstrap_seconds']} s; base.tar "
                      f"{facts['base_tar_bytes'] / 1e6:.0f} MB")
            _prune("debian-base-", 2)
        os.utime(d)
        return tar, json.load(open(info))


def hostid(root=None):
    """The hostid of the system at ROOT (None: the host) as `hostid` prints it (/etc/hostid holds
    it in native byte order)."""
    path = os.path.join(root or "/", "etc/hostid")
    if not os.path.exists(path):
        raise AssertionError(f"{path} is missing: its pools would be made under no hostid")
    return "%08x" % int.from_bytes(open(path, "rb").read(4), "little")


def _add_bytes(t, name, data, mode=0o644):
    ti = tarfile.TarInfo(name)
    ti.size, ti.mode, ti.mtime = len(data), mode, int(time.time())
    t.addfile(ti, io.BytesIO(data))


def _add_dirs(t, path):
    """Entries for PATH and its parents, so that busybox tar never has to guess their modes."""
    parts = path.split("/")
    for i in range(1, len(parts) + 1):
        ti = tarfile.TarInfo("/".join(parts[:i]))
        ti.type, ti.mode, ti.mtime = tarfile.DIRTYPE, 0o755, int(time.time())
        t.addfile(ti)


def overlay_tar(k, out, root=None):
    """What the tests add to the debootstrapped root (see the module's comment); a target (ROOT)
    has its kernel's modules and its hostid already."""
    with tarfile.open(out, "w", format=tarfile.GNU_FORMAT) as t:
        if root is None:
            _add_dirs(t, "usr/lib/modules")
            # The booted kernel's modules, with updates/dkms/ (zfs): systemd-modules-load and udev
            # load what the machine needs after the switch, as on an installed system.
            t.add(f"/lib/modules/{k}", arcname=f"usr/lib/modules/{k}")
            _add_bytes(t, "etc/hostid", open("/etc/hostid", "rb").read())
        _add_bytes(t, "etc/hostname", f"{HOSTNAME}\n".encode())
        _add_bytes(t, "etc/hosts", f"127.0.0.1\tlocalhost\n127.0.1.1\t{HOSTNAME}\n"
                                   "::1\tlocalhost ip6-localhost ip6-loopback\n".encode())
        _add_bytes(t, "etc/resolv.conf", b"")
        _add_dirs(t, "usr/local/sbin")
        _add_bytes(t, "usr/local/sbin/zinitrd-marker", open(MARKER_SCRIPT, "rb").read(), 0o755)
        _add_dirs(t, "etc/systemd/system/multi-user.target.wants")
        _add_bytes(t, "etc/systemd/system/zinitrd-marker.service", open(MARKER_UNIT, "rb").read())
        link = tarfile.TarInfo("etc/systemd/system/multi-user.target.wants/zinitrd-marker.service")
        link.type, link.linkname = tarfile.SYMTYPE, "/etc/systemd/system/zinitrd-marker.service"
        t.addfile(link)


def pool_scripts(root=None):
    return vmlib.pool_scripts(root, POOLS_DIR)


def pool_vm_args(root=None):
    """What the pool VM's image carries besides busybox: on the host, cryptsetup and dm-crypt's
    modules for the LUKS pool (vmlib's, as for the suite's own LUKS pools)."""
    return vmlib.POOL_VM_HOST_ARGS if root is None else ()


def pools(root=None):
    """The pools of the root at ROOT (None: Debian 12's, on the host), each on disk sd-POOL."""
    return ("rpool", "crpool") + (("lpool",) if root is None else ())


def pool_key(k, base, root=None):
    h = hashlib.sha256()
    h.update(base.encode())
    top = root or "/"
    _digest(h, os.path.join(HERE, "make_pools.sh"), os.path.abspath(__file__), MARKER_SCRIPT,
            MARKER_UNIT, os.path.join(top, "etc/hostid"), os.path.join(top, "bin/busybox"),
            os.path.realpath(os.path.join(top, COMPAT[1:])), *pool_scripts(root))
    h.update("\0".join(pool_vm_args(root)).encode())
    at = [] if root is None else ["-b", root]
    zfs_ko = subprocess.check_output(["modinfo", *at, "-k", k, "-F", "filename", "zfs"], text=True).strip()
    dep = os.path.join(top, f"usr/lib/modules/{k}/modules.dep")
    h.update(f"{k} {zfs_ko} {os.path.getmtime(zfs_ko)} {os.path.getmtime(dep)} {DISK_GB}".encode())
    return h.hexdigest()[:16]


def _target_tar(root, out):
    """The target's tree as it is, for the pool VM's busybox tar (as debian_base.sh's): the test
    keys that platforms.Target.keyfile keeps in it are not part of the system."""
    subprocess.run(["tar", "--format=gnu", "--numeric-owner", "--exclude=./etc/zfs/keys", "-cf",
                    out, "-C", root, "."], check=True)
    return {"root_tar_bytes": os.path.getsize(out)}


def pool_disks(paths, k, root=None):
    """{"rpool": disk, "crpool": disk}: the Debian root's pools, made once per key. ROOT: the
    target's (see the module's comment), else Debian 12's for the host's kernel K."""
    if root is None:
        prefix, base = "systemd-pools-", base_key()
    else:
        import debian_target
        prefix, base = "target-systemd-pools-", debian_target.key()
    d = os.path.join(vmlib.CACHE, f"{prefix}{pool_key(k, base, root)}")
    disks = {p: os.path.join(d, f"sd-{p}.raw") for p in pools(root)}
    with open(os.path.join(vmlib.CACHE, f"{prefix.rstrip('-')}.lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if os.path.exists(os.path.join(d, "done")):
            os.utime(d)
            return disks
        vmlib.log(f"making the Debian root's pools in {d} (one VM boot, minutes under TCG)")
        tmp = d + ".tmp"
        shutil.rmtree(tmp, ignore_errors=True)
        os.makedirs(tmp)
        t = time.monotonic()
        hostid(root)  # the pools are made under it: it must exist
        if root is None:
            tar, facts = base_tar()
        else:
            tar = os.path.join(tmp, "root.tar")
            facts = _target_tar(root, tar)
        overlay = os.path.join(tmp, "overlay.tar")
        overlay_tar(k, overlay, root)
        for p in disks:
            raw = os.path.join(tmp, f"sd-{p}.raw")
            with open(raw, "wb") as f:
                f.truncate(DISK_GB << 30)
            subprocess.run(["sfdisk", "-q", raw], input=PARTITIONS[p], text=True, check=True,
                           stdout=subprocess.DEVNULL)
        img = os.path.join(paths.out, f"make-{prefix.rstrip('-')}.img")
        includes = []
        for script in pool_scripts(root):
            includes += ["--include", f"{script}:/guest/pools/{os.path.basename(script)}"]
        # The boot pool's compatibility=grub2: the feature list of the system's own ZFS (a link
        # to the newest GRUB's on Debian 13).
        compat = os.path.realpath(os.path.join(root or "/", COMPAT[1:]))
        includes += ["--include", f"{compat}:{COMPAT}"]
        vmlib.zinitrd_build(paths, k, img, "--init", os.path.join(HERE, "make_pools.sh"),
                            "--install", "busybox", *pool_vm_args(root), *includes, root=root)
        attach = [tar, overlay] + [os.path.join(tmp, f"sd-{p}.raw") for p in disks]
        names = TAR_DISKS + [f"sd-{p}" for p in disks]  # the "# disks:" lines of the scripts
        vm = vmlib.Vm(vmlib.kernel_image(k, root or "/"), img,
                      "quiet zinitrd_test_disks=" + ",".join(names),
                      [(a, "virtio-blk", n) for a, n in zip(attach, names)],
                      name=f"make-{prefix.rstrip('-')}", snapshot=False, log_dir=paths.logs)
        try:
            _, m = vm.expect(r"MAKE-POOLS-(DONE|FAILED.*)", timeout=1800)
            if m.group(1) != "DONE":
                raise AssertionError(f"pool creation failed: {m.group(0)}\n{vm.tail(60)}")
            vm.wait_exit(120)
        finally:
            vm.kill()
        facts = dict(facts, pool_vm_seconds=round(time.monotonic() - t, 1),
                     overlay_tar_bytes=os.path.getsize(overlay),
                     pool_bytes={p: os.stat(os.path.join(tmp, f"sd-{p}.raw")).st_blocks * 512
                                 for p in disks})
        os.unlink(overlay)
        if root is not None:
            os.unlink(tar)
        with open(os.path.join(tmp, "facts.json"), "w") as f:
            json.dump(facts, f)
        with open(os.path.join(tmp, "done"), "w") as f:
            f.write(vm.text())
        shutil.rmtree(d, ignore_errors=True)
        os.rename(tmp, d)
        _prune(prefix, 2)
        return disks


def facts(paths, k, root=None):
    """What making the root cost (debootstrap seconds, tar sizes, pool VM seconds)."""
    d = os.path.dirname(pool_disks(paths, k, root)["rpool"])
    return json.load(open(os.path.join(d, "facts.json")))
