// uki_test.cc: `zinitrd build --uki` as users run it (the real binary, objcopy and sbsign) on a
// fixture root holding the real systemd stub: sections read back, the same bytes twice, refusals
// that name the package, signing, and a failed build that leaves the previous UKI in place.
#include "uki.h"

#include <doctest/doctest.h>

#include <filesystem>
#include <string>

#include "image_reader.h"
#include "pe_file.h"
#include "process.h"
#include "test_support.h"
#include "text.h"

namespace fs = std::filesystem;
using namespace zinitrd::gen;
using zinitrd::test::slurp;
using zinitrd::test::TempDir;
using zinitrd::test::write_file;

namespace {

constexpr const char* kKver = "9.9.9-uki";
constexpr const char* kCmdline = "root=zfs:rpool/ROOT/debian quiet";

struct Run {
  int status;
  std::string output;
};

// Runs zinitrd ARGS (blank-separated words) after WRAPPER's words, stdout and stderr captured.
Run run_zinitrd(const std::string& args, std::vector<std::string> wrapper = {}) {
  std::vector<std::string> argv = std::move(wrapper);
  argv.push_back(ZINITRD_BINARY_DIR "/bin/zinitrd");
  for (auto& w : zinitrd::split_words(args)) argv.push_back(std::move(w));
  CommandOptions o;
  o.merge_stderr = true;
  o.timeout_ms = 300'000;
  auto r = run_command(argv, o);
  REQUIRE(r.ran);
  return {r.status, r.out};
}

// A root with an indexed, empty modules tree, os-release, a "kernel" and (WITH_STUB) the host's
// systemd stub. False, with a loud skip, when the stub or objcopy is not installed.
bool make_uki_root(const TempDir& root, bool with_stub = true) {
  if (!fs::exists(kUkiStubPath) || !run_command({"objcopy", "--version"}).ok()) {
    zinitrd::test::skip(std::string(kUkiStubPath) +
                        " or objcopy is not installed (packages systemd-boot-efi, binutils; run "
                        "scripts/setup-debian.sh)");
    return false;
  }
  fs::path mods = root.path() / "lib/modules" / kKver;
  for (const char* f : {"modules.order", "modules.builtin", "modules.builtin.modinfo"})
    write_file(mods / f, "");
  REQUIRE(run_command({"depmod", "-b", root.path().string(), kKver}).ok());
  write_file(root / "/etc/os-release", "PRETTY_NAME=\"Test\"\nID=debian\nVERSION_ID=12\n");
  std::string kernel = "MZ fake kernel";
  kernel.resize(300000, 'k');
  write_file(root / (std::string("/boot/vmlinuz-") + kKver), kernel);
  if (with_stub) {
    fs::create_directories((root / kUkiStubPath).parent_path());
    fs::copy_file(kUkiStubPath, root / kUkiStubPath);
  }
  return true;
}

std::string base_args(const TempDir& root) {
  return "build -q --omit zfs --microcode none --root " + root.path().string() + " --kver " +
         kKver + " --uki";
}

}  // namespace

TEST_CASE("uki: sections read back and the same bytes twice") {
  TempDir root("zinitrd-uki");
  if (!make_uki_root(root)) return;
  write_file(root / "/etc/kernel/cmdline", std::string(kCmdline) + "\n");
  std::vector<std::string> epoch = {"env", "SOURCE_DATE_EPOCH=1700000000"};
  auto a = run_zinitrd(base_args(root) + " -o " + (root / "a.efi").string(), epoch);
  INFO(a.output);
  REQUIRE(a.status == 0);
  REQUIRE(run_zinitrd(base_args(root) + " -o " + (root / "b.efi").string(), epoch).status == 0);
  std::string bytes = slurp(root / "a.efi");
  CHECK(bytes == slurp(root / "b.efi"));  // objcopy's own timestamp was replaced

  auto c = read_uki(bytes, "a.efi");
  REQUIRE_MESSAGE(c.ok(), (c.ok() ? "" : c.error().message));
  CHECK(c->cmdline == kCmdline);  // /etc/kernel/cmdline of the root, lines joined
  CHECK(c->uname == kKver);
  CHECK(c->os_release.find("PRETTY_NAME=\"Test\"") != std::string::npos);
  CHECK(c->kernel == slurp(root / (std::string("/boot/vmlinuz-") + kKver)));
  // The .initrd section is a zinitrd image: write it out and list it.
  write_file(root / "initrd", c->initrd);
  auto members = list_image((root / "initrd").string());
  REQUIRE(members.ok());
  bool has_init = false;
  for (const auto& m : *members) has_init |= m.path == "/init";
  CHECK(has_init);

  // objdump, an independent reader, sees every section the stub needs.
  auto h = run_command({"objdump", "-h", (root / "a.efi").string()});
  REQUIRE(h.ok());
  for (const char* s : {".osrel", ".cmdline", ".uname", ".linux", ".initrd"})
    CHECK_MESSAGE(h.out.find(std::string(" ") + s + " ") != std::string::npos, s);

  // Another time stamp, other bytes (the stamp is the epoch, not a constant).
  REQUIRE(run_zinitrd(base_args(root) + " -o " + (root / "c.efi").string(),
                      {"env", "SOURCE_DATE_EPOCH=1700000001"})
              .status == 0);
  CHECK(slurp(root / "c.efi") != bytes);
}

TEST_CASE("uki: --cmdline wins over /etc/kernel/cmdline and needs --uki") {
  TempDir root("zinitrd-uki");
  if (!make_uki_root(root)) return;
  write_file(root / "/etc/kernel/cmdline", "root=zfs:other\n");
  auto r = run_zinitrd(base_args(root) + " --cmdline root=zfs:rpool/ROOT/x -o " +
                       (root / "a.efi").string());
  INFO(r.output);
  REQUIRE(r.status == 0);
  auto c = read_uki(slurp(root / "a.efi"), "a.efi");
  REQUIRE(c.ok());
  CHECK(c->cmdline == "root=zfs:rpool/ROOT/x");
  for (const char* opt : {"--cmdline x", "--splash x.bmp", "--os-release x", "--kernel-image x"}) {
    CAPTURE(opt);
    r = run_zinitrd("build --root " + root.path().string() + " --kver " + kKver + " " + opt);
    CHECK(r.status == 2);
    CHECK(r.output.find("is for --uki only") != std::string::npos);
  }
}

TEST_CASE("uki: refusals name what is missing and write nothing") {
  TempDir root("zinitrd-uki");
  if (!make_uki_root(root, /*with_stub=*/false)) return;
  std::string out = (root / "a.efi").string();
  auto r = run_zinitrd(base_args(root) + " --cmdline root=zfs:AUTO -o " + out);
  CHECK(r.status == 1);
  CHECK(r.output.find("linuxx64.efi.stub is missing") != std::string::npos);
  CHECK(r.output.find("install systemd-boot-efi") != std::string::npos);
  CHECK_FALSE(fs::exists(out));

  fs::create_directories((root / kUkiStubPath).parent_path());
  fs::copy_file(kUkiStubPath, root / kUkiStubPath);
  // No command line anywhere (a fixture root is not this host: /proc/cmdline is not used).
  r = run_zinitrd(base_args(root) + " -o " + out);
  CHECK(r.status == 1);
  CHECK(r.output.find("no kernel command line for the UKI") != std::string::npos);
  CHECK(r.output.find("--cmdline") != std::string::npos);
  CHECK_FALSE(fs::exists(out));

  // A key without a certificate; a key file that does not exist.
  r = run_zinitrd(base_args(root) + " --cmdline root=zfs:AUTO --secureboot-key " +
                  (root / "k.key").string() + " -o " + out);
  CHECK(r.status == 1);
  CHECK(r.output.find("takes both --secureboot-key and --secureboot-cert") != std::string::npos);
  r = run_zinitrd(base_args(root) + " --cmdline root=zfs:AUTO --secureboot-key " +
                  (root / "k.key").string() + " --secureboot-cert " + (root / "k.crt").string() +
                  " -o " + out);
  CHECK(r.status == 1);
  CHECK(r.output.find("Secure Boot key or certificate " + (root / "k.key").string() +
                      ": no such file") != std::string::npos);
  CHECK_FALSE(fs::exists(out));

  // Every problem at once, not the first only.
  fs::remove(root / kUkiStubPath);
  r = run_zinitrd(base_args(root) + " -o " + out);
  CHECK(r.output.find("install systemd-boot-efi") != std::string::npos);
  CHECK(r.output.find("no kernel command line") != std::string::npos);
}

TEST_CASE("uki: signed by sbsign and verified by sbverify and a failed signing keeps the old UKI") {
  TempDir root("zinitrd-uki");
  if (!make_uki_root(root)) return;
  if (!run_command({"sbsign", "--help"}).ran || !run_command({"openssl", "version"}).ok())
    return zinitrd::test::skip(
        "sbsign or openssl is not installed (packages sbsigntool, "
        "openssl; run scripts/setup-debian.sh)");
  std::string key = (root / "db.key").string(), crt = (root / "db.crt").string();
  CommandOptions quiet;
  quiet.merge_stderr = true;
  REQUIRE(run_command({"openssl", "req", "-new", "-x509", "-newkey", "rsa:2048", "-nodes",
                       "-keyout", key, "-out", crt, "-subj", "/CN=zinitrd test db/", "-days", "2"},
                      quiet)
              .ok());
  std::string out = (root / "signed.efi").string();
  std::string sign = " --cmdline root=zfs:AUTO --secureboot-key " + key + " --secureboot-cert " +
                     crt + " -o " + out;
  auto r = run_zinitrd(base_args(root) + sign);
  INFO(r.output);
  REQUIRE(r.status == 0);
  auto v = run_command({"sbverify", "--cert", crt, out}, quiet);
  INFO(v.out);
  CHECK(v.ok());
  auto c = read_uki(slurp(out), out);
  REQUIRE(c.ok());  // still a UKI after signing
  CHECK(c->cmdline == "root=zfs:AUTO");

  // A key sbsign cannot read: the build fails with sbsign's words, the signed UKI stays.
  std::string before = slurp(out);
  write_file(root / "db.key", "not a key\n");
  r = run_zinitrd(base_args(root) + sign);
  CHECK(r.status == 1);
  CHECK(r.output.find("sbsign could not sign the UKI") != std::string::npos);
  CHECK(slurp(out) == before);
}

TEST_CASE("uki: read_uki refuses what the stub could not boot") {
  if (!fs::exists(kUkiStubPath))
    return zinitrd::test::skip(std::string(kUkiStubPath) +
                               " is not installed (package systemd-boot-efi; run "
                               "scripts/setup-debian.sh)");
  std::string stub = slurp(kUkiStubPath);
  auto r = read_uki(stub, "stub");  // the bare stub carries no payload
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().message.find("'stub' is not a bootable UKI: no .linux section") !=
        std::string::npos);
  CHECK_FALSE(read_uki("MZ", "x").ok());

  // Two sections at the same address: what a wrong --change-section-vma would make.
  TempDir dir("zinitrd-uki");
  for (const char* s : {"linux", "initrd", "cmdline", "osrel", "uname"})
    write_file(dir / s, std::string(s) + " data");
  auto pe = parse_pe(stub, "stub");
  REQUIRE(pe.ok());
  char vma[32];
  std::snprintf(vma, sizeof vma, "0x%llx",
                static_cast<unsigned long long>(pe->image_base + pe->end_rva(4096)));
  std::vector<std::string> argv = {"objcopy"};
  for (const char* s : {"linux", "initrd", "cmdline", "osrel", "uname"})
    argv.insert(argv.end(), {"--add-section", std::string(".") + s + "=" + (dir / s).string(),
                             "--change-section-vma", std::string(".") + s + "=" + vma});
  argv.insert(argv.end(), {kUkiStubPath, (dir / "bad.efi").string()});
  CommandOptions o;
  o.merge_stderr = true;
  auto made = run_command(argv, o);
  INFO(made.out);
  REQUIRE(made.ok());
  auto bad = read_uki(slurp(dir / "bad.efi"), "bad.efi");
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.error().message.find("overlap in memory") != std::string::npos);
}
