// cmdline_test.cc: every command-line form of ../shared/REFERENCE.md, and hostile input.
#include "cmdline.h"

#include <doctest/doctest.h>

#include <string>

using namespace zinitrd::rt;

namespace {

BootRequest parse(const std::string& s) { return parse_cmdline(s); }

void check_dataset(const std::string& cmdline, const std::string& dataset) {
  CAPTURE(cmdline);
  BootRequest r = parse(cmdline);
  CHECK(r.root_kind == RootKind::kDataset);
  CHECK(r.dataset == dataset);
  CHECK(r.pool == dataset.substr(0, dataset.find('/')));
  CHECK(r.snapshot.empty());
}

void check_auto(const std::string& cmdline) {
  CAPTURE(cmdline);
  BootRequest r = parse(cmdline);
  CHECK(r.root_kind == RootKind::kAuto);
  CHECK(r.dataset.empty());
}

}  // namespace

TEST_CASE("tokenizer follows the kernel's next_arg()") {
  auto p = split_kernel_cmdline("  a b=c   \"d e\" f=\"g h\" i=\"j\" \n");
  REQUIRE(p.size() == 5);
  CHECK(p[0] == KernelParam{"a", "", false});
  CHECK(p[1] == KernelParam{"b", "c", true});
  CHECK(p[2] == KernelParam{"d e", "", false});
  CHECK(p[3] == KernelParam{"f", "g h", true});
  CHECK(p[4] == KernelParam{"i", "j", true});
}

TEST_CASE("tokenizer: quoted whole parameter, inner quotes, empty values") {
  auto p = split_kernel_cmdline("\"a=b c\" x=a\"b c\" y= z=\"\"");
  REQUIRE(p.size() == 4);
  CHECK(p[0] == KernelParam{"a", "b c", true});
  CHECK(p[1] == KernelParam{"x", "a\"b c\"", true});  // the kernel keeps quotes not right after '='
  CHECK(p[2] == KernelParam{"y", "", true});
  CHECK(p[3] == KernelParam{"z", "", true});
}

TEST_CASE("tokenizer: '--' ends the kernel's part, the rest is init's") {
  auto p = split_kernel_cmdline("root=zfs:a -- root=zfs:b single");
  REQUIRE(p.size() == 1);
  CHECK(p[0].value == "zfs:a");
  CHECK(parse("root=zfs:a/b -- root=zfs:c/d").dataset == "a/b");
}

TEST_CASE("tokenizer: unbalanced quote runs to the end of the line") {
  auto p = split_kernel_cmdline("a=\"b c d");
  REQUIRE(p.size() == 1);
  CHECK(p[0] == KernelParam{"a", "b c d", true});
  auto q = split_kernel_cmdline("\"");
  CHECK(q.empty());
  auto r = split_kernel_cmdline("x=\"");
  REQUIRE(r.size() == 1);
  CHECK(r[0] == KernelParam{"x", "", true});
}

TEST_CASE("root=zfs:POOL/DS and root=ZFS=POOL/DS") {
  check_dataset("root=zfs:rpool/ROOT/debian", "rpool/ROOT/debian");
  check_dataset("BOOT_IMAGE=/vmlinuz root=ZFS=rpool/ROOT/ubuntu_abc ro quiet",
                "rpool/ROOT/ubuntu_abc");
  check_dataset("root=zfs:rpool", "rpool");
  check_dataset("root=zfs=tank/os", "tank/os");
  CHECK(parse("root=zfs:rpool/ROOT/debian").root_origin == "root=zfs:rpool/ROOT/debian");
}

TEST_CASE("zfs=POOL/DS, zfs=auto, zfs=bootfs") {
  check_dataset("zfs=zroot/ROOT/default rw", "zroot/ROOT/default");
  check_auto("zfs=auto");
  check_auto("zfs=bootfs");
  check_auto("zfs=AUTO");
}

TEST_CASE("root=zfs:AUTO, root=zfs, root=zfs:") {
  check_auto("root=zfs:AUTO");
  check_auto("root=zfs");
  check_auto("root=zfs:");
  check_auto("root=ZFS=AUTO");
}

TEST_CASE("rootfstype=zfs root=POOL/DS, in either order") {
  check_dataset("rootfstype=zfs root=rpool/ROOT/fedora", "rpool/ROOT/fedora");
  check_dataset("root=rpool/ROOT/fedora rootfstype=zfs", "rpool/ROOT/fedora");
  check_auto("rootfstype=zfs");
}

TEST_CASE("'+' decodes to a space, trailing slashes go") {
  check_dataset("root=zfs:rpool/ROOT/my+system", "rpool/ROOT/my system");
  check_dataset("root=zfs:rpool/ROOT/debian//", "rpool/ROOT/debian");
  check_dataset("root=\"zfs:rpool/ROOT/with space\"", "rpool/ROOT/with space");
}

TEST_CASE("snapshots are parsed (zfs_snapshot.h boots them)") {
  BootRequest r = parse("root=zfs:rpool/ROOT/debian@before-upgrade");
  CHECK(r.root_kind == RootKind::kDataset);
  CHECK(r.dataset == "rpool/ROOT/debian");
  CHECK(r.snapshot == "before-upgrade");
  CHECK(parse("root=zfs:rpool/ROOT/debian@").root_kind == RootKind::kInvalid);
}

TEST_CASE("bootfs.snapshot and bootfs.rollback, bare or named") {
  BootRequest r = parse("root=zfs:AUTO bootfs.snapshot bootfs.rollback=pre");
  CHECK(r.bootfs_snapshot);
  CHECK(r.bootfs_snapshot_name.empty());
  CHECK(r.bootfs_rollback);
  CHECK(r.bootfs_rollback_name == "pre");
  CHECK(r.module_params.count("bootfs") == 0);
  BootRequest s = parse("bootfs.snapshot=mysnap");
  CHECK(s.bootfs_snapshot_name == "mysnap");
  CHECK_FALSE(s.bootfs_rollback);
}

TEST_CASE("empty and malformed dataset names are reported") {
  for (const char* bad : {"root=zfs:/", "root=zfs:rpool//x", "root=zfs:/dev/sda1",
                          "root=zfs:1pool/x", "root=zfs:rpool/a#b", "zfs=rpool/x%y"}) {
    CAPTURE(bad);
    BootRequest r = parse(bad);
    CHECK(r.root_kind == RootKind::kInvalid);
    CHECK_FALSE(r.root_error.empty());
    CHECK(r.dataset.empty());
  }
  std::string longname = "root=zfs:rpool/" + std::string(300, 'a');
  CHECK(parse(longname).root_kind == RootKind::kInvalid);
}

TEST_CASE("a non-ZFS root is reported, zfs= wins over it") {
  BootRequest r = parse("root=/dev/sda1");
  CHECK(r.root_kind == RootKind::kForeign);
  CHECK(r.root_error.find("root=zfs:") != std::string::npos);
  BootRequest s = parse("root=/dev/sda1 zfs=rpool/ROOT/arch");
  CHECK(s.root_kind == RootKind::kDataset);
  CHECK(s.dataset == "rpool/ROOT/arch");
  CHECK_FALSE(s.diagnostics.empty());
  CHECK(parse("quiet").root_kind == RootKind::kNone);
}

TEST_CASE("root=zfs:AUTO next to zfs=POOL/DS: the named dataset wins, silently") {
  BootRequest r = parse("root=zfs:AUTO zfs=rpool/ROOT/arch");
  CHECK(r.root_kind == RootKind::kDataset);
  CHECK(r.dataset == "rpool/ROOT/arch");
  CHECK(r.diagnostics.empty());
  BootRequest same = parse("root=zfs:rpool/ROOT/arch zfs=rpool/ROOT/arch");
  CHECK(same.dataset == "rpool/ROOT/arch");
  CHECK(same.diagnostics.empty());
  CHECK(parse("root=zfs zfs=auto").root_kind == RootKind::kAuto);
}

TEST_CASE("repeated root= : the last one wins, as in the kernel") {
  check_dataset("root=zfs:a/b root=zfs:c/d", "c/d");
  CHECK(parse("root=zfs:a/b root=zfs:c/d zfs=e/f").dataset == "c/d");
}

TEST_CASE("rootflags, ro and rw, init") {
  BootRequest r = parse("root=zfs:a/b rootflags=noatime,xattr=sa init=/lib/systemd/systemd");
  CHECK(r.rootflags == "noatime,xattr=sa");
  CHECK_FALSE(r.kernel_read_only.has_value());  // neither: ZFSBootMenu's default
  CHECK(r.init == "/lib/systemd/systemd");
  CHECK(parse("ro rw").kernel_read_only == false);
  CHECK(parse("rw ro").kernel_read_only == true);
  BootRequest bad = parse("init=sbin/init");
  CHECK(bad.init.empty());
  CHECK(bad.diagnostics.size() == 1);
}

TEST_CASE("zfs_force, zfs.force and zfsforce") {
  for (const char* on : {"zfs_force", "zfs.force", "zfsforce", "zfs_force=1", "zfs.force=yes",
                         "zfsforce=on", "zfs_force=YES", "zfs_force=true"}) {
    CAPTURE(on);
    BootRequest r = parse(on);
    CHECK(r.force);
    CHECK(r.module_params.empty());  // zfs.force is ours, not a zfs.ko parameter
  }
  for (const char* off : {"zfs_force=0", "zfs.force=no", "zfsforce=off", "zfs_force zfs_force=0"}) {
    CAPTURE(off);
    CHECK_FALSE(parse(off).force);
  }
  BootRequest bad = parse("zfs_force=maybe");
  CHECK_FALSE(bad.force);
  CHECK(bad.diagnostics.size() == 1);
}

TEST_CASE("spl_hostid=HEX") {
  BootRequest r = parse("spl_hostid=0x8e9a1a2b");
  REQUIRE(r.spl_hostid);
  CHECK(*r.spl_hostid == 0x8e9a1a2bu);
  CHECK(*parse("spl_hostid=00bab10c").spl_hostid == 0x00bab10cu);
  CHECK(*parse("spl_hostid=0").spl_hostid == 0u);
  for (const char* bad :
       {"spl_hostid=xyz", "spl_hostid=0x123456789", "spl_hostid=", "spl_hostid"}) {
    CAPTURE(bad);
    BootRequest b = parse(bad);
    CHECK_FALSE(b.spl_hostid);
    CHECK(b.diagnostics.size() == 1);
  }
}

TEST_CASE("MODULE.param=value goes to the module, names normalised") {
  BootRequest r = parse(
      "spl.spl_hostid=0x8e9a1a2b zfs.zfs_arc_max=1073741824 "
      "virtio-blk.foo=\"a b\" usbcore.autosuspend=-1 nvme.bare");
  CHECK(r.module_params["spl"] == std::vector<std::string>{"spl_hostid=0x8e9a1a2b"});
  REQUIRE(r.module_hostid);
  CHECK(*r.module_hostid == 0x8e9a1a2bu);
  CHECK(r.module_params["zfs"] == std::vector<std::string>{"zfs_arc_max=1073741824"});
  CHECK(r.module_params["virtio_blk"] == std::vector<std::string>{"foo=\"a b\""});
  CHECK(r.module_params["usbcore"] == std::vector<std::string>{"autosuspend=-1"});
  CHECK(r.module_params["nvme"] == std::vector<std::string>{"bare"});
  CHECK(r.module_params.count("rd") == 0);
  CHECK(*parse("spl.spl_hostid=1234").module_hostid == 1234u);  // kstrtoul base 0: decimal
  BootRequest bad = parse("spl.spl_hostid=banana");
  CHECK(bad.module_params.count("spl") == 0);  // a bad value would make spl.ko refuse to load
  CHECK(bad.diagnostics.size() == 1);
  CHECK(parse("ip=10.0.0.1").module_params.empty());
  CHECK(parse(".x=1 a.=2 $%.y=3").module_params.empty());
}

TEST_CASE("rd.break, with and without a stage") {
  CHECK(parse("rd.break").breaks == std::vector<Stage>{Stage::kPrePivot});
  CHECK(parse("rd.break=pre-mount").breaks == std::vector<Stage>{Stage::kPreMount});
  CHECK(parse("rd.break=cmdline rd.break=modules,pre-import").breaks ==
        std::vector<Stage>{Stage::kCmdline, Stage::kModules, Stage::kPreImport});
  CHECK(parse("rd.break=initqueue").breaks == std::vector<Stage>{Stage::kPreImport});
  BootRequest bad = parse("rd.break=lunch");
  CHECK(bad.breaks.empty());
  CHECK(bad.diagnostics.size() == 1);
  CHECK(wants_break(parse("rd.break=pre-pivot"), Stage::kPrePivot));
  CHECK_FALSE(wants_break(parse("rd.break=pre-pivot"), Stage::kCmdline));
  for (int i = 0; i < kStageCount; ++i) {
    Stage s = static_cast<Stage>(i);
    CHECK(parse_stage(stage_name(s)) == s);
  }
}

TEST_CASE("rd.shell, rd.timeout, rootdelay, rd.debug") {
  CHECK_FALSE(parse("").shell.has_value());
  CHECK(parse("rd.shell").shell == true);
  CHECK(parse("rd.shell=0").shell == false);
  CHECK(parse("rd.timeout=90").timeout_s == 90);
  CHECK(parse("rd.timeout=0").timeout_s == 0);
  CHECK(parse("rootdelay=5").rootdelay_s == 5);
  CHECK(parse("rd.debug").debug);
  for (const char* bad : {"rd.timeout=-1", "rd.timeout=abc", "rd.timeout=99999999999999",
                          "rootdelay=1.5", "rd.timeout", "rootdelay=99999"}) {
    CAPTURE(bad);
    BootRequest b = parse(bad);
    CHECK_FALSE(b.timeout_s);
    CHECK(b.rootdelay_s == 0);
    CHECK(b.diagnostics.size() == 1);
  }
}

TEST_CASE("quiet, loglevel, console") {
  BootRequest r = parse("quiet loglevel=3 console=tty0 console=ttyS0,115200n8");
  CHECK(r.quiet);
  CHECK(r.loglevel == 3);
  CHECK(r.consoles == std::vector<std::string>{"tty0", "ttyS0,115200n8"});
  CHECK(parse("loglevel=x").loglevel == -1);
}

TEST_CASE("unknown dracut options are named, other unknown words are not") {
  BootRequest r = parse("rd.lvm.lv=vg/root splash mitigations=off nomodeset");
  REQUIRE(r.diagnostics.size() == 1);
  CHECK(r.diagnostics[0].find("rd.lvm.lv") != std::string::npos);
}

TEST_CASE("hostile input never crashes and stays bounded") {
  CHECK(parse("").root_kind == RootKind::kNone);
  CHECK(parse("   \t\n ").root_kind == RootKind::kNone);
  CHECK(parse("=").diagnostics.empty());
  CHECK(parse("= = == =x").root_kind == RootKind::kNone);
  CHECK(parse("root=").root_kind == RootKind::kNone);
  CHECK(parse("root=").diagnostics.size() == 1);
  CHECK(parse("root").diagnostics.size() == 1);

  std::string garbage;
  unsigned x = 12345;
  for (int i = 0; i < 100 * 1024; ++i) {
    x = x * 1103515245 + 12345;
    garbage += static_cast<char>((x >> 16) & 0xff);
  }
  BootRequest g = parse(garbage);
  CHECK(g.diagnostics.size() <= 33);

  std::string repeated;
  for (int i = 0; i < 5000; ++i) repeated += "rd.break=nope zfs_force=maybe root=zfs:x/y ";
  BootRequest rep = parse(repeated);
  CHECK(rep.dataset == "x/y");
  CHECK(rep.diagnostics.size() == 33);
  CHECK(rep.diagnostics.back().find("more problems") != std::string::npos);

  std::string huge = "root=zfs:rpool/" + std::string(100 * 1024, 'a');
  BootRequest h = parse(huge);
  CHECK(h.root_kind == RootKind::kInvalid);
  CHECK(h.root_error.size() < 400);  // the value is cut in messages

  std::string unbalanced = "root=\"zfs:rpool/ROOT/x quiet rw \"\"\" \"";
  BootRequest u = parse(unbalanced);
  CHECK(u.root_kind != RootKind::kDataset);  // swallowed into one malformed value, reported

  std::string with_nul("root=zfs:a/b\0rw", 15);
  CHECK(parse(with_nul).root_kind == RootKind::kInvalid);
}

TEST_CASE("decode_dataset") {
  std::string ds, snap, why;
  CHECK(decode_dataset("rpool/ROOT/a+b", ds, snap, why));
  CHECK(ds == "rpool/ROOT/a b");
  CHECK(decode_dataset("p/x@s1", ds, snap, why));
  CHECK(snap == "s1");
  CHECK_FALSE(decode_dataset("", ds, snap, why));
  CHECK(why.find("empty") != std::string::npos);
  CHECK_FALSE(decode_dataset("///", ds, snap, why));
  CHECK_FALSE(decode_dataset("p/x@a/b", ds, snap, why));
}

TEST_CASE(
    "blacklists: modprobe.blacklist= and rd.driver.blacklist= (modalias), module_blacklist=") {
  BootRequest r = parse_cmdline(
      "root=zfs:rpool/x modprobe.blacklist=nouveau,floppy rd.driver.blacklist=pata-acpi "
      "module_blacklist=crct10dif_pclmul modprobe.blacklist=bad/name");
  CHECK(r.blacklist == std::vector<std::string>{"nouveau", "floppy", "pata_acpi"});
  CHECK(r.module_blacklist == std::vector<std::string>{"crct10dif_pclmul"});
  CHECK(r.module_params.count("modprobe") == 0);
  REQUIRE(r.diagnostics.size() == 1);
  CHECK(r.diagnostics[0].find("bad/name") != std::string::npos);
}

TEST_CASE("rd.zfs.member_wait= and a pool GUID in place of the pool name") {
  BootRequest r = parse_cmdline("root=zfs:7298839655711444730/ROOT/debian rd.zfs.member_wait=3");
  CHECK(r.member_wait_s == 3);
  CHECK(r.root_kind == RootKind::kDataset);
  CHECK(r.pool == "7298839655711444730");
  CHECK(r.dataset == "7298839655711444730/ROOT/debian");
  BootRequest bad = parse_cmdline("root=zfs:rpool/x rd.zfs.member_wait=soon");
  CHECK_FALSE(bad.member_wait_s.has_value());
  CHECK(bad.diagnostics.size() == 1);
}

TEST_CASE("zinitrd.boot_test is ours, not a parameter of a module called zinitrd") {
  for (const char* on : {"zinitrd.boot_test", "zinitrd.boot_test=1", "zinitrd.boot_test=yes"}) {
    CAPTURE(on);
    BootRequest r = parse(std::string("root=zfs:rpool/ROOT/debian ") + on);
    CHECK(r.boot_test);
    CHECK(r.module_params.empty());
    CHECK(r.diagnostics.empty());
  }
  CHECK_FALSE(parse("zinitrd.boot_test=0").boot_test);
  CHECK_FALSE(parse("root=zfs:rpool/x").boot_test);
  BootRequest typo = parse("zinitrd.boottest=1");
  CHECK_FALSE(typo.boot_test);
  CHECK(typo.module_params.empty());
  REQUIRE(typo.diagnostics.size() == 1);
  CHECK(typo.diagnostics[0].find("zinitrd.boot_test") != std::string::npos);
}

TEST_CASE("under zinitrd.boot_test, rd.break is ignored and said so") {
  BootRequest r = parse("rd.break=pre-mount zinitrd.boot_test=1 rd.break");
  CHECK(r.breaks.empty());
  REQUIRE(r.diagnostics.size() == 1);
  CHECK(r.diagnostics[0].find("rd.break is ignored") != std::string::npos);
  CHECK(parse("rd.break=pre-mount").breaks.size() == 1);
}

TEST_CASE("resume= and noresume") {
  auto r = parse("root=zfs:rpool/ROOT/debian resume=UUID=1b4e28ba-2fa1-11d2-883f-0016d3cc427e");
  CHECK(r.resume == "UUID=1b4e28ba-2fa1-11d2-883f-0016d3cc427e");
  CHECK_FALSE(r.noresume);
  CHECK(r.diagnostics.empty());
  CHECK(parse("resume=/dev/sda2 noresume").noresume);
  CHECK(parse("root=zfs:rpool").resume.empty());
  CHECK_FALSE(parse("resume").diagnostics.empty());  // no device named: said, and ignored
}
