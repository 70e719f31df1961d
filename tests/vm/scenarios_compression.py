"""scenarios_compression: the kernel unpacks every compressor and level a user may configure
(`compress =` / `level =` in zinitrd.conf, --compress / --level).

The suite's other images use the default, zstd at level 19 in three segments compressed from
whole buffers. These boot the other paths: zstd below the segment cache's level (each segment
compressed while it is written, frames without a recorded size), gzip (libarchive's filter), xz
(CRC32 checks, the only ones the kernel's decoder takes), legacy lz4 (the only lz4 format the
kernel's unlz4 reads) and no compression. Each image is first checked to be in that format
(`zinitrd ls`), so that a fallback to the default could not pass for it.
"""
import os
import re
import subprocess

from vmlib import Boot

DEBIAN = dict(root="rpool/ROOT/debian", usr="rpool/ROOT/debian/usr")


class CompressedBoot(Boot):
    """A plain boot of an image written with ARGS whose segments after the early microcode are
    SEGMENTS cpio archives in FORMAT (`zinitrd ls`: zstd-compressed, gzip-compressed, ...)."""

    def __init__(self, args, fmt, segments):
        super().__init__("root=zfs:rpool/ROOT/debian", image_args=args, **DEBIAN)
        self.format, self.segments = fmt, segments

    def check_image(self, img):
        # Test images live in BUILD/vm (scenarios.test_image); the tool is BUILD/bin/zinitrd.
        zinitrd = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(img))), "bin", "zinitrd")
        listing = subprocess.check_output([zinitrd, "ls", img], text=True)
        heads = re.findall(r"^# segment \d+ at byte \d+: (\S+) cpio", listing, re.M)
        # Segment 0 is the early microcode, uncompressed, when the image carries one.
        main = heads[1:] if len(heads) == self.segments + 1 else heads
        if len(main) != self.segments or any(h != self.format for h in main):
            raise AssertionError(f"expected {self.segments} {self.format} cpio archive(s) after the "
                                 f"early microcode, `zinitrd ls` shows {heads}")


SCENARIOS = {
    # Below the cache's level each zstd segment is compressed as libarchive writes it.
    "compress_zstd_level3": CompressedBoot(("--level", "3"), "zstd-compressed", 3),
    "compress_gzip": CompressedBoot(("--compress", "gzip"), "gzip-compressed", 1),
    "compress_xz": CompressedBoot(("--compress", "xz"), "xz-compressed", 1),
    "compress_lz4": CompressedBoot(("--compress", "lz4"), "lz4-compressed", 1),
    "compress_none": CompressedBoot(("--compress", "none"), "uncompressed", 1),
}
