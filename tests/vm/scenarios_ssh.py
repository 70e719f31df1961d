"""scenarios_ssh: unlock over SSH (issue "Unlock over the network").

The encrypted root cpool/ROOT/pass (pools/20-crypt.sh) boots from an image built with
--ssh-authorized-keys (a key pair this test makes with ssh-keygen) and --ssh-host-key (made by
zinitrd on the first build, then reused). QEMU's user-mode network is isolated (restrict=on) and
reachable only through one port forwarded on 127.0.0.1, picked free at run time. The host's own
ssh client logs in with StrictHostKeyChecking against the host key zinitrd made, so a login that
reaches another server, or a key that changed, fails.

  ssh_unlock_dhcp      ip=dhcp, virtio-net: the passphrase typed over SSH (with a terminal)
                       unlocks the root while the console shows the same prompt; the console's
                       prompt is withdrawn, the session hears the outcome, dropbear and the
                       network are gone before switch_root
  ssh_unlock_static    ip=CLIENT::GW:MASK:HOST:eth0:none on an e1000e NIC (its driver loaded by
                       the directory rule, not a list), answered without a terminal (a pipe)
  ssh_console_first    the console answers while an SSH session waits at the prompt: the
                       session is told so and closed
  ssh_wrong_key        a key not in authorized_keys is refused; the console then answers

The classic dropbear case, a root pool on LUKS (lpool/root on luks-a, pools/45-luks.sh): built as
a user builds it, `zinitrd build --root` of / with a crypttab, /etc/zinitrd/authorized_keys (which
turns the feature on) and a host key laid over it (scenarios_luks.build_with_crypttab; the key is
made once with dropbearkey, as zinitrd would, since that root is read-only):
  ssh_unlock_luks      ip=dhcp: a wrong LUKS passphrase typed over SSH is said to be wrong there
                       and asked again, the right one opens lroot; the session hears the device
                       open, then the boot go on; the console's prompts are withdrawn; dropbear
                       and the network are gone before switch_root; the command the client asked
                       for is ignored (no shell)
  ssh_keyfile_root_no_dropbear  ip=dhcp, but crypttab's key file (in the image) opens lroot: no
                       prompt, so the network never comes up and dropbear never starts
  ssh_shell_unlock     the root's copy of the ssh feature says ssh_shell=yes: the login runs the
                       client's command in a shell, which runs `/usr/lib/zinitrd/init unlock`
"""
import fcntl
import os
import re
import socket
import subprocess
import threading
import time

import vmlib
from scenarios_crypt import PASS, prompt
from scenarios_luks import (CRYPTTAB, CRYPTTAB_KEY, KEY, KEY_IN_ROOT, build_with_crypttab,
                            carries_key_privately, luks_prompt, mappings, prompts)
from scenarios_luks import PASS as LUKS_PASS
from vmlib import Boot

ROOT = dict(disks=("cpool",), root="cpool/ROOT/pass", usr="cpool/ROOT/pass/usr",
            label="crypt-pass")
LOGIN_WAIT = 180  # TCG: DHCP, dropbear's start and its key exchange take seconds each


class Rig:
    """The key pairs, the image and the forwarded port of one scenario."""

    def __init__(self, nic, guest_ip="", crypttab=None, files=(), shell=False):
        """CRYPTTAB: build with scenarios_luks.build_with_crypttab (a root whose /etc/zinitrd
        holds the keys, plus FILES), else with --ssh-authorized-keys; SHELL: that root carries a
        copy of the ssh feature saying ssh_shell=yes."""
        self.nic, self.guest_ip = nic, guest_ip
        self.crypttab, self.files, self.shell = crypttab, tuple(files), shell
        self.port = None
        self.dir = None

    def build_image(self, paths, k):
        self.dir = os.path.join(paths.out, "ssh")
        os.makedirs(self.dir, exist_ok=True)
        with open(os.path.join(self.dir, "lock"), "w") as lock:  # ctest -j2: one host key
            fcntl.flock(lock, fcntl.LOCK_EX)
            for name in ("id_ed25519", "wrong_ed25519"):
                key = os.path.join(self.dir, name)
                if not os.path.exists(key):
                    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C",
                                    f"zinitrd-test-{name}", "-f", key], check=True)
            authorized = os.path.join(self.dir, "authorized_keys")
            with open(authorized, "w") as f:
                f.write("# the test's key pair (wrong_ed25519 is not here)\n")
                f.write(open(os.path.join(self.dir, "id_ed25519.pub")).read())
            if self.crypttab is None:
                img = os.path.join(paths.out, "zinitrd-ssh.img")
                out = vmlib.zinitrd_build(paths, k, img, "--ssh-authorized-keys", authorized,
                                          "--ssh-host-key", self.host_key())
                print(out, end="")
            else:
                files = [(authorized, "/etc/zinitrd/authorized_keys")] + self.root_host_key()
                if self.shell:
                    files.append((self.shell_feature(), "/etc/zinitrd/modules.d/ssh/feature.conf"))
                img = build_with_crypttab(self.crypttab, list(self.files) + files)(paths, k)
        self.check_image(paths, img)
        return img

    def host_key(self):
        # The root's own key (an overlay root is read-only: zinitrd cannot make it there).
        name = "ssh_host_ed25519_key" if self.crypttab is None else "root_ssh_host_ed25519_key"
        return os.path.join(self.dir, name)

    def root_host_key(self):
        """The host key (+ .pub) of an overlay root, made as zinitrd makes it (dropbearkey) on
        first use: the (host path, path in the root) pairs."""
        key = self.host_key()
        if not os.path.exists(key):
            subprocess.run(["dropbearkey", "-t", "ed25519", "-f", key + ".new"], check=True,
                           stdout=subprocess.DEVNULL)
            os.chmod(key + ".new", 0o600)
            os.rename(key + ".new", key)
        if not os.path.exists(key + ".pub"):
            out = subprocess.check_output(["dropbearkey", "-y", "-f", key], text=True)
            line = next(l for l in out.splitlines() if l.startswith("ssh-ed25519 "))
            with open(key + ".pub", "w") as f:
                f.write(line + "\n")
        return [(key, "/etc/zinitrd/ssh_host_ed25519_key"),
                (key + ".pub", "/etc/zinitrd/ssh_host_ed25519_key.pub")]

    def shell_feature(self):
        """A local copy of the ssh feature (as in /etc/zinitrd/modules.d/ssh/) with ssh_shell=yes."""
        src = open(os.path.join(vmlib.SOURCE_DIR, "modules.d/ssh/feature.conf")).read()
        if "set = ssh_shell=no\n" not in src:
            raise AssertionError("modules.d/ssh/feature.conf no longer says `set = ssh_shell=no`")
        path = os.path.join(self.dir, "feature-ssh-shell.conf")
        with open(path, "w") as f:
            f.write(src.replace("set = ssh_shell=no\n", "set = ssh_shell=yes\n"))
        return path

    def check_image(self, paths, img):
        """The image carries dropbear, the host key zinitrd made (0600) and the keys."""
        def cat(path):
            p = subprocess.run([paths.zinitrd, "cat", img, path], capture_output=True)
            if p.returncode != 0:
                raise AssertionError(f"{img} has no {path}: {p.stderr.decode()}")
            return p.stdout
        if cat("/etc/zinitrd/ssh_host_ed25519_key") != open(self.host_key(), "rb").read():
            raise AssertionError(f"{img} does not carry the host key {self.host_key()}")
        if b"zinitrd-test-id_ed25519" not in cat("/root/.ssh/authorized_keys"):
            raise AssertionError(f"{img}: /root/.ssh/authorized_keys lacks the test's key")
        listing = subprocess.run([paths.zinitrd, "ls", img], capture_output=True, text=True).stdout
        if "dropbear" not in listing or "virtio_net" not in listing or "e1000e" not in listing:
            raise AssertionError(f"{img} lacks dropbear or the NIC drivers")
        if os.stat(self.host_key()).st_mode & 0o077:
            raise AssertionError(f"{self.host_key()} is readable by others")

    def qemu_args(self):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        pub = open(self.host_key() + ".pub").read().split()
        with open(os.path.join(self.dir, f"known_hosts-{self.port}"), "w") as f:
            f.write(f"[127.0.0.1]:{self.port} {pub[0]} {pub[1]}\n")
        return ["-netdev", f"user,id=n0,restrict=on,hostfwd=tcp:127.0.0.1:{self.port}-"
                           f"{self.guest_ip}:22",
                "-device", f"{self.nic},netdev=n0"]

    def ssh(self, key="id_ed25519", tty=False, command=None):
        """Starts the host's ssh client against the guest (running COMMAND there when given);
        returns a Session."""
        cmd = ["ssh", "-F", "/dev/null", "-p", str(self.port), "-i", os.path.join(self.dir, key),
               "-o", "IdentitiesOnly=yes", "-o", "BatchMode=yes",
               "-o", "StrictHostKeyChecking=yes", "-o", "GlobalKnownHostsFile=/dev/null",
               "-o", f"UserKnownHostsFile={os.path.join(self.dir, f'known_hosts-{self.port}')}",
               "-o", "ConnectTimeout=30", "-o", "ServerAliveInterval=0"]
        cmd += ["-tt"] if tty else ["-T"]
        cmd += ["root@127.0.0.1"] + ([command] if command else [])
        return Session(cmd)


class Session:
    """One ssh client process, its output collected as it comes."""

    def __init__(self, cmd):
        self.cmd = cmd
        self.proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT)
        self.out = b""
        self._lock = threading.Lock()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        while True:
            chunk = self.proc.stdout.read1(4096)
            if not chunk:
                return
            with self._lock:
                self.out += chunk

    def text(self):
        with self._lock:
            return self.out.decode("utf-8", "replace")

    def wait_for(self, needle, timeout):
        """True when NEEDLE appears in the output within TIMEOUT; False when ssh exits first."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if needle in self.text():
                return True
            if self.proc.poll() is not None:
                time.sleep(0.2)  # the reader may still hold the last bytes
                return needle in self.text()
            time.sleep(0.1)
        raise AssertionError(f"ssh: no '{needle}' within {timeout}s; output:\n{self.text()}")

    def send(self, text):
        self.proc.stdin.write(text.encode())
        self.proc.stdin.flush()

    def finish(self, timeout=120):
        try:
            code = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            raise AssertionError(f"ssh did not end within {timeout}s; output:\n{self.text()}")
        time.sleep(0.2)
        return code, self.text()

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


# Not listening yet (slirp accepts, the guest refuses), or dropbear still starting.
NOT_UP = ("Connection reset", "Connection closed", "Connection refused", "kex_exchange_identification",
          "timed out", "Broken pipe")


def login(rig, vm, key="id_ed25519", tty=False, until="Enter passphrase", command=None):
    """Logs in until the session shows UNTIL (retrying while the guest's server is not up yet);
    returns the Session. Fails when ssh ends for any other reason."""
    deadline = time.monotonic() + LOGIN_WAIT
    while True:
        s = rig.ssh(key, tty, command)
        if s.wait_for(until, LOGIN_WAIT):
            vmlib.log(f"{vm.name}: ssh shows '{until}' at {time.monotonic() - vm.start:.1f}s")
            return s
        code, out = s.finish(10)
        if not any(n in out for n in NOT_UP) or time.monotonic() > deadline:
            raise AssertionError(f"{vm.name}: ssh ended ({code}) without '{until}':\n{out}")
        time.sleep(1)


def unlock_with(rig, tty):
    def act(vm):
        s = login(rig, vm, tty=tty)
        try:
            s.send(PASS)
            code, out = s.finish()
        finally:
            s.kill()
        if code != 0 or "the root is mounted; the boot continues" not in out:
            raise AssertionError(f"{vm.name}: the SSH unlock ended with {code}:\n{out}")
        if "zinitrd-test-pass" in out:
            raise AssertionError(f"{vm.name}: the passphrase was echoed back over SSH:\n{out}")
        vmlib.log(f"{vm.name}: unlocked over SSH; session said: {out.strip()[-120:]!r}")
    return act


def console_first(rig):
    def act(vm):
        s = login(rig, vm)
        try:
            vm.send(PASS)  # the console answers while the session waits at the prompt
            code, out = s.finish()
        finally:
            s.kill()
        if code != 3 or "answered on the console" not in out:
            raise AssertionError(f"{vm.name}: the SSH session ended with {code}, expected 3 and "
                                 f"'answered on the console':\n{out}")
    return act


def wrong_key(rig):
    def act(vm):
        deadline = time.monotonic() + LOGIN_WAIT
        while True:
            s = rig.ssh("wrong_ed25519")
            code, out = s.finish(LOGIN_WAIT)
            if "Permission denied (publickey)" in out and code == 255:
                break
            if not any(n in out for n in NOT_UP) or time.monotonic() > deadline:
                raise AssertionError(f"{vm.name}: the wrong key got ({code}):\n{out}")
            time.sleep(1)
        # The right key still gets the prompt: the refusal was the key's, not the server's.
        s = login(rig, vm)
        s.kill()
        vm.send(PASS)
    return act


# Asked of every LUKS login: a shell runs it (SHELL-42, then the unlock command), the forced
# unlock command ignores it.
SHELL_PROBE = "echo SHELL-$((6*7)); exec /usr/lib/zinitrd/init unlock"


def unlock_luks(rig, shell, wrong_first):
    """Logs in, types the LUKS passphrase (after a wrong one when WRONG_FIRST, which the session
    must hear is wrong, and be asked again): the session hears the device open, then the boot go
    on; it ran a shell only when SHELL."""
    def act(vm):
        s = login(rig, vm, tty=True, until="Enter passphrase for LUKS device 'lroot'",
                  command=SHELL_PROBE)
        try:
            if wrong_first:
                s.send("not-the-passphrase\n")
                for needle in ("wrong passphrase for LUKS device 'lroot' on /dev/vda1; try again",
                               "(try 2 of 3)"):
                    if not s.wait_for(needle, 120):
                        raise AssertionError(f"{vm.name}: ssh ended without '{needle}':\n"
                                             f"{s.text()}")
            s.send(LUKS_PASS)
            code, out = s.finish()
        finally:
            s.kill()
        opened = out.find("LUKS device 'lroot' on /dev/vda1 is open")
        done = out.find("zinitrd: the root is mounted; the boot continues")
        if code != 0 or opened < 0 or done < opened:
            raise AssertionError(f"{vm.name}: the SSH session ended with {code}, expected 0 after "
                                 f"'LUKS device ... is open' then 'the boot continues':\n{out}")
        if LUKS_PASS.strip() in out:
            raise AssertionError(f"{vm.name}: the passphrase was echoed back over SSH:\n{out}")
        if ("SHELL-42" in out) != shell:
            raise AssertionError(f"{vm.name}: the login {'did not run' if shell else 'ran'} a shell "
                                 f"(ssh_shell={'yes' if shell else 'no'}):\n{out}")
        vmlib.log(f"{vm.name}: LUKS opened over SSH; session said: {out.strip()[-160:]!r}")
    return act


def in_order(*patterns):
    """A console check: each regex of PATTERNS matches a line after the previous one's."""
    def check(text):
        pos = 0
        for rx in patterns:
            m = re.compile(rx, re.M).search(text, pos)
            if not m:
                raise AssertionError(f"the console shows no '{rx}' after offset {pos} "
                                     f"(in order: {patterns})")
            pos = m.end()
    return check


# What the boot says when it brings the network up or starts or stops dropbear.
NETWORK_LINES = r"zinitrd: (?:network: |unlock over SSH: (?:the prompt is also|dropbear stopped))"


def never_networked(text):
    """A console check: no prompt, so no network and no dropbear at all."""
    prompts(0)(text)
    seen = [m.group(0) for m in re.finditer(NETWORK_LINES + r".*", text)]
    if seen:
        raise AssertionError(f"nothing was asked, yet the network or dropbear came up: {seen}")


def luks_scenario(append, rig, crypttab=CRYPTTAB, interact=(), saw=(), check_console=None):
    """A root pool on luks-a (pools/45-luks.sh) whose root turns the ssh feature on."""
    rig.crypttab = crypttab
    sc = Boot(append, disks=("luks-a",), root="lpool/root", label="luks-single",
              interact=interact,
              saw=[r"unlock over SSH: ready \(port 22; every ethernet interface \(DHCP\)\)",
                   mappings("lroot")] + list(saw))
    sc.build_image, sc.qemu_args = rig.build_image, rig.qemu_args
    sc.check_console = check_console
    return sc


def luks_over_ssh(rig, shell, wrong_first=False):
    """The LUKS passphrase typed over SSH (ip=dhcp) while the console shows the same prompt."""
    rig.shell = shell

    def check(text):
        prompts(2 if wrong_first else 1)(text)  # each answered over SSH: none after the last
        in_order(*[r"zinitrd: answered over SSH from 10\.0\.2\.2"] * (2 if wrong_first else 1),
                 r"unlock over SSH: dropbear stopped; network down \(eth0\)",
                 r"zinitrd: switching to /sysroot")(text)
    return luks_scenario("root=zfs:lpool/root ip=dhcp", rig,
                         interact=[(luks_prompt("lroot", 1),
                                    unlock_luks(rig, shell, wrong_first), 240)],
                         saw=[r"network: eth0 10\.0\.2\.15/24 \(DHCP lease\)"],
                         check_console=check)


def scenario(append, rig, action, saw):
    sc = Boot(append, interact=[(prompt("cpool/ROOT/pass", 1), action(rig), 240)],
              saw=[r"unlock over SSH: dropbear stopped; network down \(eth0\)"] + saw, **ROOT)
    sc.build_image, sc.qemu_args = rig.build_image, rig.qemu_args
    return sc


_dhcp, _static = Rig("virtio-net-pci"), Rig("e1000e", "10.0.2.50")
_first, _wrong = Rig("virtio-net-pci"), Rig("virtio-net-pci")
_luks, _luks_shell = Rig("virtio-net-pci"), Rig("virtio-net-pci")
_keyfile = Rig("virtio-net-pci", files=[(KEY, KEY_IN_ROOT)])
keyfile_no_dropbear = luks_scenario("root=zfs:lpool/root ip=dhcp", _keyfile, CRYPTTAB_KEY,
                                    saw=[r"with the key file"], check_console=never_networked)
keyfile_no_dropbear.check_image = carries_key_privately
DHCP = "root=zfs:cpool/ROOT/pass ip=dhcp"
SCENARIOS = {
    "ssh_unlock_dhcp": scenario(
        DHCP, _dhcp, lambda r: unlock_with(r, tty=True),
        # restrict=on: slirp's DHCP offers no router (nor DNS), so the lease has no gateway.
        [r"network: eth0 10\.0\.2\.15/24 \(DHCP lease\)",
         r"zinitrd: answered over SSH from 10\.0\.2\.2"]),
    "ssh_unlock_static": scenario(
        "root=zfs:cpool/ROOT/pass ip=10.0.2.50::10.0.2.2:255.255.255.0:zinitrd:eth0:none",
        _static, lambda r: unlock_with(r, tty=False),
        [r"network: eth0 10\.0\.2\.50/24 via 10\.0\.2\.2 \(static\)",
         r"zinitrd: answered over SSH from 10\.0\.2\.2"]),
    "ssh_console_first": scenario(DHCP, _first, console_first, []),
    "ssh_wrong_key": scenario(DHCP, _wrong, wrong_key, []),
    "ssh_unlock_luks": luks_over_ssh(_luks, shell=False, wrong_first=True),
    "ssh_keyfile_root_no_dropbear": keyfile_no_dropbear,
    "ssh_shell_unlock": luks_over_ssh(_luks_shell, shell=True),
}
