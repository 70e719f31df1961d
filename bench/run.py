#!/usr/bin/python3
"""bench/run.py: zinitrd against initramfs-tools (+ zfs-initramfs) and dracut (+ OpenZFS's 90zfs),
measured side by side in one run, on the same kernel, ZFS, machine and pool disk.

  bench/setup-peers.sh                      # once: the peers, matplotlib (idempotent)
  python3 bench/run.py [--build-dir build]  # writes bench/results/{results.md,results.json,chart.png}

What it measures (see bench/README.md for the why):
  build   wall time of repeated builds of each tool, interleaved, all with zstd -3 on every CPU;
          zinitrd's per-pass times (--stats); the floor: reading zinitrd's input files
          (cat > /dev/null) + `zstd -3 -T<nproc>` of zinitrd's own uncompressed cpio; and zinitrd
          with its own defaults (zstd 19, segment cache): the first build with an empty cache, the
          rebuilds, and the floor at level 19.
  size    image bytes, entries (`zinitrd ls`), content bytes.
  boot    each image boots the same pool disk under QEMU (vmlib, -snapshot, one VM at a time),
          `root=zfs:rpool/ROOT/debian`; seconds from QEMU start to the root's marker line, from the
          kernel's "Run /init" line to the marker, and for zinitrd the span of its own log lines;
          then the same images boot the same disk on every other bus the suite uses, to the
          marker (storage_boot.py), and a real Debian 12 root with systemd, to `running`
          (systemd_boot.py).
Nothing measured is hard-coded; machine facts are recorded with the figures. The host's /boot is
checked before and after: peers write to temporary outputs only.
"""
import argparse
import datetime
import hashlib
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE_DIR = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(SOURCE_DIR, "tests", "vm"))
import vmlib  # noqa: E402
import host_only_peers  # noqa: E402
import storage_boot  # noqa: E402
import systemd_boot  # noqa: E402

BENCH_CACHE = os.environ.get("BENCH_CACHE", "/var/cache/zinitrd-bench")
DRACUT_BASE = os.path.join(BENCH_CACHE, "dracut")
TOOLS = ["zinitrd", "initramfs-tools", "dracut"]
APPEND = "root=zfs:rpool/ROOT/debian"  # every tool reads this form (zfs-initramfs: conf.d/zfs)
MARKER = r"ZINITRD-TEST-MARKER root=(\S+) usr=(\S+) pid=(\d+) mode=(\S+)"
KSTAMP = r"^\[\s*(\d+\.\d+)\]"
STAGES = r"zinitrd: mounted .* on /sysroot \(modules ([\d.]+)s, import ([\d.]+)s, mount ([\d.]+)s\)"
# Targets of issue 7, reported against, never asserted.
TARGET_BUILD_PEER, TARGET_BUILD_FLOOR, TARGET_SIZE, TARGET_BOOT = 1 / 50, 2.0, 0.5, 0.7
# Issue 19's: /init without the zfs stack's load (s), boot against the faster peer, the generic
# image's main (compressed) segment and the --host-only one (bytes).
TARGET_INIT, TARGET_BOOT_19, TARGET_GENERIC, TARGET_HOST_ONLY = 0.5, 0.6, 12e6, 6e6


def log(msg):
    print(f"bench: {msg}", file=sys.stderr, flush=True)


def sh(cmd, **kw):
    return subprocess.run(cmd, check=True, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          text=True, **kw).stdout


def timed(cmd, env=None, stdout=subprocess.PIPE):
    """Runs CMD; returns (wall seconds, output). Raises with the output on failure."""
    t = time.monotonic()
    p = subprocess.run(cmd, stdout=stdout, stderr=subprocess.STDOUT, text=True, env=env)
    secs = time.monotonic() - t
    if p.returncode != 0:
        raise SystemExit(f"bench: {' '.join(cmd)} failed ({p.returncode}):\n{(p.stdout or '')[-4000:]}")
    return secs, p.stdout or ""


def pkg_version(p):
    try:
        return sh(["dpkg-query", "-W", "-f=${Version}", p]).strip()
    except subprocess.CalledProcessError:
        return None


def boot_state():
    """Names and digests of /boot's files: the peers must leave /boot as it was."""
    out = {}
    for n in sorted(os.listdir("/boot")):
        p = os.path.join("/boot", n)
        if os.path.isfile(p):
            with open(p, "rb") as f:
                out[n] = hashlib.sha256(f.read()).hexdigest()
    return out


def machine_facts(k, zinitrd):
    cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")),
               platform.processor())
    rev = subprocess.run(["git", "-C", SOURCE_DIR, "describe", "--always", "--dirty"],
                         stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True).stdout.strip()
    qemu = sh(["qemu-system-x86_64", "--version"]).splitlines()[0]
    return {
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "cpu": cpu, "nproc": os.cpu_count(), "mem_gb": round(os.sysconf("SC_PAGE_SIZE") *
                                                             os.sysconf("SC_PHYS_PAGES") / 2**30, 1),
        "host_kernel": platform.release(), "image_kernel": k,
        "zfs": pkg_version("zfsutils-linux"), "zinitrd": rev or "?",
        "initramfs-tools": pkg_version("initramfs-tools"), "zfs-initramfs": pkg_version("zfs-initramfs"),
        "dracut": pkg_version("dracut-core"), "zstd": sh(["zstd", "--version"]).strip(" *\n"),
        "qemu": qemu, "accel": os.environ.get("ZINITRD_VM_ACCEL", "tcg"),
        "loadavg_start": open("/proc/loadavg").read().split()[0],
    }


# ---------------------------------------------------------------------------------------- build

def build_cmd(tool, k, out, zinitrd):
    """The command each tool is measured with: its defaults, except zstd -3 on every CPU for all
    (zinitrd's own default, level 19 with its segment cache, is measured by measure_zinitrd_defaults)."""
    if tool == "zinitrd":
        return [zinitrd, "build", "--kver", k, "-o", out, "--level", "3", "--cache-dir", "none", "--stats"], None
    if tool == "initramfs-tools":
        # -c/-l override initramfs.conf's COMPRESS/COMPRESSLEVEL; mkinitramfs adds -T0 itself.
        return ["mkinitramfs", "-c", "zstd", "-l", "3", "-o", out, k], None
    env = dict(os.environ, dracutbasedir=DRACUT_BASE)  # our module tree with 90zfs (setup-peers.sh)
    return ["dracut", "--force", "--add", "zfs", "--compress", "zstd -3 -q -T0", "--kver", k, out], env


def compression_of(img):
    """The compressor of an image's main segment, after any uncompressed (early) cpio segments."""
    data = open(img, "rb").read()
    pos = 0
    while data[pos:pos + 6] == b"070701":
        while True:  # newc entries up to TRAILER!!!
            namesize, filesize = int(data[pos + 94:pos + 102], 16), int(data[pos + 54:pos + 62], 16)
            name = data[pos + 110:pos + 110 + namesize - 1]
            pos = (pos + 110 + namesize + 3) & ~3
            pos = (pos + filesize + 3) & ~3
            if name == b"TRAILER!!!":
                break
        while pos < len(data) and data[pos] == 0:
            pos += 1
    return vmlib.compression_named(data[pos:pos + 8])


def measure_peer_defaults(k, work):
    """One build of each peer exactly as the host configures it (its own compressor and level):
    what a user of that tool waits for and gets. Not the basis of the ratios (those use zstd -3)."""
    out = {}
    cmds = {"initramfs-tools": (["mkinitramfs", "-o", os.path.join(work, "itools-default.img"), k], None),
            "dracut": (["dracut", "--force", "--add", "zfs", "--kver", k, os.path.join(work, "dracut-default.img")],
                       dict(os.environ, dracutbasedir=DRACUT_BASE))}
    for t, (cmd, env) in cmds.items():
        secs, text = timed(cmd, env)
        img = cmd[2] if t == "initramfs-tools" else cmd[-1]
        comp = compression_of(img)
        out[t] = {"seconds": secs, "bytes": os.path.getsize(img), "format": comp}
        log(f"build {t} with its defaults: {secs:.2f} s, {mb(out[t]['bytes'])} ({comp})")
    return out


def parse_stats(text):
    """zinitrd --stats lines: `zinitrd: pass NAME  0.123 s` -> {NAME: seconds}."""
    return {m.group(1).strip(): float(m.group(2))
            for m in re.finditer(r"pass (.+?)\s+(\d+\.\d+) s", text)}


def drop_caches():
    try:
        os.sync()
        with open("/proc/sys/vm/drop_caches", "w") as f:
            f.write("3\n")
        return True
    except OSError:
        return False


def measure_builds(k, zinitrd, work, z_runs, peer_runs):
    res = {t: {"runs": []} for t in TOOLS}
    images = {t: os.path.join(work, f"{t}.img") for t in TOOLS}
    stats = []
    # zinitrd cold: only where the page cache can be dropped (not in most containers).
    if drop_caches():
        cmd, env = build_cmd("zinitrd", k, images["zinitrd"], zinitrd)
        res["zinitrd"]["cold"], _ = timed(cmd, env)
        log(f"zinitrd cold-cache build: {res['zinitrd']['cold']:.2f} s")
    else:
        res["zinitrd"]["cold"] = None
        log("cold-cache build not measured: /proc/sys/vm/drop_caches is not writable here")
    # One untimed warm-up of zinitrd; the peers' first runs are timed (each reads the same files
    # zinitrd's warm-up just read, and takes tens of seconds, so a warm-up would double the bench).
    timed(build_cmd("zinitrd", k, images["zinitrd"], zinitrd)[0])
    # Interleaved so that drift on a shared machine hits every tool alike.
    for i in range(max(z_runs, peer_runs)):
        for t in TOOLS:
            if i >= (z_runs if t == "zinitrd" else peer_runs):
                continue
            cmd, env = build_cmd(t, k, images[t], zinitrd)
            secs, out = timed(cmd, env)
            res[t]["runs"].append(secs)
            if t == "zinitrd":
                stats.append(parse_stats(out))
            log(f"build {t} #{i + 1}: {secs:.2f} s")
    for t in TOOLS:
        summarize(res[t])
    passes = {}
    for name in stats[0] if stats else []:
        passes[name] = statistics.median(s.get(name, 0.0) for s in stats)
    res["zinitrd"]["passes"] = passes
    return res, images


def summarize(r):
    r["median"] = statistics.median(r["runs"])
    r["min"], r["max"] = min(r["runs"]), max(r["runs"])


def measure_zinitrd_defaults(k, zinitrd, work, runs, floor):
    """zinitrd as installed (zstd 19, its programs and modules segments cached): the first build
    with an empty cache (what a new kernel or library set costs), then rebuilds (what a crypttab
    edit or a package trigger costs); and the floor at that level: reading the inputs plus
    `zstd -19 -T<n>` of zinitrd's uncompressed cpio (measure_floor wrote it)."""
    cache = os.path.join(work, "segment-cache")  # private: the host's own cache is left alone
    img = os.path.join(work, "zinitrd-default.img")
    cmd = [zinitrd, "build", "--kver", k, "-o", img, "--cache-dir", cache, "--stats"]
    cold, out = timed(cmd)
    log(f"zinitrd defaults, empty segment cache: {cold:.2f} s")
    warm = []
    for i in range(runs):
        secs, _ = timed(cmd)
        warm.append(secs)
        log(f"zinitrd defaults, rebuild #{i + 1}: {secs:.2f} s")
    threads = os.cpu_count()
    t = time.monotonic()
    subprocess.run(["zstd", "-19", f"-T{threads}", "-q", "-c", os.path.join(work, "zinitrd.cpio")],
                   check=True, stdout=subprocess.DEVNULL)
    compress = time.monotonic() - t
    segments = [line.split("zinitrd: segment ", 1)[1].strip() for line in out.splitlines()
                if "zinitrd: segment " in line]
    return {"cold": cold, "warm_runs": warm, "warm": statistics.median(warm), "segments": segments,
            "compress": compress, "floor": floor["read"] + compress, "zstd_cmd": f"zstd -19 -T{threads}",
            "size": measure_sizes(zinitrd, {"zinitrd": img})["zinitrd"]}


def image_inputs(zinitrd, cpio, build_dir):
    """The host files zinitrd's image was made from (regular files of `zinitrd ls`, same path on the
    host with the same size; /usr/lib/zinitrd/init comes from the build tree)."""
    found, missing = [], []
    for line in sh([zinitrd, "ls", cpio]).splitlines():
        m = re.match(r"(\S+)\s+(\d+)\s+(/.*)$", line)
        if not m or not m.group(1).startswith("-"):
            continue
        size, path = int(m.group(2)), m.group(3)
        cands = [path, os.path.join(build_dir, "lib", "zinitrd", os.path.basename(path))]
        src = next((c for c in cands if os.path.isfile(c) and os.path.getsize(c) == size), None)
        (found if src else missing).append(src or path)
    return found, missing


def measure_floor(k, zinitrd, work, build_dir, runs):
    """Reading the image's inputs + compressing zinitrd's uncompressed cpio the way zinitrd does."""
    cpio = os.path.join(work, "zinitrd.cpio")
    none_runs = [timed([zinitrd, "build", "--kver", k, "-o", cpio, "--compress", "none", "-q"])[0]
                 for _ in range(runs)]
    inputs, missing = image_inputs(zinitrd, cpio, build_dir)
    listing = os.path.join(work, "inputs.list")
    with open(listing, "wb") as f:
        f.write(b"\0".join(p.encode() for p in inputs))
    read, comp = [], []
    threads = os.cpu_count()  # zinitrd's default: one zstd worker per CPU
    for _ in range(runs):
        t = time.monotonic()
        subprocess.run(f"xargs -0 cat < {listing} > /dev/null", shell=True, check=True)
        read.append(time.monotonic() - t)
        t = time.monotonic()
        subprocess.run(["zstd", "-3", f"-T{threads}", "-q", "-c", cpio], check=True,
                       stdout=subprocess.DEVNULL)
        comp.append(time.monotonic() - t)
    r = {"read": statistics.median(read), "compress": statistics.median(comp),
         "uncompressed_build": statistics.median(none_runs), "inputs": len(inputs),
         "inputs_bytes": sum(os.path.getsize(p) for p in inputs), "unmapped": missing,
         "cpio_bytes": os.path.getsize(cpio), "zstd_cmd": f"zstd -3 -T{threads}"}
    r["total"] = r["read"] + r["compress"]
    return r


def host_only_target(systemd):
    """Issue 19's --host-only row: the image the Debian root's own kernel hook wrote with
    `host-only = true` (systemd_boot.measure_host_only), when the systemd boots ran."""
    h = (systemd or {}).get("host_only")
    if not h:
        return ("--host-only image <= 6 MB", None, TARGET_HOST_ONLY,
                "not measured: made inside the Debian root's boot (--systemd-runs 0 skips it)")
    if "failed" in h:
        return ("--host-only image <= 6 MB", None, TARGET_HOST_ONLY, f"not measured: {h['failed']}")
    peers = h.get("peers") or {}
    small = host_only_peers.smaller_peer(peers)
    against = (f"; {h['bytes'] / peers[small]['bytes']:.2f}x the smaller peer's host-only image, "
               f"{small}'s {mb(peers[small]['bytes'])}" if small else
               f"; peers' host-only images not measured: {peers.get('failed', 'not run')}")
    against += "".join(f"; {t} refused its host-only mode ({host_only_peers.HOW[t]}): {peers[t]['refused']}"
                       for t in host_only_peers.PEERS if "refused" in (peers.get(t) or {}))
    return ("--host-only image <= 6 MB", h["bytes"], TARGET_HOST_ONLY,
            f"{mb(h['bytes'])} ({h['modules']} modules against the generic image's "
            f"{h['generic_modules']}; made in the Debian root by its kernel hook, booted to `running`"
            f"{against})")


def measure_sizes(zinitrd, images):
    out = {}
    for t, img in images.items():
        listing = vmlib.image_listing(zinitrd, img)
        size = os.path.getsize(img)
        # The early part (microcode, uncompressed as the kernel requires): the uncompressed
        # segments before the first compressed one; an image with no compressed one has none.
        early = listing["early_bytes"]
        out[t] = {"bytes": size, "entries": listing["entries"], "content_bytes": listing["content_bytes"],
                  "early_bytes": early, "main_bytes": size - early}
    return out


# ----------------------------------------------------------------------------------------- boot

def bench_disk(paths, k):
    """The tests' rpool disk (rpool/ROOT/debian, with /etc/os-release as systemd-based
    initramfs images require), booted through -snapshot so it never changes."""
    return vmlib.pool_disks(paths, k)[0]


def one_boot(k, img, disks, name, log_dir, timeout=300, strict=True):
    """Boots IMG on DISKS (vmlib.drive_args' form); returns the marker's seconds and what the log
    says. A boot that does not reach the root stops the benchmark, or with STRICT false returns
    {"failed": why} (the storage matrix records it)."""
    load = open("/proc/loadavg").read().split()[0]
    vm = vmlib.Vm(vmlib.kernel_image(k), img, APPEND, list(disks), name=name, log_dir=log_dir)
    try:
        secs, m = vm.expect(MARKER, timeout=timeout)
        if m.group(1) != "rpool/ROOT/debian" or m.group(3) != "1":
            raise SystemExit(f"bench: {name} booted the wrong root: {m.group(0)}")
        vm.wait_exit(60)
    except AssertionError as e:
        if not strict:
            last = next((l for _, l in reversed(vm.lines) if l.strip()), "no console output")
            return {"failed": f"no marker within {timeout} s; console's last line: {last.strip()[:160]}",
                    "loadavg": load}
        raise SystemExit(f"bench: {name} did not boot: {e}")
    finally:
        vm.kill()
    r = {"marker": secs, "usr": m.group(2), "loadavg": load}
    dm = re.search(r"\bdisks=(\S+)", m.string)
    r["disks"] = dm.group(1) if dm else ""
    run_init = next((s for s, l in vm.lines if "Run /init as init process" in l), None)
    r["init_to_marker"] = secs - run_init if run_init is not None else None
    kt = {}
    for _, l in vm.lines:
        mm = re.search(KSTAMP + r".*zinitrd: (zinitrd \S+ starting|switching to /sysroot)", l)
        if mm:
            kt["start" if "starting" in mm.group(2) else "switch"] = float(mm.group(1))
    if "start" in kt and "switch" in kt:
        r["zinitrd_log"] = kt["switch"] - kt["start"]
    # zinitrd's own split of /init, the line it writes to /run/zinitrd/boot.log and the console.
    for _, l in vm.lines:
        mm = re.search(STAGES, l)
        if mm:
            r["stages"] = {k: float(v) for k, v in zip(("modules", "import", "mount"), mm.groups())}
    # Issue 19's figure: /init without what the kernel spends loading the zfs stack (the modules
    # stage loads the image's `load` list, zfs.ko and its dependencies, while coldplug runs beside).
    if "zinitrd_log" in r and "stages" in r:
        r["init_without_zfs_load"] = r["zinitrd_log"] - r["stages"]["modules"]
    # Of that, the kernel's import ioctl (spa_import), which /init logs with the import.
    for _, l in vm.lines:
        mm = re.search(r"zinitrd: imported pool .*\(the kernel's import: ([\d.]+)s\)", l)
        if mm:
            r["kernel_import"] = float(mm.group(1))
    return r


def measure_boots(paths, k, images, zinitrd, runs, log_dir):
    disk = bench_disk(paths, k)
    res = {t: {"boots": []} for t in TOOLS}
    for i in range(runs):  # interleaved, one VM at a time: TCG timings depend on CPU contention
        for t in TOOLS:
            r = one_boot(k, images[t], [disk], f"bench-{t}-{i + 1}", log_dir)
            res[t]["boots"].append(r)
            log(f"boot {t} #{i + 1}: marker after {r['marker']:.2f} s (load {r['loadavg']})")
    for t in TOOLS:
        b = res[t]["boots"]
        res[t]["runs"] = [x["marker"] for x in b]
        summarize(res[t])
        vals = [x["init_to_marker"] for x in b if x["init_to_marker"] is not None]
        res[t]["init_to_marker"] = statistics.median(vals) if vals else None
        zl = [x["zinitrd_log"] for x in b if "zinitrd_log" in x]
        res[t]["zinitrd_log"] = statistics.median(zl) if zl else None
        nz = [x["init_without_zfs_load"] for x in b if "init_without_zfs_load" in x]
        res[t]["init_without_zfs_load"] = statistics.median(nz) if nz else None
        ki = [x["kernel_import"] for x in b if "kernel_import" in x]
        res[t]["kernel_import"] = statistics.median(ki) if ki else None
        res[t]["usr"] = sorted({x["usr"] for x in b})
        st = [x["stages"] for x in b if "stages" in x]
        res[t]["stages"] = {k: statistics.median(x[k] for x in st) for k in st[0]} if st else None
    return res, disk


# -------------------------------------------------------------------------------------- report

def mb(n):
    return f"{n / 1e6:.1f} MB"


def verdict(ok):
    return "met" if ok else "MISSED"


def verdict19(value, target):
    return "not measured" if value is None else verdict(value <= target)


def report(facts, builds, floor, sizes, boots, defaults, out_dir, systemd=None, storage=None, zdef=None):
    peers = TOOLS[1:]
    z = builds["zinitrd"]
    fast_build = min(peers, key=lambda t: builds[t]["median"])
    small = min(peers, key=lambda t: sizes[t]["bytes"])
    lines = []
    L = lines.append
    L("| all zstd -3, same kernel and ZFS | zinitrd | initramfs-tools | dracut |")
    L("|---|---:|---:|---:|")

    def row(label, f):
        L(f"| {label} | " + " | ".join(f(t) for t in TOOLS) + " |")

    row("build, median (min-max)", lambda t: f"{builds[t]['median']:.2f} s "
        f"({builds[t]['min']:.2f}-{builds[t]['max']:.2f}), n={len(builds[t]['runs'])}")
    row("build, zinitrd/tool", lambda t: "1" if t == "zinitrd" else f"1/{builds[t]['median'] / z['median']:.0f}")
    row("image size", lambda t: mb(sizes[t]["bytes"]))
    row("image, zinitrd/tool", lambda t: f"{sizes['zinitrd']['bytes'] / sizes[t]['bytes']:.2f}")
    row("of which early microcode (uncompressed) / main segment", lambda t: f"{mb(sizes[t].get('early_bytes', 0))} / "
        f"{mb(sizes[t].get('main_bytes', sizes[t]['bytes']))}")
    row("entries", lambda t: str(sizes[t]["entries"]))
    row("file contents (uncompressed)", lambda t: mb(sizes[t]["content_bytes"]))
    if boots:
        fast_boot = min(peers, key=lambda t: boots[t]["median"])
        row("boot: QEMU start to marker, median (min-max)", lambda t: f"{boots[t]['median']:.2f} s "
            f"({boots[t]['min']:.2f}-{boots[t]['max']:.2f}), n={len(boots[t]['runs'])}")
        row("boot, zinitrd/tool", lambda t: f"{boots['zinitrd']['median'] / boots[t]['median']:.2f}")
        row("boot: kernel's `Run /init` to marker", lambda t: "-" if boots[t]["init_to_marker"] is None
            else f"{boots[t]['init_to_marker']:.2f} s")
        row("boot: /init stages modules / import / mount, median", lambda t: "-" if not boots[t].get("stages")
            else " / ".join(f"{boots[t]['stages'][k]:.2f}" for k in ("modules", "import", "mount")) + " s")
        row("boot: /init start to switch_root (its log)", lambda t: "-" if boots[t].get("zinitrd_log") is None
            else f"{boots[t]['zinitrd_log']:.2f} s")
        row("boot: the same without the zfs stack's load (modules stage)", lambda t: "-"
            if boots[t].get("init_without_zfs_load") is None else f"{boots[t]['init_without_zfs_load']:.2f} s")
        row("boot: of which the kernel's import ioctl (spa_import), median", lambda t: "-"
            if boots[t].get("kernel_import") is None else f"{boots[t]['kernel_import']:.2f} s")
        row("boot: /usr child dataset mounted", lambda t: ", ".join(
            "yes" if u != "none" else "no" for u in boots[t]["usr"]))
    if systemd:
        systemd_boot.table_rows(systemd, TOOLS, row)
        if systemd.get("host_only") and "bytes" in systemd["host_only"]:
            lines += [""] + host_only_peers.table(systemd["host_only"], TOOLS)
    if storage:
        lines += [""] + storage_boot.table(storage, TOOLS)
    table = "\n".join(lines)

    targets = [
        ("build <= 1/50 of the faster peer", z["median"] / builds[fast_build]["median"], TARGET_BUILD_PEER,
         f"1/{builds[fast_build]['median'] / z['median']:.0f} of {fast_build}"),
        ("build <= 2x the floor", z["median"] / floor["total"], TARGET_BUILD_FLOOR,
         f"{z['median'] / floor['total']:.2f}x the floor"),
        ("size <= 1/2 of the smaller peer", sizes["zinitrd"]["bytes"] / sizes[small]["bytes"], TARGET_SIZE,
         f"{sizes['zinitrd']['bytes'] / sizes[small]['bytes']:.2f}x {small}"),
    ]
    if boots:
        targets.append(("boot <= 0.7x the faster peer", boots["zinitrd"]["median"] / boots[fast_boot]["median"],
                        TARGET_BOOT, f"{boots['zinitrd']['median'] / boots[fast_boot]['median']:.2f}x {fast_boot}"))
    zs = zdef["size"] if zdef else sizes["zinitrd"]
    at = "at its default level 19" if zdef else "at level 3"
    targets19 = [("generic image's main segment <= 12 MB", zs.get("main_bytes", zs["bytes"]), TARGET_GENERIC,
                  f"{mb(zs.get('main_bytes', zs['bytes']))} {at} (+ {mb(zs.get('early_bytes', 0))} early microcode)"),
                 host_only_target(systemd)]
    if zdef:
        targets19.append(("build <= 2x the floor", zdef["cold"] / zdef["floor"], TARGET_BUILD_FLOOR,
                          f"{zdef['cold'] / zdef['floor']:.2f}x the floor at level 19 with an empty cache "
                          f"({zdef['cold']:.2f} s against {zdef['floor']:.2f} s), "
                          f"{zdef['warm'] / zdef['floor']:.2f}x on a rebuild ({zdef['warm']:.2f} s); "
                          f"{z['median'] / floor['total']:.2f}x at level 3"))
    else:
        targets19.append(("build <= 2x the floor", z["median"] / floor["total"], TARGET_BUILD_FLOOR,
                          f"{z['median'] / floor['total']:.2f}x the floor"))
    if boots:
        nz, ki = boots["zinitrd"].get("init_without_zfs_load"), boots["zinitrd"].get("kernel_import")
        targets19[:0] = [
            ("/init without the zfs stack's load < 0.5 s", nz, TARGET_INIT,
             (f"{nz:.2f} s" + (f", of which the kernel's import ioctl {ki:.2f} s" if ki is not None else ""))
             if nz is not None else "not found in the console log"),
            ("boot <= 0.6x the faster peer", boots["zinitrd"]["median"] / boots[fast_boot]["median"],
             TARGET_BOOT_19, f"{boots['zinitrd']['median'] / boots[fast_boot]['median']:.2f}x {fast_boot}")]
    summary = "zinitrd: " + "; ".join(
        f"{name.split(' ')[0]} {desc} (target {name.split(' ', 1)[1]}: {verdict(v <= tgt)})"
        for name, v, tgt, desc in targets)
    summary += ". Issue 19: " + "; ".join(
        f"{name}: not measured" if v is None else f"{name}: {desc} ({verdict19(v, tgt)})"
        for name, v, tgt, desc in targets19)
    if systemd:
        summary += "; " + systemd_boot.summary(systemd, peers)
    if storage:
        summary += "; " + storage_boot.summary(storage, TOOLS)

    busy = max(float(facts["loadavg_start"]), float(facts.get("loadavg_end", 0)))
    if busy > facts["nproc"]:
        summary += f" [busy machine: load average up to {busy} on {facts['nproc']} CPUs, timings noisy]"
    md = ["# zinitrd vs initramfs-tools vs dracut", "",
          f"Measured {facts['date']} by `bench/run.py` in one run. {summary}.", "", table, ""]
    if busy > facts["nproc"]:
        md += [f"**The machine was busy** (load average up to {busy} on {facts['nproc']} CPUs, other "
               "jobs running): timings are noisy, boot times most of all; rerun on an idle machine.", ""]
    md += ["## Targets (issue 7; reported, not asserted)", "", "| target | measured | |", "|---|---|---|"]
    md += [f"| {n} | {d} | {verdict(v <= t)} |" for n, v, t, d in targets]
    md += ["", "## Targets (issue 19; reported, not asserted)", "", "| target | measured | |", "|---|---|---|"]
    md += [f"| {n} | {d} | {verdict19(v, t)} |" for n, v, t, d in targets19]
    if zdef:
        md += ["", "## zinitrd with its defaults (zstd 19, segment cache)", "",
               "| | seconds | image (main segment) |", "|---|---:|---:|",
               f"| first build, empty segment cache (a new kernel) | {zdef['cold']:.2f} | "
               f"{mb(zdef['size']['main_bytes'])} |",
               f"| rebuild, segments reused, median of {len(zdef['warm_runs'])} | {zdef['warm']:.2f} | "
               f"{mb(zdef['size']['main_bytes'])} |",
               f"| floor: read the inputs + `{zdef['zstd_cmd']}` of the cpio | {zdef['floor']:.2f} | |",
               "", "Segments (`--stats` of the first build): " + "; ".join(f"`{x}`" for x in zdef["segments"]) + "."]
    if defaults:
        md += ["", "## Peers as configured on the host (one build each, their own compressor)", "",
               "| | build | image | zinitrd build / tool | zinitrd image / tool |", "|---|---:|---:|---:|---:|"]
        md += [f"| {t} | {d['seconds']:.2f} s | {mb(d['bytes'])} ({d['format']}) | 1/{d['seconds'] / z['median']:.0f} "
               f"| {sizes['zinitrd']['bytes'] / d['bytes']:.2f} |" for t, d in defaults.items()]
    md += ["", "## zinitrd build: passes and floor", "",
           "| | seconds (median) |", "|---|---:|"]
    md += [f"| pass {n} | {s:.3f} |" for n, s in z["passes"].items()]
    md += [f"| **zinitrd build, total (wall)** | **{z['median']:.3f}** |",
           f"| zinitrd build `--compress none` (wall) | {floor['uncompressed_build']:.3f} |",
           f"| floor: read the {floor['inputs']} input files ({mb(floor['inputs_bytes'])}), "
           f"`xargs -0 cat > /dev/null` | {floor['read']:.3f} |",
           f"| floor: `{floor['zstd_cmd']}` of zinitrd's uncompressed cpio ({mb(floor['cpio_bytes'])}) "
           f"| {floor['compress']:.3f} |",
           f"| **floor, total** | **{floor['total']:.3f}** |",
           f"| zinitrd / floor | {z['median'] / floor['total']:.2f} |"]
    cold = z.get("cold")
    md += ["", f"Cold-cache zinitrd build: {f'{cold:.2f} s' if cold else 'not measured (cannot drop the page cache here)'}."]
    if floor["unmapped"]:
        md += [f"Image files with no same-size host file (generated, not read by the floor): "
               f"{', '.join(floor['unmapped'][:8])}{' ...' if len(floor['unmapped']) > 8 else ''}."]
    if boots:
        zl = boots["zinitrd"]["zinitrd_log"]
        md += ["", f"Time inside zinitrd's initramfs, from its own log (kernel timestamps of "
               f"`zinitrd ... starting` to `switching to /sysroot`), median: "
               f"{f'{zl:.2f} s' if zl is not None else 'not found in the console log'}."]
        md += ["", "Boot runs (QEMU start to marker, s; host load average at start):", ""]
        for t in TOOLS:
            md += [f"- {t}: " + ", ".join(f"{b['marker']:.2f} (load {b['loadavg']})" for b in boots[t]["boots"])]
    if systemd:
        md += systemd_boot.details(systemd, TOOLS)
    if storage:
        md += storage_boot.details(storage, TOOLS)
    md += ["", "## How", "",
           "- Build commands (all write to a temporary file; /boot is checked unchanged at the end):",
           f"  - zinitrd: `zinitrd build --kver K -o OUT --level 3 --cache-dir none --stats` (zstd level 3 as the peers, "
           f"{facts['nproc']} threads); its defaults (level 19, segment cache) in their own section",
           "  - initramfs-tools: `mkinitramfs -c zstd -l 3 -o OUT K` (the host's initramfs.conf otherwise: MODULES=most)",
           "  - dracut: `dracutbasedir=BENCH_CACHE/dracut dracut --force --add zfs --compress 'zstd -3 -q -T0' --kver K OUT`"
           " (90zfs from zfs-dracut, see bench/setup-peers.sh; the host's dracut.conf otherwise)",
           "- Runs are interleaved (zinitrd, initramfs-tools, dracut, zinitrd, ...) with warm caches; zinitrd gets one untimed warm-up.",
           f"- Boot: `qemu-system-x86_64 -accel {facts['accel']}` via tests/vm/vmlib.py, 2 vCPUs, 1 GiB, the"
           " uncompressed vmlinux (PVH), `-snapshot`, one VM at a time, kernel command line "
           f"`console=ttyS0 panic=-1 {APPEND}` for every tool.",
           "  The disk is the tests' rpool disk (tests/vm/make_pools.sh) plus `/etc/os-release` in"
           " rpool/ROOT/debian (systemd in dracut's image refuses to switch to a root without one).",
           "  The marker is printed by the root's own /sbin/init (tests/vm/guest_init.sh).",
           "- Entries and file contents: `zinitrd ls IMAGE` (all cpio segments).",
           "", "## Machine", ""]
    md += [f"- {k}: {v}" for k, v in facts.items()]
    os.makedirs(out_dir, exist_ok=True)
    with open(os.path.join(out_dir, "results.md"), "w") as f:
        f.write("\n".join(md) + "\n")
    with open(os.path.join(out_dir, "results.json"), "w") as f:
        json.dump({"facts": facts, "build": builds, "floor": floor, "size": sizes, "boot": boots,
                   "peer_defaults": defaults, "systemd": systemd, "storage": storage, "zinitrd_defaults": zdef,
                   "summary": summary}, f, indent=1,
                  default=str)
    chart(builds, sizes, boots, floor, facts, os.path.join(out_dir, "chart.png"), systemd, storage)
    return table, summary


def chart(builds, sizes, boots, floor, facts, path, systemd=None, storage=None):
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        log("no chart: python3-matplotlib is missing (run bench/setup-peers.sh)")
        return
    colors = ["#2a7ab0", "#999999", "#d08c3a"]
    panels = [("build time (s, median)", [builds[t]["median"] for t in TOOLS],
               [(builds[t]["min"], builds[t]["max"]) for t in TOOLS]),
              ("image size (MB)", [sizes[t]["bytes"] / 1e6 for t in TOOLS], None)]
    if boots:
        panels.append(("boot: QEMU start to root's init (s, median)", [boots[t]["median"] for t in TOOLS],
                       [(boots[t]["min"], boots[t]["max"]) for t in TOOLS]))
    if systemd:
        r = systemd["tools"]
        panels.append(("Debian root: QEMU start to `running` (s, median)", [r[t]["median"] for t in TOOLS],
                       [(r[t]["min"], r[t]["max"]) for t in TOOLS]))
    if storage:  # a second row, as wide as the first: one group of bars per bus
        fig = plt.figure(figsize=(4.2 * len(panels), 7.6))
        grid = fig.add_gridspec(2, len(panels))
        axes = [fig.add_subplot(grid[0, i]) for i in range(len(panels))]
        wide = fig.add_subplot(grid[1, :])
        title, buses, per_tool = storage_boot.chart_panel(storage, TOOLS)
        width = 0.8 / len(TOOLS)
        for i, t in enumerate(TOOLS):
            xs = [b + (i - (len(TOOLS) - 1) / 2) * width for b in range(len(buses))]
            wide.bar(xs, per_tool[t], width, color=colors[i], label=t)
        wide.set_xticks(range(len(buses)), buses, fontsize=8)
        wide.set_title(title, fontsize=10)
        top = max(max(v) for v in per_tool.values()) or 1
        wide.set_ylim(0, top * 1.25)  # room for the legend above the bars
        wide.legend(fontsize=8, frameon=False, ncol=len(TOOLS), loc="upper left")
        wide.spines[["top", "right"]].set_visible(False)
    else:
        fig, axes = plt.subplots(1, len(panels), figsize=(4.2 * len(panels), 3.8))
    for ax, (title, vals, rng) in zip(axes, panels):
        err = None
        if rng:
            err = [[v - lo for v, (lo, _) in zip(vals, rng)], [hi - v for v, (_, hi) in zip(vals, rng)]]
        bars = ax.bar(TOOLS, vals, color=colors, yerr=err, capsize=4)
        for b, v in zip(bars, vals):
            ax.annotate(f"{v:.2f}" if v < 10 else f"{v:.1f}", (b.get_x() + b.get_width() / 2, v),
                        ha="center", va="bottom", fontsize=8, xytext=(0, 2), textcoords="offset points")
        ax.set_title(title, fontsize=10)
        ax.tick_params(axis="x", labelsize=8)
        ax.spines[["top", "right"]].set_visible(False)
    axes[0].axhline(floor["total"], color="#2a7ab0", linestyle=":", linewidth=1)
    axes[0].annotate("zinitrd floor", (0, floor["total"]), fontsize=7, xytext=(0, 3), textcoords="offset points")
    fig.suptitle(f"zinitrd vs peers, kernel {facts['image_kernel']}, ZFS {facts['zfs']}, "
                 f"{facts['nproc']} CPUs, {facts['date']}", fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def update_readme(table, summary):
    """Replaces the table between the bench markers of README.md's "## Benchmarks" section."""
    path = os.path.join(SOURCE_DIR, "README.md")
    text = open(path).read()
    begin, end = "<!-- bench:begin -->", "<!-- bench:end -->"
    if begin not in text or end not in text:
        log("README.md has no bench markers: table not copied")
        return
    body = f"{begin}\n{summary}.\n\n{table}\n{end}"
    text = re.sub(re.escape(begin) + ".*?" + re.escape(end), lambda _: body, text, flags=re.S)
    with open(path, "w") as f:
        f.write(text)


def main():
    # The chart needs Debian's python3-matplotlib: under another interpreter (pyenv), use Debian's.
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        if os.path.exists("/usr/bin/python3") and os.path.realpath(sys.executable) != os.path.realpath("/usr/bin/python3"):
            os.execv("/usr/bin/python3", ["/usr/bin/python3", os.path.abspath(__file__), *sys.argv[1:]])
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--build-dir", default=os.path.join(SOURCE_DIR, "build"))
    ap.add_argument("--out", default=os.path.join(HERE, "results"))
    ap.add_argument("--zinitrd-runs", type=int, default=5)
    ap.add_argument("--peer-runs", type=int, default=3)
    ap.add_argument("--boot-runs", type=int, default=3)
    ap.add_argument("--systemd-runs", type=int, default=1,
                    help="boots of each image on the Debian root to `running` (0: none; ~2 min each)")
    ap.add_argument("--storage-runs", type=int, default=1,
                    help="boots of each image per bus of the storage matrix (0: none; ~10 min per run)")
    ap.add_argument("--no-boot", action="store_true", help="skip the QEMU boots")
    ap.add_argument("--no-defaults", action="store_true", help="skip the peers' default-settings builds")
    ap.add_argument("--readme", action="store_true", help="copy the table into README.md")
    ap.add_argument("--from-json", metavar="FILE", help="only rewrite the report from a results.json")
    a = ap.parse_args()
    if os.geteuid() != 0:
        raise SystemExit("bench: run as root (mkinitramfs and dracut read root-only files)")
    if a.from_json:
        r = json.load(open(a.from_json))
        table, summary = report(r["facts"], r["build"], r["floor"], r["size"], r["boot"],
                                r.get("peer_defaults"), a.out, r.get("systemd"), r.get("storage"),
                                r.get("zinitrd_defaults"))
        if a.readme:
            update_readme(table, summary)
        print(summary)
        return 0
    paths = vmlib.Paths(a.build_dir)
    zinitrd = paths.zinitrd
    missing = [p for p in ("mkinitramfs", "dracut", "zstd", "qemu-system-x86_64") if not shutil.which(p)]
    if not os.path.isfile(os.path.join(DRACUT_BASE, "modules.d", "90zfs", "module-setup.sh")):
        missing.append(f"{DRACUT_BASE}/modules.d/90zfs")
    if not os.path.exists("/usr/share/initramfs-tools/hooks/zfs"):
        missing.append("zfs-initramfs")
    if missing:
        raise SystemExit(f"bench: missing {', '.join(missing)}: run bench/setup-peers.sh")
    if not os.access(zinitrd, os.X_OK):
        raise SystemExit(f"bench: no {zinitrd}: build it (cmake -S . -B build && cmake --build build)")
    k = vmlib.kver()
    boot_before = boot_state()
    facts = machine_facts(k, zinitrd)
    log(f"kernel {k}, {facts['nproc']} CPUs ({facts['cpu']}), ZFS {facts['zfs']}")
    t0 = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="zinitrd-bench.", dir="/var/tmp") as work:
        builds, images = measure_builds(k, zinitrd, work, a.zinitrd_runs, a.peer_runs)
        floor = measure_floor(k, zinitrd, work, paths.build, a.zinitrd_runs)
        zdef = measure_zinitrd_defaults(k, zinitrd, work, a.zinitrd_runs, floor)
        sizes = measure_sizes(zinitrd, images)
        defaults = None if a.no_defaults else measure_peer_defaults(k, work)
        boots = systemd = storage = None
        if not a.no_boot:
            log_dir = os.path.join(paths.out, "bench-logs")
            os.makedirs(log_dir, exist_ok=True)
            boots, disk = measure_boots(paths, k, images, zinitrd, a.boot_runs, log_dir)
            facts["boot_disk"] = disk
            facts["boot_logs"] = log_dir
            if a.storage_runs > 0:
                storage = storage_boot.measure(k, images, TOOLS, a.storage_runs, log_dir, disk, one_boot)
            if a.systemd_runs > 0:
                systemd = systemd_boot.measure(paths, k, images, TOOLS, a.systemd_runs, log_dir)
    facts["bench_minutes"] = round((time.monotonic() - t0) / 60, 1)
    facts["loadavg_end"] = open("/proc/loadavg").read().split()[0]
    if boot_state() != boot_before:
        raise SystemExit("bench: /boot changed during the benchmark: a peer wrote to it")
    facts["boot_dir_unchanged"] = "yes (sha256 of every file before and after)"
    table, summary = report(facts, builds, floor, sizes, boots, defaults, a.out, systemd, storage, zdef)
    if a.readme:
        update_readme(table, summary)
    print(table)
    print(summary)
    return 0


if __name__ == "__main__":
    sys.exit(main())
