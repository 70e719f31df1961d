"""scenarios_crypt: encrypted roots (pool cpool, made by pools/20-crypt.sh).

A passphrase is typed on the serial console (interact), or on the virtio console (hvc0); a key
file is embedded by the generator (--keyfile, the same bytes the pool script used) and must boot
without any prompt, from an image that stays private (mode 0600) and really carries the key.
"""
import os
import subprocess

from vmlib import BOTH, RESCUE, Boot, Fails

HERE = os.path.dirname(os.path.abspath(__file__))
KEY = os.path.join(HERE, "cpool.key")  # 64 hex digits, as in pools/20-crypt.sh
PASS = "zinitrd-test-pass\n"
CRYPT = dict(disks=("cpool",), platforms=BOTH)


def prompt(root, n):
    return rf"Enter passphrase for '{root}' \(try {n} of 3\)"


def carries_key_privately(img):
    """The image is mode 0600 and holds the key file at its keylocation."""
    mode = os.stat(img).st_mode & 0o777
    if mode != 0o600:
        raise AssertionError(f"{img} carries a key but is mode {mode:o}, not 600")
    zinitrd = os.path.join(os.path.dirname(os.path.dirname(img)), "bin", "zinitrd")
    inside = subprocess.run([zinitrd, "cat", img, "/etc/zfs/keys/cpool.key"], capture_output=True)
    if inside.returncode != 0 or inside.stdout != open(KEY, "rb").read():
        raise AssertionError(f"{img} does not carry {KEY} at /etc/zfs/keys/cpool.key")


# On a target the key lives inside it, as an installer leaves it (platforms.Target.keyfile).
keyfile = Boot("root=zfs:cpool/ROOT/keyfile", root="cpool/ROOT/keyfile",
               image_args=lambda p: ["--keyfile", p.keyfile(KEY, "/etc/zfs/keys/cpool.key")],
               **CRYPT)
keyfile.check_image = carries_key_privately

SCENARIOS = {
    # One passphrase typed unlocks the root and its /usr child, an encryption root of its own
    # with the same passphrase: a second prompt would stall the boot.
    "crypt_passphrase": Boot("root=zfs:cpool/ROOT/pass", root="cpool/ROOT/pass",
                             usr="cpool/ROOT/pass/usr",
                             interact=[(prompt("cpool/ROOT/pass", 1), PASS)], **CRYPT),
    # A KVM guest whose console is the virtio console (console=hvc0): its driver is a module,
    # and without it the prompt (and everything else) shows nowhere and nothing can be typed.
    "crypt_passphrase_hvc0": Boot("root=zfs:cpool/ROOT/pass", root="cpool/ROOT/pass",
                                  usr="cpool/ROOT/pass/usr", console="hvc0",
                                  interact=[(prompt("cpool/ROOT/pass", 1), PASS)], disks=("cpool",)),
    "crypt_wrong_passphrase": Fails(
        "root=zfs:cpool/ROOT/pass",
        interact=[(prompt("cpool/ROOT/pass", n), f"not-the-passphrase-{n}\n") for n in (1, 2, 3)],
        messages=[r"cannot load the encryption key of 'cpool/ROOT/pass': 3 wrong passphrases",
                  r"Incorrect key provided",
                  r"zfs load-key cpool/ROOT/pass", RESCUE], **CRYPT),
    "crypt_keyfile": keyfile,
    # keylocation=file:///run/late.key is in no image: waited for, then the passphrase is asked.
    "crypt_keyfile_missing_prompt": Boot(
        "root=zfs:cpool/ROOT/late", root="cpool/ROOT/late",
        interact=[(r"late.key .*did not appear", ""), (prompt("cpool/ROOT/late", 1), PASS)],
        **CRYPT),
}
