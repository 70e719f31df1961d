"""bench/systemd_boot.py: run.py's boot measurement on a real system. Each tool's image (the same
images run.py built and booted on the plain pool) boots the Debian 12 root of the systemd
scenarios (tests/vm/debian_root.py: debootstrap, systemd, udev, zfsutils-linux, the root-on-ZFS
guide's datasets), and the figure is seconds from QEMU start to `systemctl is-system-running
--wait` returning, which the root's zinitrd-marker.service prints on the console with the state
reached, the failed units and whether / is writable (tests/vm/systemd_marker.sh).

The plain pool's boot (run.py) ends when the root's first program runs; this one ends when the
distribution has finished booting, so it also counts what the initramfs leaves for the real
system to do (or to fail at: a read-only root costs systemd-logind and the `running` state).
"""
import re
import statistics
import subprocess
import sys

import debian_root
import host_only_peers
import scenarios_host_only
import scenarios_systemd
import vmlib

# What GRUB's Debian entries pass (`ro` always); every tool reads root=zfs: (see run.py's APPEND).
APPEND = "root=zfs:rpool/ROOT/debian ro"
MEMORY_MB = 2048  # systemd, udev and the ZFS ARC; as the systemd scenarios


def log(msg):
    print(f"bench: {msg}", file=sys.stderr, flush=True)


def one_boot(k, img, disk, name, log_dir, extra=(), strict=True):
    """Boots IMG on the Debian root (EXTRA: more QEMU arguments, devices of the machine); returns
    seconds to `running` and what the marker saw. A boot that does not get there stops the
    benchmark, or with STRICT false returns {"did_not_boot": why}."""
    load = open("/proc/loadavg").read().split()[0]
    # The serial it had in the pool VM: the root's udev gives it the by-id link the pool records.
    vm = vmlib.Vm(vmlib.kernel_image(k), img, APPEND, [(disk, "virtio-blk", "sd-rpool")],
                  name=name, log_dir=log_dir,
                  extra=["-m", str(MEMORY_MB), *extra])
    try:
        secs, m = vm.expect(scenarios_systemd.MARKER, timeout=scenarios_systemd.TIMEOUT)
        got = dict(re.findall(r"(\S+?)=(\S*)", m.group(1)))
        vm.expect(r"ZINITRD-SYSTEMD-END", timeout=120)
        status = vm.wait_exit(180)
        if got.get("root") != "rpool/ROOT/debian":
            raise AssertionError(f"booted the wrong root: {m.group(0)}")
    except AssertionError as e:
        if not strict:
            last = next((l for _, l in reversed(vm.lines) if l.strip()), "no console output")
            return {"did_not_boot": f"{str(e).splitlines()[0][:160]}; console's last line: {last.strip()[:160]}",
                    "loadavg": load}
        raise SystemExit(f"bench: {name} did not finish booting the Debian root: {e}")
    finally:
        vm.kill()
    run_init = next((s for s, l in vm.lines if "Run /init as init process" in l), None)
    analyze = next((l.split("ZINITRD-SYSTEMD-ANALYZE ", 1)[1].strip() for _, l in vm.lines
                    if "ZINITRD-SYSTEMD-ANALYZE Startup finished" in l), None)
    return {"running": secs, "state": got.get("state"), "failed": got.get("failed"),
            "root_rw": got.get("rw"), "guest_uptime": float(got.get("uptime", "nan")),
            "init_to_running": secs - run_init if run_init is not None else None,
            "poweroff": status == 0, "systemd_analyze": analyze, "loadavg": load}


def measure(paths, k, images, tools, runs, log_dir):
    """RUNS boots of each tool's image, interleaved, one VM at a time (as run.py's boots)."""
    try:
        disk = debian_root.pool_disks(paths, k)["rpool"]
    except debian_root.Missing as e:
        raise SystemExit(f"bench: the Debian root cannot be made: {e}")
    res = {t: {"boots": []} for t in tools}
    for i in range(runs):
        for t in tools:
            r = one_boot(k, images[t], disk, f"bench-systemd-{t}-{i + 1}", log_dir)
            res[t]["boots"].append(r)
            log(f"Debian root, {t} #{i + 1}: {r['state']} after {r['running']:.1f} s, failed "
                f"{r['failed']}, / rw={r['root_rw']} (load {r['loadavg']})")
    for t in tools:
        b = res[t]["boots"]
        res[t]["runs"] = [x["running"] for x in b]
        res[t]["median"] = statistics.median(res[t]["runs"])
        res[t]["min"], res[t]["max"] = min(res[t]["runs"]), max(res[t]["runs"])
        res[t]["outcome"] = sorted({f"{x['state']}, failed: {x['failed']}, / "
                                    f"{'rw' if x['root_rw'] == 'yes' else 'ro'}" for x in b})
    return {"append": APPEND, "disk": disk, "memory_mb": MEMORY_MB,
            "root": debian_root.facts(paths, k), "tools": res,
            "host_only": measure_host_only(paths, k, images["zinitrd"], log_dir)}


def measure_host_only(paths, k, image, log_dir):
    """Issue 19's --host-only figure, where a host-only image can be made: inside the booted
    Debian root (tests/vm/scenarios_host_only.py: the .deb installed, `host-only = true`, the
    kernel hook run), that image then booted to `running`. The benchmark machine has no root pool
    of its own to read. The peers' host-only images, made and booted on the same machine, go
    with it (host_only_peers.py)."""
    sc = scenarios_host_only.HostOnlyBoot()
    try:
        # A scenario's name starts with its platform (tests/vm/platforms.py): the host's Debian 12.
        sc.run(paths, "bookworm_bench-host-only", lambda: image)
    except (AssertionError, KeyError, OSError, subprocess.SubprocessError) as e:
        # The run's other figures are kept whatever happens here.
        log(f"host-only image: {e}")
        m = {"failed": str(e).splitlines()[0][:300]}
    else:
        m = sc.measured
        log(f"host-only image: {m['bytes'] / 1e6:.1f} MB, {m['modules']} modules; booted to `running`")
    m["peers"] = host_only_peers.measure(paths, k, image, m.get("image"), log_dir, one_boot)
    return m


def table_rows(sd, tools, row):
    """The report's rows for SD (measure's result), through run.py's ROW(label, per-tool fn)."""
    r = sd["tools"]
    row("Debian root + systemd: QEMU start to `running`, median (min-max)",
        lambda t: f"{r[t]['median']:.1f} s ({r[t]['min']:.1f}-{r[t]['max']:.1f}), n={len(r[t]['runs'])}")
    row("Debian root, zinitrd/tool", lambda t: f"{r['zinitrd']['median'] / r[t]['median']:.2f}")
    row("Debian root: state reached", lambda t: "; ".join(r[t]["outcome"]))


def summary(sd, peers):
    """One clause for the report's summary: zinitrd's time to `running` against the faster peer."""
    r = sd["tools"]
    fast = min(peers, key=lambda t: r[t]["median"])
    return (f"Debian root to `running` {r['zinitrd']['median'] / r[fast]['median']:.2f}x {fast} "
            f"({r['zinitrd']['median']:.1f} s against {r[fast]['median']:.1f} s)")


def details(sd, tools):
    """The report's paragraph on the Debian root: how, and every run."""
    root = sd["root"]
    md = ["", "## Boot to `running` on a real Debian root", "",
          f"Each image boots the systemd scenarios' Debian 12 root (tests/vm/debian_root.py: "
          f"debootstrap minbase + systemd-sysv, udev, dbus, kmod, zfsutils-linux on rpool/ROOT/debian, "
          f"rpool/home and rpool/var/log separate datasets, no fstab entry for /), {sd['memory_mb']} MiB, "
          f"kernel command line `console=ttyS0 panic=-1 {sd['append']}` (GRUB's `ro`). The figure is "
          "QEMU start to the console line of the root's zinitrd-marker.service, printed when "
          "`systemctl is-system-running --wait` returns. Root made once: debootstrap "
          f"{root.get('debootstrap_seconds')} s, base tar {root.get('base_tar_bytes', 0) / 1e6:.0f} MB.", ""]
    for t in tools:
        md += [f"- {t}: " + ", ".join(
            f"{b['running']:.1f} s ({b['state']}; `systemd-analyze`: {b['systemd_analyze']}; load "
            f"{b['loadavg']})" for b in sd["tools"][t]["boots"])]
    return md
