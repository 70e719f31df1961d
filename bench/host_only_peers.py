"""bench/host_only_peers.py: the peers' machine-specific images, made where zinitrd's is.

zinitrd's --host-only figure (issue 19) is the image the Debian root's own kernel hook writes on
a machine with the pool on virtio, an AHCI controller (q35) and a USB keyboard on xHCI
(tests/vm/scenarios_host_only.py). Its peers' equivalents are made on that same machine, from the
same root: booted with the generic zinitrd image and a job disk (host_only_peers_job.sh and the
.deb files of initramfs-tools, zfs-initramfs, dracut-core and zfs-dracut that the root lacks,
taken from this machine's apt sources), it builds initramfs-tools with MODULES=dep and dracut with
--hostonly, each at its own defaults otherwise. The images are copied out, listed (`zinitrd ls`:
modules, file contents), recompressed as one stream with zstd -19 (zinitrd's default) for a size
at the same compressor, and each is booted on that machine to `running`.
"""
import glob
import hashlib
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile

import debian_root
import scenarios_host_only
import vmlib
from scenarios_systemd import SystemdBoot

HERE = os.path.dirname(os.path.abspath(__file__))
JOB_SCRIPT = os.path.join(HERE, "host_only_peers_job.sh")
BENCH_CACHE = os.environ.get("BENCH_CACHE", "/var/cache/zinitrd-bench")
PEERS = ("initramfs-tools", "dracut")
# What the job installs, with what the root lacks of their dependencies (computed against the
# root's own dpkg status). zstd: initramfs-tools-core recommends it, and Debian 12's
# initramfs.conf asks for COMPRESS=zstd (without it mkinitramfs falls back to gzip).
PACKAGES = ("initramfs-tools", "dracut-core", "zstd")
OFFSET_MIB = {"initramfs-tools": 0, "dracut": 128}  # where the job writes each image (job script)
OUT_BYTES = 256 << 20
JOB_TIMEOUT = 1800  # the boot, then dpkg, mkinitramfs and dracut under TCG
JOB_LINE = r"ZINITRD-JOB peer (\S+) bytes=(\d+) seconds=([\d.]+) offset_mib=(\d+)"
JOB_REFUSED = r"ZINITRD-JOB peer (\S+) failed (status=\d+: .*)"
HOW = {"zinitrd": "kernel hook, `host-only = true`", "initramfs-tools": "`MODULES=dep`",
       "dracut": "`--hostonly`"}


def log(msg):
    print(f"bench: {msg}", file=sys.stderr, flush=True)


def root_status():
    """The Debian root's dpkg status file, read from its debootstrapped tar, in a temporary file."""
    tar, _ = debian_root.base_tar()
    data = subprocess.run(["tar", "-xOf", tar, "./var/lib/dpkg/status"], check=True,
                          stdout=subprocess.PIPE).stdout
    f = tempfile.NamedTemporaryFile(prefix="zinitrd-root-status.", delete=False)
    f.write(data)
    f.close()
    return f.name, data.decode(errors="replace")


def installed_version(status_text, package):
    m = re.search(rf"^Package: {re.escape(package)}\n(?:[^\n]+\n)*?Version: (\S+)", status_text, re.M)
    if not m:
        raise AssertionError(f"the Debian root has no {package}")
    return m.group(1)


def wanted_debs():
    """[(package, version)] the job installs: PACKAGES and what the root lacks of their
    dependencies (apt's simulation against the root's status), zfs-initramfs and zfs-dracut at
    the root's zfsutils-linux version."""
    status, text = root_status()
    try:
        sim = subprocess.run(["apt-get", "install", "-s", "--no-install-recommends",
                              "-o", f"Dir::State::status={status}", *PACKAGES],
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    finally:
        os.unlink(status)
    if sim.returncode != 0:
        raise AssertionError(f"apt-get -s {' '.join(PACKAGES)} failed:\n{sim.stdout[-2000:]}")
    debs = re.findall(r"^Inst (\S+) (?:\[\S+\] )?\((\S+) ", sim.stdout, re.M)
    zfs = installed_version(text, "zfsutils-linux")
    return sorted(set(debs)) + [("zfs-initramfs", zfs), ("zfs-dracut", zfs)]


def fetch_debs(wanted):
    """The .deb files of WANTED, downloaded once into BENCH_CACHE (keyed by the list)."""
    key = hashlib.sha256(" ".join(f"{p}={v}" for p, v in wanted).encode()).hexdigest()[:16]
    d = os.path.join(BENCH_CACHE, f"host-only-debs-{key}")
    if not os.path.exists(os.path.join(d, ".done")):
        for old in glob.glob(os.path.join(BENCH_CACHE, "host-only-debs-*")):
            shutil.rmtree(old, ignore_errors=True)
        tmp = d + ".tmp"
        os.makedirs(tmp)
        shutil.chown(tmp, "_apt")  # apt-get download drops to _apt
        p = subprocess.run(["apt-get", "download", "-q", *(f"{p}={v}" for p, v in wanted)], cwd=tmp,
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        if p.returncode != 0:
            raise AssertionError(f"apt-get download failed:\n{p.stdout[-2000:]}")
        open(os.path.join(tmp, ".done"), "w").close()
        os.rename(tmp, d)
    debs = sorted(glob.glob(os.path.join(d, "*.deb")))
    if len(debs) != len(wanted):
        raise AssertionError(f"{d}: {len(debs)} .deb files for {len(wanted)} packages")
    return debs


def job_disk(paths, name, k, debs):
    """The job disk: run.sh, debs/ (installed), dracut-zfs/ (zfs-dracut, only unpacked) and
    boot/config-K: the tests' root has the kernel's modules but not the file its linux-image
    package puts in /boot, which mkinitramfs reads to choose a compressor the kernel unpacks."""
    path = os.path.join(paths.out, f"{name}-job.tar")
    with tarfile.open(path, "w", format=tarfile.GNU_FORMAT) as t:
        t.add(JOB_SCRIPT, arcname="run.sh")
        t.add(f"/boot/config-{k}", arcname=f"boot/config-{k}")
        for deb in debs:
            sub = "dracut-zfs" if os.path.basename(deb).startswith("zfs-dracut_") else "debs"
            t.add(deb, arcname=f"{sub}/{os.path.basename(deb)}")
    return path


def parse_job(text):
    """From the job boot's console TEXT: ({tool: (bytes, build seconds, offset MiB)} of the images
    written, {tool: why} of the tools that refused). Raises AssertionError when the job itself
    failed or left a peer without either line."""
    built = {m.group(1): (int(m.group(2)), float(m.group(3)), int(m.group(4)))
             for m in re.finditer(JOB_LINE, text)}
    refused = {m.group(1): m.group(2).strip()[:300] for m in re.finditer(JOB_REFUSED, text)}
    if "ZINITRD-JOB status 0" not in text or not set(PEERS) <= set(built) | set(refused):
        lines = re.findall(r"ZINITRD-JOB (.*)", text)
        raise AssertionError("the job in the booted root failed:\n" + "\n".join(lines[-30:]))
    return built, refused


def compressor(img, start):
    """The compressor of IMG's part from START on (None: not compressed, or not by a known one)."""
    with open(img, "rb") as f:
        f.seek(start)
        name = vmlib.compression_named(f.read(8))
    return None if name in ("none", "unknown") else name


def zstd19_bytes(img, start):
    """IMG's bytes before START (uncompressed early cpio) plus its compressed part, decompressed
    as one stream and compressed again with `zstd -19`: every tool's image at one compressor."""
    tool = compressor(img, start)
    if tool is None:
        return None
    with open(img, "rb", buffering=0) as f:  # unbuffered: the decompressor reads from f's offset
        f.seek(start)
        dec = subprocess.Popen([tool, "-dc"], stdin=f, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        enc = subprocess.run(["zstd", "-19", "-T0", "-q", "-c"], stdin=dec.stdout, stdout=subprocess.PIPE)
        dec.stdout.close()
        # gzip exits 2 on the zero padding after its stream ("trailing garbage ignored").
        if dec.wait() not in (0, 2) or enc.returncode != 0:
            return None
    return start + len(enc.stdout)


def describe(zinitrd, img, built=None):
    listing = vmlib.image_listing(zinitrd, img)
    start = listing["early_bytes"]
    r = {"bytes": os.path.getsize(img), "modules": len(listing["modules"]),
         "content_bytes": listing["content_bytes"], "compressor": compressor(img, start),
         "zstd19_bytes": zstd19_bytes(img, start)}
    if built is not None:
        r["build_seconds"] = built
    return r


def measure(paths, k, generic, zinitrd_image, log_dir, boot):
    """The peers' host-only images (see the module's doc) and zinitrd's (ZINITRD_IMAGE, None when
    it was not made) at the same compressor.
    BOOT is systemd_boot.one_boot. Failures are recorded, never fatal: the run's other figures
    are kept."""
    name = "bookworm_bench-host-only-peers"
    res = {"zinitrd": describe(paths.zinitrd, zinitrd_image) if zinitrd_image else {}}
    try:
        debs = fetch_debs(wanted_debs())
        job = job_disk(paths, name, k, debs)
        out = os.path.join(paths.out, f"{name}-out.qcow2")
        if os.path.exists(out):
            os.unlink(out)
        subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", out, str(OUT_BYTES)], check=True)
        job_boot = SystemdBoot(scenarios_host_only.HostOnlyBoot.append,
                               extra_disks=[(job, "virtio-blk", "zinitrd-job"), (out, "virtio-blk", "zinitrd-out")])
        job_boot.timeout = JOB_TIMEOUT
        job_boot.qemu_extra = scenarios_host_only.MACHINE
        job_boot.run(paths, name, lambda: generic)
        built, refused = parse_job(open(os.path.join(paths.logs, f"{name}.log"), errors="replace").read())
        res.update({t: {"refused": why} for t, why in refused.items()})
        raw = os.path.join(paths.out, f"{name}-out.raw")
        subprocess.run(["qemu-img", "convert", "-f", "qcow2", "-O", "raw", out, raw], check=True)
        with open(raw, "rb") as f:
            for tool, (size, seconds, offset_mib) in built.items():
                img = os.path.join(paths.out, f"{name}-{tool}.img")
                f.seek(offset_mib << 20)
                with open(img, "wb") as g:
                    g.write(f.read(size))
                res[tool] = describe(paths.zinitrd, img, seconds)
                res[tool]["image"] = img
        os.unlink(raw)
    except (AssertionError, KeyError, OSError, subprocess.SubprocessError) as e:
        log(f"peers' host-only images: {e}")
        res["failed"] = str(e).splitlines()[0][:300]
        return res
    disk = debian_root.pool_disks(paths, k)["rpool"]
    for tool in (t for t in PEERS if t in built):
        r = boot(k, res[tool]["image"], disk, f"bench-host-only-{tool}", log_dir,
                 extra=scenarios_host_only.MACHINE, strict=False)
        res[tool]["boot"] = r
        log(f"host-only {tool}: {res[tool]['bytes'] / 1e6:.1f} MB, {res[tool]['modules']} modules, "
            f"built in {res[tool]['build_seconds']} s; boot: "
            + (r["did_not_boot"] if "did_not_boot" in r else
               f"{r['state']} after {r['running']:.1f} s, failed units {r['failed']}, / rw={r['root_rw']}"))
    return res


def smaller_peer(peers):
    """The peer with the smaller host-only image, or None when none was made."""
    made = [t for t in PEERS if t in peers and "bytes" in peers[t]]
    return min(made, key=lambda t: peers[t]["bytes"]) if made else None


def table(host_only, tools):
    """The report's rows for the host-only images: HOST_ONLY is systemd_boot's host_only entry."""
    peers = host_only.get("peers") or {}
    rows = {"zinitrd": dict(host_only, **peers.get("zinitrd", {})),
            **{t: peers.get(t) or {} for t in PEERS if "bytes" in (peers.get(t) or {})}}
    refused = {t: peers[t]["refused"] for t in PEERS if "refused" in (peers.get(t) or {})}
    booted = {"zinitrd": {"state": "running", "running": host_only.get("boot_seconds"), "root_rw": "yes"}}
    lines = ["| host-only image, same machine and root, each tool's defaults | " + " | ".join(tools) + " |",
             "|---|" + "---:|" * len(tools)]

    def row(label, f):
        lines.append(f"| {label} | " + " | ".join(f(t) if t in rows else "-" for t in tools) + " |")

    z = rows["zinitrd"]
    lines.append("| how | " + " | ".join(HOW[t] for t in tools) + " |")
    lines.append("| image size | " + " | ".join(
        f"{rows[t]['bytes'] / 1e6:.1f} MB" if t in rows else
        f"not made: {refused[t]}" if t in refused else "-" for t in tools) + " |")
    row("compressor (its default)", lambda t: rows[t].get("compressor") or "-")
    row("image, zinitrd/tool", lambda t: f"{z['bytes'] / rows[t]['bytes']:.2f}")
    row("all recompressed with zstd -19", lambda t: "-" if not rows[t].get("zstd19_bytes")
        else f"{rows[t]['zstd19_bytes'] / 1e6:.1f} MB")
    row("file contents (uncompressed)", lambda t: "-" if "content_bytes" not in rows[t]
        else f"{rows[t]['content_bytes'] / 1e6:.1f} MB")
    row("kernel modules", lambda t: str(rows[t]["modules"]))

    def boot(t):
        b = booted.get(t) or rows[t].get("boot") or {}
        if "did_not_boot" in b:
            return f"did not boot: {b['did_not_boot']}"
        if b.get("running") is None:
            return "-"
        return f"{b['state']} after {b['running']:.1f} s, / {'rw' if b['root_rw'] == 'yes' else 'ro'}"
    row("booted on that machine", boot)
    if "failed" in peers:
        lines += ["", f"The peers' host-only images were not made: {peers['failed']}"]
    return lines
