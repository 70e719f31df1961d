"""vmlib: boot real kernels and zinitrd images under QEMU, for the end-to-end tests and the demo.

Everything here is real: the installed Debian kernel, the DKMS-built ZFS modules, zpool/zfs from
zfsutils-linux, QEMU (TCG when there is no KVM). Slow artefacts are cached in ZINITRD_CACHE
(default /var/cache/zinitrd-tests), keyed by everything they depend on:
  - vmlinux-KVER: the uncompressed kernel, booted through PVH (saves ~3 s of xz per boot);
  - pools-KEY/: the pool disks, made by a VM whose /init is make_pools.sh. KEY hashes the
    scripts, the kernel, the ZFS and busybox versions and the host's /etc/hostid.
Tests open the base disks with snapshot=on (or through a qcow2 overlay), so they never change.
"""
import fcntl
import hashlib
import json
import lzma
import os
import queue
import re
import select
import shutil
import socket
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE_DIR = os.path.dirname(os.path.dirname(HERE))
CACHE = os.environ.get("ZINITRD_CACHE", "/var/cache/zinitrd-tests")
POOLS_DIR = os.path.join(HERE, "pools")


def pool_scripts(root=None, directory=POOLS_DIR):
    """The pool scripts (DIRECTORY/NN-NAME.sh), in the order make_pools.sh sources them. ROOT:
    those for the pool VM of a target system (--root); a script with a "# host only:" line is
    left out (its scenarios run on the host's platform only, and it needs tools a target lacks)."""
    scripts = sorted(os.path.join(directory, f) for f in os.listdir(directory) if f.endswith(".sh"))
    if root is None:
        return scripts
    return [s for s in scripts if not any(l.startswith("# host only:") for l in open(s))]


def pool_disk_names():
    """Every disk named by the "# disks:" lines of the pool scripts, in order."""
    names = []
    for script in pool_scripts():
        for line in open(script):
            if line.startswith("# disks:"):
                names += line.split(":", 1)[1].split()
    return names


POOL_DISKS = pool_disk_names()
DISK_MB = 256


def log(msg):
    print(f"vm: {msg}", file=sys.stderr, flush=True)


def kver():
    """The kernel the tests boot: the newest installed one (never the host's running kernel)."""
    return subprocess.check_output([os.path.join(SOURCE_DIR, "scripts/kver.sh")], text=True).strip()


def kernel_image(k, root="/"):
    """An uncompressed vmlinux for PVH boot when it can be extracted, else the bzImage
    (ROOT/boot/vmlinuz-K: the host's, or a target's)."""
    bz = os.path.join(root, f"boot/vmlinuz-{k}")
    out = os.path.join(CACHE, f"vmlinux-{k}")
    if os.path.exists(out) and os.path.getmtime(out) >= os.path.getmtime(bz):
        return out
    data = open(bz, "rb").read()
    pos = data.find(b"\xfd7zXZ\x00")
    if pos < 0:
        return bz
    try:
        elf = lzma.LZMADecompressor().decompress(data[pos:])
    except lzma.LZMAError:
        return bz
    if elf[:4] != b"\x7fELF":
        return bz
    os.makedirs(CACHE, exist_ok=True)
    with open(out + ".tmp", "wb") as f:
        f.write(elf)
    os.replace(out + ".tmp", out)
    return out


VM_SLOTS = int(os.environ.get("ZINITRD_VM_SLOTS", "2"))
# Machine-wide, whatever ZINITRD_CACHE a checkout uses: two VMs at a time on the whole machine.
SLOT_DIR = "/tmp/zinitrd-vm-slots"


def _take_slot():
    """Blocks until one of VM_SLOTS machine-wide slots is free (TCG: two VMs at a time at most)."""
    os.makedirs(SLOT_DIR, exist_ok=True)
    while True:
        for i in range(VM_SLOTS):
            f = open(os.path.join(SLOT_DIR, f"vm-slot-{i}.lock"), "w")
            try:
                fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return f
            except BlockingIOError:
                f.close()
        time.sleep(0.5)


# Storage buses a disk can sit on: a controller (added once per VM; None when the bus needs none
# or q35 has it built in), the devices of one disk on it ({i} numbers the disk among all, {n}
# among those of its bus, {c} is the controller's id), and the driver the guest's marker names
# for such a disk (guest_init.sh's disks=). All attach and boot under TCG with q35 (ide: pc)
# and Debian's 6.1 kernel (QEMU 7.2).
#   sata: q35's built-in ICH9 AHCI, six ports (ide.0 .. ide.5); QEMU's default CD-ROM takes
#     ide.2, so disks go to 0, 1, 3, 4, 5 ({p}).
#   usb-storage: the bulk-only transport; given drive= it makes its own SCSI bus and disk.
#   usb-uas: USB Attached SCSI has a SCSI bus of its own, the disk is a scsi-hd on it.
#   mptsas: Linux's mptsas finds a disk by its SAS address, which QEMU takes from the disk's
#     wwn: without one (0) the HBA comes up with its phys, "attaching ssp device" never comes
#     and no disk appears, so each disk gets a wwn of its own.
#   ide: the parallel ATA of the i440fx PC (QEMU's default machine, older PCs): ata_piix, on
#     machine `pc` (BUS_MACHINE); two disks on the primary channel (QEMU's default CD-ROM takes
#     the secondary's master).
#   sd: an SD card (or eMMC: the same mmc_block disk) behind an SDHCI PCI controller, as laptops'
#     card readers and eMMC boards have it: one card per controller.
BUSES = {
    "virtio-blk": (None, ["virtio-blk-pci,drive=d{i}"], "virtio_blk"),
    "virtio-scsi": ("virtio-scsi-pci,id={c}", ["scsi-hd,bus={c}.0,drive=d{i}"], "virtio_scsi"),
    "sata": (None, ["ide-hd,bus=ide.{p},drive=d{i}"], "ahci"),
    "nvme": (None, ["nvme,serial=zinitrd{i},drive=d{i}"], "nvme"),
    "usb-storage": ("qemu-xhci,id=xhci", ["usb-storage,bus=xhci.0,drive=d{i}"], "usb-storage"),
    "usb-uas": ("qemu-xhci,id=xhci", ["usb-uas,bus=xhci.0,id=uas{i}",
                                      "scsi-hd,bus=uas{i}.0,scsi-id=0,lun=0,drive=d{i}"], "uas"),
    "megasas": ("megasas-gen2,id={c}", ["scsi-hd,bus={c}.0,drive=d{i}"], "megaraid_sas"),
    "lsi": ("lsi53c895a,id={c}", ["scsi-hd,bus={c}.0,drive=d{i}"], "sym53c8xx"),
    "mptsas": ("mptsas1068,id={c}", ["scsi-hd,bus={c}.0,scsi-id={n},wwn=0x5000c500000000{n:02x},"
                                     "drive=d{i}"], "mptsas"),
    "pvscsi": ("pvscsi,id={c}", ["scsi-hd,bus={c}.0,drive=d{i}"], "vmw_pvscsi"),
    "am53c974": ("am53c974,id={c}", ["scsi-hd,bus={c}.0,drive=d{i}"], "am53c974"),
    "ide": (None, ["ide-hd,bus=ide.0,unit={n},drive=d{i}"], "ata_piix"),
    "sd": ("sdhci-pci,id={c}", ["sd-card,drive=d{i}"], "mmcblk"),
}
# Buses that exist on another machine than q35, and how many disks a bus takes (more: refused).
BUS_MACHINE = {"ide": "pc"}
BUS_LIMIT = {"ide": 2, "sd": 1}


def disk_bus(d):
    """The bus of a drive_args entry."""
    return "virtio-blk" if isinstance(d, str) else d[1]


def machine_for(disks):
    """The QEMU machine DISKS' buses need: q35 unless one needs another (BUS_MACHINE); buses
    of two machines in one VM are refused."""
    wanted = {BUS_MACHINE.get(disk_bus(d), "q35") for d in disks}
    if len(wanted) > 1:
        raise AssertionError(f"disks on buses of different machines ({', '.join(sorted(wanted))}): "
                             f"{[disk_bus(d) for d in disks]}")
    return wanted.pop() if wanted else "q35"


VIRTIO_ON_ROOT = 24


def drive_args(disks, snapshot=True):
    """QEMU arguments for DISKS: each a path (on virtio-blk) or a (path, bus) pair, in the order
    given (the guest names disks of one bus in that order). A raw disk is opened with
    snapshot=SNAPSHOT (the base disk never changes); a .qcow2 path is a throwaway overlay the test
    inspects afterwards, so it is written to."""
    args, controllers, per_bus = [], [], {}
    for i, d in enumerate(disks):
        # (path, bus, serial): a virtio disk the guest finds by its serial (/sys/block/*/serial),
        # as the pool VMs do: vdX names follow probe order, which parallel probes may shuffle.
        # (path, bus, serial, options): OPTIONS are more -drive options (QEMU's throttling.*).
        path, bus, serial, options = (d, "virtio-blk", None, None) if isinstance(d, str) else (*d, None, None)[:4]
        if serial and bus != "virtio-blk":
            raise AssertionError(f"a serial is given to virtio-blk disks only, not {bus} ({path})")
        n = per_bus[bus] = per_bus.get(bus, -1) + 1
        if bus not in BUSES:
            raise AssertionError(f"unknown bus {bus!r} for {path}; known: {', '.join(BUSES)}")
        if n >= BUS_LIMIT.get(bus, n + 1):
            raise AssertionError(f"bus {bus} takes {BUS_LIMIT[bus]} disk(s) here; {path} is one more")
        controller, devices, _ = BUSES[bus]
        c = bus.replace("-", "")
        if controller and controller.format(c=c) not in controllers:
            controllers.append(controller.format(c=c))
            args += ["-device", controller.format(c=c)]
        if path.endswith(".qcow2"):
            args += ["-drive", f"file={path},if=none,id=d{i},format=qcow2,snapshot=off"]
        else:
            args += ["-drive", f"file={path},if=none,id=d{i},format=raw,snapshot={'on' if snapshot else 'off'}" +
                     (f",{options}" if options else "")]
        # q35's root bus has about 28 free slots; the pool VMs attach more virtio disks than
        # that, so those past VIRTIO_ON_ROOT go behind PCI bridges of 31 slots each.
        place = ""
        if bus == "virtio-blk" and n >= VIRTIO_ON_ROOT:
            b, slot = divmod(n - VIRTIO_ON_ROOT, 31)
            if slot == 0:
                args += ["-device", f"pci-bridge,id=vbr{b},chassis_nr={b + 1},shpc=off"]
            place = f",bus=vbr{b},addr={slot + 1:#x}"
        for dev in devices:
            args += ["-device", dev.format(i=i, n=n, c=c, p=n + (n >= 2)) + place +
                     (f",serial={serial}" if serial else "")]
    return args


class Vm:
    """One QEMU guest with its serial console captured line by line."""

    def __init__(self, kernel, initrd, append, disks=(), name="vm", snapshot=True, qmp=False,
                 log_dir=None, echo=False, extra=(), cpu=None, console="ttyS0"):
        self.name = name
        self.echo = echo
        self.lines = []
        self._q = queue.Queue()
        self.qmp_path = None
        # no_timer_check: under TCG on a loaded host the kernel's IO-APIC timer check can fail
        # and panic ("IO-APIC + timer doesn't work") before /init runs at all.
        cmd = ["qemu-system-x86_64", "-machine", machine_for(disks), "-m", "1024", "-smp", "2",
               "-display", "none", "-monitor", "none", "-no-reboot", "-nic", "none"]
        # The console the test reads and types on: the serial port (ttyS0), or a virtio console
        # (hvc0, as KVM guests may have it), whose driver is a module: nothing shows on it until
        # the initramfs has loaded virtio_console (the kernel then replays its log there).
        if console == "ttyS0":
            cmd += ["-serial", "stdio"]
        elif console == "hvc0":
            cmd += ["-serial", "null", "-chardev", "stdio,id=hvc", "-device", "virtio-serial-pci",
                    "-device", "virtconsole,chardev=hvc"]
        else:
            raise AssertionError(f"unknown console {console!r}: ttyS0 or hvc0")
        if kernel:  # kernel=None: the firmware boots from a disk (extra= gives it)
            cmd += ["-kernel", kernel, "-initrd", initrd,
                    "-append", f"console={console} panic=-1 no_timer_check {append}".strip()]
        # TCG unless asked: /dev/kvm may exist on these machines without working (nested).
        cmd += ["-accel", os.environ.get("ZINITRD_VM_ACCEL", "tcg")]
        if cpu:
            cmd += ["-cpu", cpu]
        cmd += drive_args(disks, snapshot)
        if qmp:
            self.qmp_path = os.path.join(log_dir or "/tmp", f"{name}.qmp")
            if os.path.exists(self.qmp_path):
                os.unlink(self.qmp_path)
            cmd += ["-qmp", f"unix:{self.qmp_path},server=on,wait=off"]
        cmd += list(extra)
        self.log_file = open(os.path.join(log_dir, f"{name}.log"), "w") if log_dir else None
        self._slot = _take_slot()
        self.start = time.monotonic()
        self.proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT)
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        # Lines as they come; a partial line (a shell prompt, a passphrase prompt) is delivered
        # once the console has been quiet for a moment.
        fd = self.proc.stdout.fileno()
        buf = b""
        while True:
            ready, _, _ = select.select([fd], [], [], 0.3)
            if not ready:
                if buf:
                    self._line(buf)
                    buf = b""
                continue
            chunk = os.read(fd, 65536)
            if not chunk:
                break
            buf += chunk
            while b"\n" in buf:
                raw, buf = buf.split(b"\n", 1)
                self._line(raw)
        if buf:
            self._line(buf)
        self._q.put(None)

    def _line(self, raw):
        line = raw.decode("utf-8", "replace").rstrip("\r")
        stamp = time.monotonic() - self.start
        self.lines.append((stamp, line))
        if self.log_file:
            self.log_file.write(f"[{stamp:7.2f}] {line}\n")
            self.log_file.flush()
        if self.echo:
            print(f"[{stamp:6.2f}] {line}", flush=True)
        self._q.put((stamp, line))

    def expect(self, pattern, timeout=240, fail=None):
        """Waits for a console line matching PATTERN; returns (seconds since start, match).
        A line matching FAIL first (and not PATTERN) fails at once instead of at the timeout."""
        rx = re.compile(pattern)
        fail_rx = re.compile(fail) if fail else None
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"{self.name}: no line matching /{pattern}/ within {timeout}s"
                                     f"\n--- console tail ---\n{self.tail()}")
            try:
                item = self._q.get(timeout=min(left, 1))
            except queue.Empty:
                continue
            if item is None:
                raise AssertionError(f"{self.name}: QEMU exited (status {self.proc.wait()}) before "
                                     f"/{pattern}/\n--- console tail ---\n{self.tail()}")
            m = rx.search(item[1])
            if m:
                return item[0], m
            if fail_rx and fail_rx.search(item[1]):
                self.lines_after(2)
                raise AssertionError(f"{self.name}: /{fail}/ came before /{pattern}/"
                                     f"\n--- console tail ---\n{self.tail()}")

    def lines_after(self, seconds):
        """Lets the console run SECONDS more, so that a failure's explanation is in the tail."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            try:
                if self._q.get(timeout=max(0.01, deadline - time.monotonic())) is None:
                    return
            except queue.Empty:
                return

    def send(self, text):
        """Types TEXT on the serial console."""
        self.proc.stdin.write(text.encode())
        self.proc.stdin.flush()

    def wait_exit(self, timeout=60):
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            raise AssertionError(f"{self.name}: did not power off within {timeout}s\n{self.tail()}")

    def tail(self, n=40):
        return "\n".join(l for _, l in self.lines[-n:])

    def text(self):
        return "\n".join(l for _, l in self.lines)

    def qmp(self, command, **arguments):
        """Runs one QMP command (a new connection per call keeps this simple)."""
        for _ in range(100):
            if os.path.exists(self.qmp_path):
                break
            time.sleep(0.1)
        with socket.socket(socket.AF_UNIX) as s:
            s.connect(self.qmp_path)
            f = s.makefile("rw")
            json.loads(f.readline())  # greeting
            for cmd in ({"execute": "qmp_capabilities"}, {"execute": command, "arguments": arguments}):
                f.write(json.dumps(cmd) + "\n")
                f.flush()
                while True:
                    reply = json.loads(f.readline())
                    if "return" in reply or "error" in reply:
                        break
            if "error" in reply:
                raise AssertionError(f"QMP {command}: {reply['error']}")
            return reply["return"]

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self._slot.close()
        if self.log_file:
            self.log_file.close()


RESCUE = r"starting rescue shell"


def died_before_init(log_path):
    """Why the kernel logged to LOG_PATH (a Vm's log) died before the initramfs's /init ran, or
    None. Under TCG the kernel can oops on its own while patching its text at boot (an int3 in
    sched_clock_tick, seen with Debian 13's 6.12 and -smp 2): an emulator fault, with no module
    loaded yet ("Modules linked in:" empty) and no line of zinitrd's before it. A fault of the
    image (no init found, init killed) or any oops after /init loaded a module is never one.
    Nor is a stall, but one: the kernel stopping in its own initcalls, before it even began to
    unpack the initramfs (seen once under a loaded host: nothing after "IP idents hash table"
    for 240 s), which no image can cause."""
    try:
        lines = open(log_path, errors="replace").read().splitlines()
    except OSError:
        return None
    stalled = _stalled_before_initramfs(lines)
    if stalled:
        return stalled
    for n, line in enumerate(lines):
        if "zinitrd" in line:
            return None
        m = re.search(r"(Oops: .*|BUG: .*)$", line)
        if not m:
            continue
        for later in lines[n:n + 80]:
            modules = re.search(r"Modules linked in:(.*)$", later)
            if modules:
                return f"the kernel oopsed before /init ran ({m.group(1).strip()})" \
                    if not modules.group(1).strip() else None
        return None
    return None


def _stalled_before_initramfs(lines):
    """The kernel's last line when it logged (not quiet) and never reached the initramfs: no
    "Trying to unpack rootfs image" line, nothing of zinitrd's, no panic or oops; else None."""
    command = next((l for l in lines if "Command line:" in l), None)
    if command is None or re.search(r"\bquiet\b", command):
        return None  # nothing logged, or too little to tell
    if any(re.search(r"(?i)zinitrd|Trying to unpack rootfs|Kernel panic|Oops: |BUG: ", l) for l in lines):
        return None
    return f"the kernel stalled before it unpacked the initramfs (its last line: {lines[-1].strip()[:120]})"


# The platforms a scenario runs on (platforms.py): the host's Debian 12 only, or both.
BOOKWORM = ("bookworm",)
BOTH = ("bookworm", "trixie")


class Boot:
    """A boot that must reach the marker with the given / and /usr datasets.

    disks: pool disk names, or (name, bus) pairs (BUSES; virtio-blk when not given).
    interact: (regex, action[, timeout]): wait for a console line matching regex (240 s unless
      given), then type action when it is text, or call action(vm) (QMP hot-plugging, say).
    image_args: extra `zinitrd build` arguments (or a function of the platform that returns
      them); scenarios sharing them share one image. platforms: where it runs (BOOKWORM or BOTH).
    state: the root pool's health in the marker. label: the root's label (pool scripts'
    `populate`), checked when given. usbhid: "yes"/"no", checked when given.
    cpu: a QEMU CPU model (-cpu); None keeps QEMU's default TCG model (no PCLMULQDQ).
    console: the console the boot is read and typed on: ttyS0 (the serial port) or hvc0.
    devices: extra -device arguments (a USB controller to hot-plug a keyboard on).
    strays: a regex the marker's strays= (processes of the initramfs still running in the root)
      must match in full: "none" unless a scenario leaves some stuck in the kernel on purpose.
    untouched: disks booted through a qcow2 overlay that must hold no data afterwards: the boot
      must not have written them (a foreign pool it must not import).
    saw: regexes that must each match some console line before the marker (in any order).
    In the append, messages and saw, GUID(name) stands for that pool's GUID (vmlib.pool_guids).
    """

    def __init__(self, append, disks=("rpool",), root=None, usr="none", mode="rw", hotplug=None,
                 interact=(), image_args=(), state="ONLINE", label=None, usbhid=None, cpu=None,
                 devices=(), untouched=(), saw=(), platforms=BOOKWORM, strays="none", console="ttyS0"):
        self.append, self.disks, self.root, self.usr, self.mode = append, disks, root, usr, mode
        self.console = console
        self.strays = strays
        self.hotplug = hotplug  # a disk added through QMP a few seconds after /init starts
        self.interact, self.platforms = interact, platforms
        self.image_args = image_args if callable(image_args) else tuple(image_args)
        self.state, self.label, self.usbhid, self.cpu = state, label, usbhid, cpu
        self.devices, self.untouched, self.saw = tuple(devices), tuple(untouched), tuple(saw)


class Fails:
    """A boot that must stop with MESSAGES (regexes, in order) and a working rescue shell.

    saw: regexes that must each match some console line by the time the rescue shell starts, in
    any order. disks, interact, image_args, cpu, devices, untouched, platforms, console: as for
    Boot.
    """

    def __init__(self, append, disks=("rpool",), messages=(), interact=(), image_args=(), cpu=None,
                 devices=(), untouched=(), saw=(), platforms=BOOKWORM, console="ttyS0"):
        self.append, self.disks, self.messages = append, disks, messages
        self.console = console
        self.interact, self.platforms = interact, platforms
        self.image_args = image_args if callable(image_args) else tuple(image_args)
        self.hotplug = None
        self.cpu, self.devices, self.untouched, self.saw = cpu, tuple(devices), tuple(untouched), tuple(saw)


class Paths:
    """Where the build tree keeps zinitrd and the tests keep their output."""

    def __init__(self, build_dir):
        self.build = os.path.abspath(build_dir)
        self.zinitrd = os.path.join(self.build, "bin", "zinitrd")
        self.out = os.path.join(self.build, "vm")
        self.logs = os.path.join(self.out, "logs")
        os.makedirs(self.logs, exist_ok=True)


def image_is_fresh(paths, img):
    """Whether IMG, an image a test built earlier, is newer than what it is made of in this tree:
    zinitrd, its runtime and every file of modules.d (an edited feature.conf rebuilds it too)."""
    features = os.path.join(SOURCE_DIR, "modules.d")
    inputs = [paths.zinitrd, os.path.join(paths.build, "lib/zinitrd/init")] + [
        os.path.join(d, f) for d, _, fs in os.walk(features) for f in fs]
    return os.path.exists(img) and all(os.path.getmtime(img) >= os.path.getmtime(p) for p in inputs)


# A disk that answers every read with an I/O error, as a dying disk does once its retries run out:
# a blank disk behind QEMU's blkdebug driver (its name in a scenario's disks: DEAD_DISK). The
# slow one takes a second over each request (QEMU's throttling), as a dying disk takes its
# time to fail: its driver's error handling then runs for tens of seconds.
DEAD_DISK, SLOW_DEAD_DISK = "dead", "dead-slow"
DEAD_DISK_OPTIONS = {DEAD_DISK: None, SLOW_DEAD_DISK: "throttling.iops-total=1"}


def dead_disk(paths):
    """The path (QEMU's blkdebug:CONFIG:IMAGE) of a DISK_MB disk whose every read fails with EIO:
    blkdebug injects the error into each read that follows the raw driver's read_aio event."""
    image, config = os.path.join(paths.out, "dead-disk.raw"), os.path.join(paths.out, "dead-disk.conf")
    if not os.path.exists(image):
        with open(image + ".tmp", "wb") as f:
            f.truncate(DISK_MB << 20)
        os.replace(image + ".tmp", image)
    with open(config, "w") as f:
        f.write('[inject-error]\nevent = "read_aio"\nerrno = "5"\n')
    return f"blkdebug:{config}:{image}"


def zinitrd_build(paths, k, output, *args, root=None):
    """Runs `zinitrd build` (for the system at ROOT with --root, else the host); returns its
    stdout+stderr. Raises with the output on failure."""
    cmd = [paths.zinitrd, "build", *(["--root", root] if root else []), "--kver", k, "-o", output, *args]
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if p.returncode != 0:
        raise AssertionError(f"{' '.join(cmd)} failed ({p.returncode}):\n{p.stdout}")
    return p.stdout


# What an initramfs segment starts with: the compressors' magic numbers, or a newc cpio.
COMPRESSION_MAGICS = {b"\x28\xb5\x2f\xfd": "zstd", b"\x1f\x8b": "gzip", b"\xfd7zXZ": "xz",
                      b"\x02\x21\x4c\x18": "lz4", b"BZh": "bzip2", b"070701": "none"}


def compression_named(head):
    """The compressor whose data starts with the bytes HEAD: "none" for a cpio or nothing at all,
    "unknown" for anything else."""
    if not head:
        return "none"
    return next((n for m, n in COMPRESSION_MAGICS.items() if head.startswith(m)), "unknown")


def image_listing(zinitrd, img):
    """What `zinitrd ls` says of the image IMG (any tool's): its kernel modules (names without
    the .ko suffix, '-' read as '_'), its members, the bytes of its files' contents, and where
    its first compressed cpio starts (early_bytes: the uncompressed early microcode before it;
    0 when nothing in it is compressed)."""
    out = subprocess.run([zinitrd, "ls", img], check=True, stdout=subprocess.PIPE, text=True).stdout
    r = {"modules": set(), "entries": 0, "content_bytes": 0, "early_bytes": None}
    for line in out.splitlines():
        seg = re.match(r"# segment \d+ at byte (\d+): (\S+)", line)
        if seg and seg.group(2) != "uncompressed" and r["early_bytes"] is None:
            r["early_bytes"] = int(seg.group(1))
        m = re.match(r"(\S+)\s+(\d+)\s+(/.*)$", line)
        if not m:
            continue
        r["entries"] += 1
        if m.group(1).startswith("-"):
            r["content_bytes"] += int(m.group(2))
        ko = re.search(r"([^/]+)\.ko(\.\w+)?$", m.group(3))
        if ko:
            r["modules"].add(ko.group(1).replace("-", "_"))
    r["early_bytes"] = r["early_bytes"] or 0
    return r


def _file_digest(h, path):
    with open(path, "rb") as f:
        h.update(f.read())


# The test roots the pool scripts make (make_pools.sh's populate) hold busybox and nothing else,
# so theirs must be a static one. The host keeps the busybox a stock Debian has (Debian's
# dynamically linked one, which initramfs-tools recommends), because that is what images built on
# it carry: setup-debian.sh unpacks busybox-static's binary for the tests into STATIC_BUSYBOX. A
# Debian target root (debian_target.py) has busybox-static installed.
STATIC_BUSYBOX = os.path.join(CACHE, "busybox-static", "busybox")


def static_busybox(root=None):
    path = os.path.join(root, "bin/busybox") if root else STATIC_BUSYBOX
    if not os.path.isfile(path):
        raise AssertionError(f"{path} is missing: run scripts/setup-debian.sh (as root), which "
                             "unpacks busybox-static's binary there for the tests' roots")
    return path


# What the pool VM's image carries besides zinitrd's defaults: busybox for the scripts, the
# static busybox the roots they make get (/guest/busybox), and on the host for pools/45-luks.sh
# cryptsetup with dm_crypt and the modules of LUKS2's default aes-xts-plain64 (AES itself is
# built into Debian's kernel; the image's /init loads the modules: no modprobe).
POOL_VM_ARGS = ("--install", "busybox")
POOL_VM_HOST_ARGS = ("--install", "cryptsetup", "--kmod", "dm_crypt", "--kmod", "xts", "--kmod",
                     "ecb", "--kmod", "algif_skcipher")


def pool_vm_args(root=None):
    return (POOL_VM_ARGS + ("--include", f"{static_busybox(root)}:/guest/busybox") +
            (POOL_VM_HOST_ARGS if root is None else ()))


def pool_key(k, root=None):
    """Hashes what the pool disks of kernel K of the system at ROOT (None: the host) depend on:
    the scripts and the pool VM's arguments, its hostid, busybox (and the host's cryptsetup), its
    zfs.ko and the kernel."""
    h = hashlib.sha256()
    h.update("\0".join(pool_vm_args(root)).encode())
    scripts = [os.path.join(HERE, "make_pools.sh"), os.path.join(HERE, "guest_init.sh")]
    for s in scripts + pool_scripts(root):
        h.update(os.path.basename(s).encode())
        _file_digest(h, s)
    top = root or "/"
    _file_digest(h, os.path.join(top, "etc/hostid"))
    _file_digest(h, os.path.join(top, "bin/busybox"))
    _file_digest(h, static_busybox(root))
    if root is None:
        _file_digest(h, shutil.which("cryptsetup") or "/sbin/cryptsetup")
    base = [] if root is None else ["-b", root]
    zfs_ko = subprocess.check_output(["modinfo", *base, "-k", k, "-F", "filename", "zfs"],
                                     text=True).strip()
    h.update(zfs_ko.encode())  # with -b ROOT, modinfo names it by its host path
    h.update(str(os.path.getmtime(zfs_ko)).encode())
    h.update(k.encode())
    h.update(str(DISK_MB).encode())
    return h.hexdigest()[:16]


def pool_disks(paths, k, root=None, prefix="pools-"):
    """The base pool disks (see make_pools.sh), made once per key and then reused. ROOT: made by
    a VM that boots the kernel of the system at ROOT with an image `zinitrd build --root ROOT`
    built (so its own ZFS makes the pools), else the host's kernel and ZFS."""
    key = pool_key(k, root)
    d = os.path.join(CACHE, f"{prefix}{key}")
    disks = [os.path.join(d, f"{n}.raw") for n in POOL_DISKS]
    os.makedirs(CACHE, exist_ok=True)
    with open(os.path.join(CACHE, f"{prefix.rstrip('-')}.lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if os.path.exists(os.path.join(d, "done")):
            os.utime(d)  # in use: kept by the pruning below
            return disks
        log(f"making pool disks in {d} (one VM boot, about a minute under TCG)")
        tmp = d + ".tmp"
        subprocess.run(["rm", "-rf", tmp], check=True)
        os.makedirs(tmp)
        for n in POOL_DISKS:
            raw = os.path.join(tmp, f"{n}.raw")
            with open(raw, "wb") as f:
                f.truncate(DISK_MB << 20)
            subprocess.run(["sfdisk", "-q", raw], input="label: gpt\n,,\n", text=True, check=True,
                           stdout=subprocess.DEVNULL)
        img = os.path.join(paths.out, f"make-{prefix.rstrip('-')}.img")
        includes = []
        for script in pool_scripts(root):
            includes += ["--include", f"{script}:/guest/pools/{os.path.basename(script)}"]
        zinitrd_build(paths, k, img, "--init", os.path.join(HERE, "make_pools.sh"),
                      "--include", os.path.join(HERE, "guest_init.sh") + ":/guest/init",
                      *pool_vm_args(root), *includes, root=root)
        vm = Vm(kernel_image(k, root or "/"), img, "quiet zinitrd_test_disks=" + ",".join(POOL_DISKS),
                [(os.path.join(tmp, f"{n}.raw"), "virtio-blk", n) for n in POOL_DISKS],
                name=f"make-{prefix.rstrip('-')}", snapshot=False, log_dir=paths.logs)
        try:
            _, m = vm.expect(r"MAKE-POOLS-(DONE|FAILED.*)", timeout=600)
            if m.group(1) != "DONE":
                raise AssertionError(f"pool creation failed: {m.group(0)}\n{vm.tail(60)}")
            vm.wait_exit(120)
        finally:
            vm.kill()
        with open(os.path.join(tmp, "done"), "w") as f:
            f.write(vm.text())
        subprocess.run(["rm", "-rf", d], check=True)
        os.rename(tmp, d)
        # Keep the newest few sets and any used in the last day (other checkouts may still use
        # theirs); drop the rest.
        sets = sorted((os.path.join(CACHE, e) for e in os.listdir(CACHE)
                       if e.startswith(prefix) and not e.endswith(".tmp")),
                      key=os.path.getmtime, reverse=True)
        for old in sets[3:]:
            if time.time() - os.path.getmtime(old) > 86400:
                subprocess.run(["rm", "-rf", old], check=True)
        return disks


def pool_guids(paths, k, root=None, prefix="pools-"):
    """Every pool's GUID by the name it had in the pool VM (make_pools.sh's POOL-GUID lines, kept
    in the pool set's `done` file): rpool, nsforeign, nstwin, ... ROOT, PREFIX: as for pool_disks."""
    pool_disks(paths, k, root, prefix)
    done = os.path.join(CACHE, f"{prefix}{pool_key(k, root)}", "done")
    guids = dict(re.findall(r"^POOL-GUID (\S+) (\d+)\s*$", open(done).read(), re.M))
    if not guids:
        raise AssertionError(f"{done} names no pool GUID (POOL-GUID lines of make_pools.sh)")
    return guids
