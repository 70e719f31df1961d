"""bench/storage_boot.py: run.py's boot measurement across the storage matrix. The same three images
(the ones run.py built and booted on virtio-blk) boot the same rpool disk attached on each bus
QEMU emulates (tests/vm/vmlib.py's BUSES: SATA/AHCI, NVMe, virtio-scsi, USB mass storage and UAS,
the SAS/SCSI HBAs megasas, lsi, mptsas, pvscsi, am53c974, on q35; the i440fx PC's IDE, an SD card
behind SDHCI). The figure is seconds from QEMU
start to the root's marker line, whose `disks=` field must name the bus's driver: a boot that
reached the root through another disk would not count.

A tool that does not reach the root on a bus is recorded as such (with the console's last line),
never left out: the matrix says which tool boots which disk.
"""
import statistics
import sys

import vmlib

# Every bus but virtio-blk (run.py's own boots), in the suite's order.
BUSES = [b for b in vmlib.BUSES if b != "virtio-blk"]
TIMEOUT = 180  # a peer that stops in its emergency shell ends the run here


def log(msg):
    print(f"bench: {msg}", file=sys.stderr, flush=True)


def measure(k, images, tools, runs, log_dir, disk, boot):
    """RUNS boots of each tool's image per bus through BOOT (run.py's one_boot), one VM at a time.
    Returns {"buses": [...], "tools": {tool: {bus: {...}}}}."""
    res = {t: {} for t in tools}
    for bus in BUSES:
        driver = vmlib.BUSES[bus][2]
        for t in tools:
            rec = res[t][bus] = {"runs": [], "failures": []}
            for i in range(runs):
                name = f"bench-bus-{bus}-{t}-{i + 1}"
                r = boot(k, images[t], [(disk, bus)], name, log_dir, timeout=TIMEOUT, strict=False)
                if "failed" in r:
                    rec["failures"].append(r["failed"])
                    log(f"{bus}, {t} #{i + 1}: did not reach the root: {r['failed']}")
                    continue
                if driver not in r.get("disks", ""):
                    rec["failures"].append(f"booted through disks={r.get('disks')}, not {driver}")
                    log(f"{bus}, {t} #{i + 1}: wrong disk driver: {r.get('disks')}")
                    continue
                rec["runs"].append(r["marker"])
                log(f"{bus}, {t} #{i + 1}: marker after {r['marker']:.2f} s (load {r['loadavg']})")
            rec["median"] = statistics.median(rec["runs"]) if rec["runs"] else None
    return {"buses": BUSES, "runs": runs, "tools": res}


def cell(rec):
    if rec["median"] is None:
        return "did not boot"
    return f"{rec['median']:.1f} s" + (f" ({len(rec['failures'])} failed)" if rec["failures"] else "")


def table(sm, tools):
    """The storage matrix as a markdown table: seconds per bus and tool, and zinitrd's ratio to the
    faster peer that booted."""
    r = sm["tools"]
    md = ["| bus: QEMU start to marker, median | " + " | ".join(tools) + " | zinitrd / faster peer |",
          "|---|" + "---:|" * (len(tools) + 1)]
    for bus in sm["buses"]:
        peers = [r[t][bus]["median"] for t in tools[1:] if r[t][bus]["median"] is not None]
        z = r[tools[0]][bus]["median"]
        ratio = f"{z / min(peers):.2f}" if z is not None and peers else "-"
        md.append(f"| {bus} | " + " | ".join(cell(r[t][bus]) for t in tools) + f" | {ratio} |")
    return md


def summary(sm, tools):
    """One clause for the report's summary: how many buses each tool booted, zinitrd's ratios."""
    r = sm["tools"]
    booted = {t: sum(r[t][b]["median"] is not None for b in sm["buses"]) for t in tools}
    ratios = []
    for bus in sm["buses"]:
        peers = [r[t][bus]["median"] for t in tools[1:] if r[t][bus]["median"] is not None]
        z = r[tools[0]][bus]["median"]
        if z is not None and peers:
            ratios.append(z / min(peers))
    span = f", zinitrd/faster peer {min(ratios):.2f}-{max(ratios):.2f}x" if ratios else ""
    return (f"storage matrix: " + ", ".join(f"{t} booted {booted[t]}/{len(sm['buses'])} buses"
                                            for t in tools) + span)


def details(sm, tools):
    md = ["", "## Storage matrix: the same images on every bus", "",
          "Each image boots the same rpool disk attached on one bus (tests/vm/vmlib.py's BUSES; the "
          "bus's controller and the disk, nothing else), kernel command line as above. A boot counts "
          "when the root's marker names the bus's driver (`disks=`). "
          f"{sm['runs']} boot(s) per tool and bus, one VM at a time.", ""]
    md += table(sm, tools)
    fails = [(t, b, f) for t in tools for b in sm["buses"] for f in sm["tools"][t][b]["failures"]]
    if fails:
        md += ["", "Boots that did not reach the root:", ""]
        md += [f"- {t} on {b}: {f}" for t, b, f in fails]
    return md


def chart_panel(sm, tools):
    """(title, buses, {tool: [seconds or 0 per bus]}) for run.py's chart."""
    r = sm["tools"]
    return ("storage matrix: QEMU start to root's init (s, median; 0 = did not boot)", sm["buses"],
            {t: [r[t][b]["median"] or 0 for b in sm["buses"]] for t in tools})
