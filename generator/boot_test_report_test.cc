// boot_test_report_test.cc: judging a boot test from its console, and its two report formats.
#include "boot_test_report.h"

#include <doctest/doctest.h>

using namespace zinitrd;
using namespace zinitrd::gen;

namespace {

BootTestReport context() {
  BootTestReport r;
  r.kver = "6.1.0-57-amd64";
  r.kernel = "/boot/vmlinuz-6.1.0-57-amd64";
  r.image = "/boot/initrd.img-6.1.0-57-amd64";
  r.accel = "TCG";
  r.bus = "virtio-blk";
  r.disks = {"/dev/sda3"};
  r.cmdline = "root=zfs:rpool/ROOT/debian console=ttyS0 panic=-1 zinitrd.boot_test=1";
  return r;
}

bool has(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

}  // namespace

TEST_CASE("boot-test report: PASS from the runtime's verdict, with the stage times") {
  ConsoleFindings f = read_console(
      "ZINITRD-BOOT-LOG [    2.499000] zinitrd 0.1.0 starting\n"
      "ZINITRD-BOOT-VERDICT result=PASS stage=switch_root root=rpool/ROOT/debian "
      "init=/sbin/init children=1 t.kernel=2.499 t.modules=1.160 t.import=1.425 t.mount=0.235 "
      "t.total=5.365\n");
  BootTestReport r = context();
  judge_boot_test(f, QemuRun{0, false, 300, "", 8.76}, r);
  CHECK(r.pass);
  CHECK(r.stage == "switch_root");
  CHECK(r.seconds.back() == std::pair<std::string, double>("qemu", 8.76));
  std::string text = format_boot_test_text(r);
  CHECK(has(text, "boot log:\n  [    2.499000] zinitrd 0.1.0 starting\n"));
  CHECK(has(text,
            "seconds: kernel 2.50 s, modules 1.16 s, import 1.43 s, mount 0.23 s, total "
            "5.37 s, qemu 8.76 s\n"));
  CHECK(has(text,
            "\nPASS: rpool/ROOT/debian mounted with 1 child dataset, /sbin/init found in it; the "
            "boot stopped before switch_root\n"));
  std::string json = format_boot_test_json(r);
  CHECK(has(json, "{\"result\":\"PASS\",\"stage\":\"switch_root\","));
  CHECK(has(json, "\"seconds\":{\"kernel\":2.499,"));
  CHECK(has(json, "\"qemu\":8.760}"));
  CHECK(has(json, "\"boot_log\":[\"[    2.499000] zinitrd 0.1.0 starting\"]"));
}

TEST_CASE("boot-test report: FAIL at the runtime's stage, with its hints last") {
  ConsoleFindings f = read_console(
      "ZINITRD-BOOT-VERDICT result=FAIL stage=import summary=cannot%20import%20'fpool' "
      "hint=boot%20with%20zfs_force=1 t.modules=1.0\n");
  BootTestReport r = context();
  judge_boot_test(f, QemuRun{0, false, 300, "", 9}, r);
  CHECK_FALSE(r.pass);
  CHECK(r.stage == "import");
  std::string text = format_boot_test_text(r);
  CHECK(has(text, "FAIL at stage 'import': cannot import 'fpool'\n  try: boot with zfs_force=1\n"));
  const std::string last = "  try: boot with zfs_force=1\n";
  CHECK(text.substr(text.size() - last.size()) == last);
  CHECK(has(format_boot_test_json(r), "\"hints\":[\"boot with zfs_force=1\"]"));
}

TEST_CASE("boot-test report: no verdict: timeout, kernel panic, QEMU failure, another /init") {
  BootTestReport r = context();
  judge_boot_test(read_console("zinitrd: waiting for the disks\nlast words\n"),
                  QemuRun{124, true, 60, "", 60}, r);
  CHECK(r.stage == "timeout");
  CHECK(has(r.summary, "within 60 s"));
  CHECK(r.boot_log == std::vector<std::string>{"waiting for the disks"});
  CHECK(has(format_boot_test_text(r), "console (last lines):\n  | zinitrd: waiting"));
  CHECK(has(format_boot_test_text(r), "try: the console's last lines are below"));
  // Killed before the kernel's first console line: the hint does not point at missing lines.
  r = context();
  judge_boot_test(read_console(""), QemuRun{137, true, 6, "", 6}, r);
  CHECK(r.stage == "timeout");
  CHECK(has(format_boot_test_text(r), "try: the console stayed empty"));
  CHECK_FALSE(has(format_boot_test_text(r), "console (last lines)"));

  r = context();
  judge_boot_test(
      read_console("[ 1.0] Kernel panic - not syncing: No working init found.  Try passing "
                   "init= option to kernel.\n"),
      QemuRun{0, false, 60, "", 3}, r);
  CHECK(r.stage == "kernel");
  CHECK(has(r.summary, "No working init found"));
  REQUIRE(r.hints.size() == 1);
  CHECK(has(r.hints[0], "zinitrd ls /boot/initrd.img-6.1.0-57-amd64"));

  r = context();
  judge_boot_test(read_console(""),
                  QemuRun{1, false, 60, "qemu-system-x86_64: Could not open '/dev/sda3'", 0.1}, r);
  CHECK(r.stage == "qemu");
  CHECK(has(r.summary, "exit code 1): qemu-system-x86_64: Could not open"));

  r = context();
  judge_boot_test(read_console("[ 1.0] reboot: Power down\n"), QemuRun{0, false, 60, "", 2}, r);
  CHECK(r.stage == "kernel");
  CHECK(has(r.summary, "not zinitrd's runtime"));
}

TEST_CASE("boot-test report: JSON escapes quotes, control characters and non-ASCII bytes") {
  BootTestReport r = context();
  r.summary = "a \"b\"\\\n\t\x01\xc3\xa9\xe9";  // UTF-8 é kept, a Latin-1 é escaped
  std::string json = format_boot_test_json(r);
  CHECK(has(json, "\"summary\":\"a \\\"b\\\"\\\\\\n\\t\\u0001\xc3\xa9\\u00e9\""));
}

TEST_CASE("boot-test report: a passphrase prompt the console ends with is UNTESTED, not FAIL") {
  ConsoleFindings f = read_console(
      "[ 19.1] zinitrd: imported pool 'cpool' (GUID 3523132057368793697)\n"
      "Enter passphrase for 'cpool/ROOT/pass' (try 1 of 3): [   29.454110] hrtimer: interrupt "
      "took 15630040 ns\n");
  CHECK(f.passphrase_prompt == "Enter passphrase for 'cpool/ROOT/pass' (try 1 of 3)");
  BootTestReport r = context();
  judge_boot_test(f, QemuRun{124, true, 90, "", 90}, r);
  CHECK_FALSE(r.pass);
  CHECK(r.untested);
  CHECK(r.stage == "keys");
  CHECK(std::string(boot_test_result(r)) == "UNTESTED");
  CHECK(has(format_boot_test_text(r),
            "\nUNTESTED at stage 'keys': the boot stopped at the console prompt \"Enter passphrase "
            "for 'cpool/ROOT/pass' (try 1 of 3)\": a boot test cannot type a passphrase"));
  CHECK(has(format_boot_test_json(r), "{\"result\":\"UNTESTED\",\"stage\":\"keys\""));
  // A verdict after a prompt (wrong passphrases ran out) is the verdict.
  f = read_console(
      "Enter passphrase for 'cpool/ROOT/pass' (try 3 of 3):\n"
      "ZINITRD-BOOT-VERDICT result=FAIL stage=mount summary=no%20key\n");
  CHECK(f.passphrase_prompt.empty());
  r = context();
  judge_boot_test(f, QemuRun{0, false, 90, "", 20}, r);
  CHECK(std::string(boot_test_result(r)) == "FAIL");
}
