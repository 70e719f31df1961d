"""scenarios_keymap: a passphrase typed on a German keyboard (the console keymap in the image).

The encrypted root of scenarios_crypt is unlocked by keys pressed on the VM's PS/2 keyboard (QMP
send-key, keys named by their US position as QEMU names them) on the VGA console, not by
characters sent over the serial line: the keyboard's keymap decides what they mean. Its
passphrase "zinitrd-test-pass" is typed as a German user types it: the key the US layout calls
"y" for "z", the US "/" key for "-". Only with the German keymap loaded (the image built with
--keymap, a keymap written by console-setup's ckbcomp as Debian's boot compiles
/etc/default/keyboard) does that spell the passphrase; with the kernel's US map it spells
"yinitrd/test/pass", three wrong tries and a rescue shell.
"""
import os
import shutil
import subprocess
import time

import vmlib
from debian_root import Missing
from scenarios_crypt import prompt
from vmlib import Boot

# "zinitrd-test-pass" on a German keyboard, key by key (QEMU's qcodes: US positions), then Enter.
GERMAN_KEYS = ["y", "i", "n", "i", "t", "r", "d", "slash", "t", "e", "s", "t", "slash",
               "p", "a", "s", "s", "ret"]


def german_keymap(platform):
    """--keymap with the German layout as console-setup compiles it (ckbcomp), made once."""
    path = os.path.join(vmlib.CACHE, "keymap-de-pc105.kmap")
    if not os.path.exists(path):
        ckbcomp = shutil.which("ckbcomp")
        if not ckbcomp:
            raise Missing("ckbcomp (console-setup), which writes the German keymap")
        text = subprocess.run([ckbcomp, "-model", "pc105", "de"], check=True,
                              stdout=subprocess.PIPE, stderr=subprocess.DEVNULL).stdout
        os.makedirs(vmlib.CACHE, exist_ok=True)
        with open(path + ".tmp", "wb") as f:
            f.write(text)
        os.replace(path + ".tmp", path)
    return ["--keymap", path]


def type_keys(keys):
    """Presses KEYS one by one on the VM's keyboard, once the prompt has settled."""
    def act(vm):
        time.sleep(1)
        for k in keys:
            vm.qmp("send-key", keys=[{"type": "qcode", "data": k}])
    return act


SCENARIOS = {
    # Both consoles, the serial line last (/dev/console: the root's marker goes there): the prompt
    # is shown on the VGA console too, and the answer must come from its keyboard.
    "keymap_german_passphrase": Boot(
        "root=zfs:cpool/ROOT/pass console=tty0 console=ttyS0", disks=("cpool",),
        root="cpool/ROOT/pass", usr="cpool/ROOT/pass/usr", image_args=german_keymap,
        interact=[(prompt("cpool/ROOT/pass", 1), type_keys(GERMAN_KEYS))],
        saw=[r"answered on the console /dev/tty0\b"]),
}
