#!/usr/bin/env python3
"""host_only_peers_test: how bench/host_only_peers.py reads what it measured (label `unit`, no VM).

The peers' host-only images are made in a booted guest; what comes back is the job's console
lines and the images. These check the reading: a peer that refuses is a result with its reason,
a job that failed or lost a peer is an error, an image's compressor is found after its early
(uncompressed) cpio and its zstd -19 size counts that part once, and the report compares zinitrd
with the peer that made an image, never with one that refused.
"""
import gzip
import os
import subprocess
import sys
import tempfile
import unittest

SOURCE_DIR = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(SOURCE_DIR, "bench"))
sys.path.insert(0, os.path.join(SOURCE_DIR, "tests", "vm"))
import host_only_peers  # noqa: E402
import run  # noqa: E402

JOB = """[  60.87] ZINITRD-JOB mkinitramfs: failed to determine device for /
[  60.95] ZINITRD-JOB peer initramfs-tools failed status=1: mkinitramfs: failed to determine device for /
[ 315.16] ZINITRD-JOB peer dracut bytes=20036296 seconds=246.6 offset_mib=128
[ 315.20] ZINITRD-JOB status 0
"""


class ParseJob(unittest.TestCase):
    def test_a_refusal_is_a_result(self):
        built, refused = host_only_peers.parse_job(JOB)
        self.assertEqual(built, {"dracut": (20036296, 246.6, 128)})
        self.assertEqual(refused, {"initramfs-tools": "status=1: mkinitramfs: failed to determine device for /"})

    def test_a_failed_job_is_an_error(self):
        with self.assertRaises(AssertionError):
            host_only_peers.parse_job(JOB.replace("status 0", "status 1"))

    def test_a_peer_without_a_line_is_an_error(self):
        with self.assertRaises(AssertionError):
            host_only_peers.parse_job("\n".join(l for l in JOB.splitlines() if "dracut" not in l))


class Compression(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.TemporaryDirectory()
        # Something compressible and not trivial: the text of this file, many times over.
        with open(__file__, "rb") as f:
            self.payload = f.read() * 200
        self.early = b"070701" + b"0" * 506  # stands for an uncompressed early cpio

    def tearDown(self):
        self.dir.cleanup()

    def image(self, name, body):
        path = os.path.join(self.dir.name, name)
        with open(path, "wb") as f:
            f.write(self.early + body)
        return path

    def zstd19(self, data):
        return len(subprocess.run(["zstd", "-19", "-q", "-c"], input=data, stdout=subprocess.PIPE,
                                  check=True).stdout)

    def test_gzip_after_an_early_cpio_with_padding(self):
        # dracut's default here; the kernel's loader allows zeros after the stream, gzip warns.
        img = self.image("gz.img", gzip.compress(self.payload) + b"\0" * 512)
        self.assertEqual(host_only_peers.compressor(img, len(self.early)), "gzip")
        self.assertEqual(host_only_peers.zstd19_bytes(img, len(self.early)),
                         len(self.early) + self.zstd19(self.payload))

    def test_zstd_frames_one_after_another(self):
        # zinitrd's segments: one frame each, read as one stream.
        half = len(self.payload) // 2
        frames = b"".join(subprocess.run(["zstd", "-3", "-q", "-c"], input=p, stdout=subprocess.PIPE,
                                         check=True).stdout for p in (self.payload[:half], self.payload[half:]))
        img = self.image("zst.img", frames)
        self.assertEqual(host_only_peers.compressor(img, len(self.early)), "zstd")
        self.assertEqual(host_only_peers.zstd19_bytes(img, len(self.early)),
                         len(self.early) + self.zstd19(self.payload))

    def test_unknown_format_has_no_figure(self):
        img = self.image("raw.img", b"not compressed at all")
        self.assertIsNone(host_only_peers.compressor(img, len(self.early)))
        self.assertIsNone(host_only_peers.zstd19_bytes(img, len(self.early)))


class Report(unittest.TestCase):
    HOST_ONLY = {"bytes": 7_451_811, "modules": 39, "generic_modules": 216, "boot_seconds": 23.9,
                 "peers": {"zinitrd": {"bytes": 7_451_811, "zstd19_bytes": 7_413_659, "compressor": "zstd"},
                           "initramfs-tools": {"refused": "status=1: mkinitramfs: failed"},
                           "dracut": {"bytes": 20_036_296, "modules": 383, "compressor": "gzip",
                                      "zstd19_bytes": 15_292_623, "content_bytes": 59_590_607,
                                      "boot": {"did_not_boot": "no marker"}}}}

    def test_against_the_peer_that_made_one(self):
        self.assertEqual(host_only_peers.smaller_peer(self.HOST_ONLY["peers"]), "dracut")
        name, value, target, desc = run.host_only_target({"host_only": self.HOST_ONLY})
        self.assertEqual(value, 7_451_811)
        self.assertIn("0.37x the smaller peer's host-only image, dracut's 20.0 MB", desc)
        self.assertIn("initramfs-tools refused its host-only mode (`MODULES=dep`): status=1", desc)

    def test_no_peer_image_no_ratio(self):
        h = dict(self.HOST_ONLY, peers={"failed": "apt-get download failed"})
        self.assertIsNone(host_only_peers.smaller_peer(h["peers"]))
        desc = run.host_only_target({"host_only": h})[3]
        self.assertIn("peers' host-only images not measured: apt-get download failed", desc)
        self.assertNotIn("x the smaller peer", desc)

    def test_table(self):
        lines = host_only_peers.table(self.HOST_ONLY, run.TOOLS)
        rows = {l.split(" | ")[0].lstrip("| "): l.split(" | ")[1:] for l in lines if l.startswith("| ")}
        self.assertEqual(rows["image size"], ["7.5 MB", "not made: status=1: mkinitramfs: failed", "20.0 MB |"])
        self.assertEqual(rows["image, zinitrd/tool"], ["1.00", "-", "0.37 |"])
        self.assertEqual(rows["compressor (its default)"], ["zstd", "-", "gzip |"])
        self.assertEqual(rows["booted on that machine"], ["running after 23.9 s, / rw", "-", "did not boot: no marker |"])


if __name__ == "__main__":
    unittest.main()
