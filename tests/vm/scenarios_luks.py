"""scenarios_luks: root pools on LUKS2 devices (issue "Pools on LUKS2"; pools/45-luks.sh).

The images are built as a user with such a pool builds them: `zinitrd build --root` of a system
whose /etc/crypttab names the LUKS devices. That system is this machine's own root with a
crypttab (and key file) laid over it: an overlayfs in a private mount namespace, so the host's
/etc is never touched and the generator reads the crypttab through its --root seam as it would
on the real system. The passphrase is typed on the serial console; every boot checks, from the
root's own /sbin/init, which dm-crypt mappings are open after switch_root (crypttab's names) and
whether aesni_intel is loaded: QEMU's default CPU has no AES-NI (the module fails with ENODEV and
the built-in generic AES serves), `-cpu max` has it (the module loads).
"""
import hashlib
import os
import re
import shutil
import subprocess
import tempfile

import vmlib
from vmlib import RESCUE, Boot, Fails

HERE = os.path.dirname(os.path.abspath(__file__))
KEY = os.path.join(HERE, "luks.key")  # keyslot 1 of luks-a (pools/45-luks.sh)
PASS = "zinitrd-luks-pass\n"
LUKS_A = "4c554b53-0000-4000-8000-00000000000a"
LUKS_B = "4c554b53-0000-4000-8000-00000000000b"
LUKS_C = "4c554b53-0000-4000-8000-00000000000c"
KEY_IN_ROOT = "/etc/cryptsetup-keys.d/lroot.key"

# The crypttab of a system with all three devices, passphrases only.
CRYPTTAB = (f"# the LUKS devices of pools/45-luks.sh\n"
            f"lroot     UUID={LUKS_A}  none  luks\n"
            f"lmirror0  UUID={LUKS_B}  none  luks,discard\n"
            f"lmirror1  UUID={LUKS_C}  none  luks,discard\n")
# lroot opened by its key file, which the image embeds: no prompt.
CRYPTTAB_KEY = f"lroot  UUID={LUKS_A}  {KEY_IN_ROOT}  luks\n"


def build_with_crypttab(crypttab, files=()):
    """A scenario's image: `zinitrd build --root R` where R is / with CRYPTTAB as /etc/crypttab
    and FILES ((host path, path in R) pairs, mode 0600) laid over it. Cached by its inputs."""
    def build(paths, k):
        h = hashlib.sha256(crypttab.encode())
        for src, dst in files:
            h.update(dst.encode() + b"\0" + open(src, "rb").read())
        img = os.path.join(paths.out, f"zinitrd-luks-{h.hexdigest()[:12]}.img")
        if vmlib.image_is_fresh(paths, img):
            return img
        with tempfile.TemporaryDirectory(dir=paths.out, prefix="luks-root-") as tmp:
            stage, upper, merged = (os.path.join(tmp, d) for d in ("stage", "upper", "merged"))
            for d in (stage, upper, merged):
                os.makedirs(d)
            os.makedirs(os.path.join(stage, "etc"))
            with open(os.path.join(stage, "etc/crypttab"), "w") as f:
                f.write(crypttab)
            for src, dst in files:
                os.makedirs(os.path.dirname(stage + dst), exist_ok=True)
                shutil.copyfile(src, stage + dst)
                os.chmod(stage + dst, 0o600)
            # The top layer lives on a tmpfs: overlayfs refuses layers that overlap (the stage
            # directory is itself under /, the lower layer).
            script = ('set -e; mount -t tmpfs -o mode=0755 zinitrd-fixture "$2"; cp -a "$1"/. "$2"; '
                      'mount -t overlay -o ro,lowerdir="$2":/ zinitrd-root "$3"; shift 3; exec "$@"')
            ns = ["unshare", "-m"] if os.geteuid() == 0 else ["unshare", "-r", "-m"]
            cmd = ns + ["sh", "-c", script, "sh", stage, upper, merged, paths.zinitrd, "build",
                        "--root", merged, "--kver", k, "-o", img, "--stats"]
            p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
            if p.returncode != 0:
                raise AssertionError(f"{' '.join(cmd)} failed ({p.returncode}):\n{p.stdout}")
            print(p.stdout, end="")
            if "/cryptsetup" not in subprocess.check_output([paths.zinitrd, "ls", img], text=True):
                raise AssertionError(f"{img}: the luks feature did not come in:\n{p.stdout}")
        return img
    return build


def carries_key_privately(img):
    """The image is mode 0600 and holds luks.key at crypttab's path."""
    mode = os.stat(img).st_mode & 0o777
    if mode != 0o600:
        raise AssertionError(f"{img} carries a key but is mode {mode:o}, not 600")
    zinitrd = os.path.join(os.path.dirname(os.path.dirname(img)), "bin", "zinitrd")
    inside = subprocess.run([zinitrd, "cat", img, KEY_IN_ROOT], capture_output=True)
    if inside.returncode != 0 or inside.stdout != open(KEY, "rb").read():
        raise AssertionError(f"{img} does not carry {KEY} at {KEY_IN_ROOT}")


def prompts(n):
    """A console check: the boot asked for a passphrase N times, LUKS and ZFS prompts together."""
    def check(text):
        asked = re.findall(r"Enter passphrase for .*\(try \d+ of \d+\)", text)
        if len(asked) != n:
            raise AssertionError(f"the boot asked {len(asked)} times, expected {n}: {asked}")
    return check


def luks_prompt(name, n):
    return rf"Enter passphrase for LUKS device '{name}' on /dev/\S+ \(try {n} of 3\)"


def mappings(names, aesni="no"):
    return rf"^LUKS-MAPPINGS: {names} aesni={aesni}$"


def boot(append, root, disks, interact=(), asked=1, crypttab=CRYPTTAB, files=(), saw=(), **kw):
    sc = Boot(append, disks=disks, root=root, interact=interact, saw=saw, **kw)
    sc.build_image = build_with_crypttab(crypttab, files)
    sc.check_console = prompts(asked)
    return sc


LROOT = dict(root="lpool/root", label="luks-single")
ASK_LROOT = [(luks_prompt("lroot", 1), PASS)]

keyfile = boot("root=zfs:lpool/root", disks=("luks-a",), asked=0, crypttab=CRYPTTAB_KEY,
               files=[(KEY, KEY_IN_ROOT)], saw=[mappings("lroot"), r"with the key file"], **LROOT)
keyfile.check_image = carries_key_privately

wrong_thrice = Fails("root=zfs:lpool/root", disks=("luks-a",),
                     interact=[(luks_prompt("lroot", n), f"not-the-passphrase-{n}\n")
                               for n in (1, 2, 3)],
                     messages=[r"cannot open LUKS device 'lroot' on /dev/vda1: 3 wrong passphrases",
                               r"cryptsetup open /dev/vda1 lroot", RESCUE])
wrong_thrice.build_image = build_with_crypttab(CRYPTTAB)

uuid_absent = Fails(f"root=zfs:lpool/root rd.luks.uuid={LUKS_B} rd.timeout=5", disks=("luks-a",),
                    messages=[rf"did not appear: no block device has a LUKS header with UUID "
                              rf"{LUKS_B}", RESCUE],
                    saw=[rf"nothing opens: /dev/vda1 \(UUID {LUKS_A}\)"])
uuid_absent.build_image = build_with_crypttab(CRYPTTAB)

SCENARIOS = {
    # One LUKS2 device, its passphrase typed on the serial console (QEMU's default CPU).
    "luks_passphrase": boot("root=zfs:lpool/root", disks=("luks-a",), interact=ASK_LROOT,
                            saw=[mappings("lroot")], **LROOT),
    # The same on a CPU with AES-NI: aesni_intel loads and serves the mapping.
    "luks_passphrase_cpu_max": boot("root=zfs:lpool/root", disks=("luks-a",), interact=ASK_LROOT,
                                    cpu="max", saw=[mappings("lroot", aesni="yes")], **LROOT),
    # A mirror of two LUKS2 devices and a natively encrypted root, one passphrase for all three:
    # typed once, it opens the second device and loads the ZFS key without asking again.
    "luks_mirror_zfs_one_passphrase": boot(
        "root=zfs:lmpool/root", root="lmpool/root", label="luks-mirror",
        disks=("luks-b", "luks-c"), interact=[(luks_prompt("lmirror[01]", 1), PASS)],
        saw=[mappings("lmirror0,lmirror1"), r"the passphrase typed before also opened"]),
    # One LUKS2 device under a natively encrypted root with the same passphrase: asked once.
    "luks_zfs_same_passphrase": boot("root=zfs:lpool/enc", root="lpool/enc", label="luks-zfs",
                                     disks=("luks-a",), interact=ASK_LROOT,
                                     saw=[mappings("lroot")]),
    # crypttab names a key file: the image embeds it (0600) and boots without a prompt.
    "luks_keyfile_crypttab": keyfile,
    # A wrong passphrase is said to be wrong and asked for again.
    "luks_wrong_then_right": boot(
        "root=zfs:lpool/root", disks=("luks-a",), asked=2,
        interact=[(luks_prompt("lroot", 1), "not-the-passphrase\n"),
                  (r"wrong passphrase for LUKS device 'lroot' on /dev/vda1; try again", ""),
                  (luks_prompt("lroot", 2), PASS)],
        saw=[mappings("lroot")], **LROOT),
    # Three wrong ones: the failure, how to open it by hand, and the rescue shell.
    "luks_wrong_three_times": wrong_thrice,
    # rd.luks.uuid= limits the devices opened: with all three attached only lroot is (under its
    # crypttab name), the mirror's devices stay closed.
    "luks_uuid_limits": boot(f"root=zfs:lpool/root rd.luks.uuid={LUKS_A}",
                             disks=("luks-a", "luks-b", "luks-c"), interact=ASK_LROOT,
                             saw=[mappings("lroot")], **LROOT),
    # rd.luks.uuid= naming a device that is absent: said so, and the LUKS device that is there
    # but not opened is named.
    "luks_uuid_absent": uuid_absent,
    # No crypttab at all (an image with `--add luks`): rd.luks.name= names device and mapping,
    # as dracut's users write it.
    "luks_cmdline_name": Boot(f"root=zfs:lpool/root rd.luks.name={LUKS_A}=cryptroot",
                              disks=("luks-a",), image_args=["--add", "luks"],
                              interact=[(luks_prompt("cryptroot", 1), PASS)],
                              saw=[mappings("cryptroot")], **LROOT),
    # The LUKS device appears seconds after /init started (hot-plugged): opened when it appears.
    "luks_hotplug": boot("root=zfs:lpool/root", disks=(), hotplug="luks-a", interact=ASK_LROOT,
                         saw=[mappings("lroot")], **LROOT),
}
