"""platforms: the systems the VM scenarios boot, each a kernel, its ZFS and a way to build images.

  bookworm  the host as CI has it: Debian 12, its newest installed kernel (6.1) with DKMS-built ZFS
         2.1 (uncompressed modules), images built for the running system (`zinitrd build`).
  trixie  a Debian 13 target made as an installer makes it (debian_target.py: debootstrap with the
         distribution kernel 6.12, zfs-dkms 2.3 built inside the target, .ko.xz modules), images
         built from the host with `zinitrd build --root TARGET --kver KVER`, no chroot.

Each platform makes its own pool disks (vmlib.pool_disks) in a VM booted with its own kernel and
an image built its own way, so the pools of trixie are made by ZFS 2.3 and those of bookworm by 2.1.
A scenario runs on the platforms it names; the platform is part of its test name (trixie_NAME).
"""
import os
import shutil

import vmlib


class Host:
    """The running system's newest installed kernel and its DKMS-built ZFS."""

    name = "bookworm"
    root = None

    def kver(self):
        return vmlib.kver()

    def kernel(self):
        return vmlib.kernel_image(self.kver())

    def build(self, paths, output, *args):
        return vmlib.zinitrd_build(paths, self.kver(), output, *args)

    def pool_disks(self, paths):
        return dict(zip(vmlib.POOL_DISKS, vmlib.pool_disks(paths, self.kver())))

    def pool_guids(self, paths):
        return vmlib.pool_guids(paths, self.kver())

    def keyfile(self, src, dest):
        """The --keyfile value that embeds host file SRC at DEST."""
        return f"{src}:{dest}"

    def missing(self):
        k = self.kver()
        return [] if os.path.exists(f"/boot/vmlinuz-{k}") else [f"/boot/vmlinuz-{k}"]

    def describe(self):
        return f"{self.name}: the host's kernel {self.kver()}, images built for the running system"


class Target:
    """A debootstrapped target (debian_target.py), built for with --root."""

    name = "trixie"

    def __init__(self):
        self._tree = None

    def _made(self):
        if self._tree is None:
            import debian_target  # debootstraps on first use: only when a trixie test runs
            self._tree = debian_target.tree()
        return self._tree

    @property
    def root(self):
        return self._made()[0]

    def facts(self):
        return self._made()[1]

    def kver(self):
        return self.facts()["kver"]

    def kernel(self):
        return vmlib.kernel_image(self.kver(), self.root)

    def build(self, paths, output, *args):
        return vmlib.zinitrd_build(paths, self.kver(), output, *args, root=self.root)

    def _prefix(self):
        return f"{self.name}-pools-"  # not pools-*: the host's sets are pruned by that prefix

    def pool_disks(self, paths):
        disks = vmlib.pool_disks(paths, self.kver(), root=self.root, prefix=self._prefix())
        return dict(zip(vmlib.POOL_DISKS, disks))

    def pool_guids(self, paths):
        return vmlib.pool_guids(paths, self.kver(), root=self.root, prefix=self._prefix())

    def keyfile(self, src, dest):
        """An installer keeps the key in the target: SRC is copied to DEST inside it, and the
        image takes it from there."""
        inside = os.path.join(self.root, dest.lstrip("/"))
        os.makedirs(os.path.dirname(inside), mode=0o700, exist_ok=True)
        if not os.path.exists(inside) or open(inside, "rb").read() != open(src, "rb").read():
            shutil.copyfile(src, inside)
            os.chmod(inside, 0o600)
        return dest

    def missing(self):
        return []  # debootstrap and the mirror: debian_target raises Missing

    def describe(self):
        f = self.facts()
        return (f"{self.name}: target {self.root} (Debian 13), kernel {f['kver']}, ZFS "
                f"{f['zfs_version']}, images built with --root")


PLATFORMS = {p.name: p for p in (Host(), Target())}


def split(test_name):
    """'trixie_root_zfs_colon' -> (platform, 'root_zfs_colon')."""
    name, _, rest = test_name.partition("_")
    if name not in PLATFORMS or not rest:
        raise KeyError(f"{test_name}: a VM test name starts with a platform ({', '.join(PLATFORMS)})")
    return PLATFORMS[name], rest
