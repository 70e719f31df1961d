// boot_test_report.cc: see boot_test_report.h.
#include "boot_test_report.h"

#include <cstdio>

#include "json.h"

namespace zinitrd::gen {
namespace {

std::string seconds_text(double s) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.2f s", s);
  return buf;
}

void judge_without_verdict(const ConsoleFindings& f, const QemuRun& run, BootTestReport& r) {
  r.console_tail = f.tail;
  r.boot_log = f.zinitrd_lines;  // what reached the console before it stopped
  if (!f.passphrase_prompt.empty()) {
    r.untested = true;
    r.stage = "keys";
    r.summary = "the boot stopped at the console prompt \"" + f.passphrase_prompt +
                "\": a boot test cannot type a passphrase, so it cannot tell whether the root "
                "mounts";
    r.hints.push_back(
        "the lines before the prompt show that the pool was imported; test the rest by booting");
  } else if (run.timed_out) {
    r.stage = "timeout";
    r.summary = "no verdict within " + std::to_string(run.timeout_s) + " s: the boot hung";
    r.hints.push_back(f.tail.empty()
                          ? "the console stayed empty: the kernel did not get as far as its first "
                            "line on ttyS0"
                          : "the console's last lines are below; zinitrd's lines say where it "
                            "stopped");
    r.hints.push_back("under TCG a slow machine may need a longer --timeout");
  } else if (!f.panic.empty()) {
    r.stage = "kernel";
    r.summary = f.panic;
    if (f.panic.find("Unable to mount root fs") != std::string::npos ||
        f.panic.find("No working init found") != std::string::npos)
      r.hints.push_back("the kernel found no /init in the image: check it with `zinitrd ls " +
                        r.image + "` and rebuild it with `zinitrd build --kver " + r.kver + "`");
    else
      r.hints.push_back("the console's last lines below show what the kernel did");
  } else if (run.status != 0 && f.tail.empty()) {
    r.stage = "qemu";
    r.summary = "QEMU did not start the VM (exit code " + std::to_string(run.status) + ")" +
                (run.messages.empty() ? "" : ": " + run.messages);
    r.hints.push_back("the message above is QEMU's; the disks must be readable by this user");
  } else {
    r.stage = "kernel";
    r.summary =
        "the VM stopped without a verdict: the image's /init is not zinitrd's runtime (built with "
        "--init?) or it never started";
    r.hints.push_back("the console's last lines below show how far the boot went");
  }
}

}  // namespace

void judge_boot_test(const ConsoleFindings& f, const QemuRun& run, BootTestReport& r) {
  r.hints.clear();
  if (f.verdict) {
    const BootVerdict& v = *f.verdict;
    r.pass = v.pass;
    r.stage = v.stage;
    r.summary = v.summary;
    r.hints = v.hints;
    r.root = v.root;
    r.init = v.init;
    r.children = v.children;
    r.seconds = v.seconds;
    r.boot_log = f.boot_log.empty() ? f.zinitrd_lines : f.boot_log;
  } else {
    r.pass = false;
    r.untested = false;
    judge_without_verdict(f, run, r);
  }
  r.seconds.emplace_back("qemu", run.seconds);
}

const char* boot_test_result(const BootTestReport& r) {
  return r.pass ? "PASS" : r.untested ? "UNTESTED" : "FAIL";
}

std::string format_boot_test_text(const BootTestReport& r) {
  std::string out = "zinitrd boot-test: kernel " + r.kernel + ", image " + r.image + ", " +
                    std::to_string(r.disks.size()) + (r.disks.size() == 1 ? " disk" : " disks") +
                    " (" + r.bus + ", read-only behind throwaway overlays), " + r.accel + "\n";
  for (const auto& d : r.disks) out += "  disk: " + d + "\n";
  out += "  command line: " + r.cmdline + "\n";
  for (const auto& n : r.notes) out += "  note: " + n + "\n";
  if (!r.boot_log.empty()) {
    out += "boot log:\n";
    for (const auto& l : r.boot_log) out += "  " + l + "\n";
  }
  if (!r.console_tail.empty()) {
    out += "console (last lines):\n";
    for (const auto& l : r.console_tail) out += "  | " + l + "\n";
  }
  std::string times;
  for (const auto& [name, secs] : r.seconds)
    times += (times.empty() ? "" : ", ") + name + " " + seconds_text(secs);
  out += "seconds: " + times + "\n";
  if (r.pass) {
    out += "PASS: " + r.root + " mounted" +
           (r.children ? " with " + std::to_string(r.children) +
                             (r.children == 1 ? " child dataset" : " child datasets")
                       : std::string()) +
           ", " + r.init + " found in it; the boot stopped before switch_root\n";
  } else {
    out += std::string(boot_test_result(r)) + " at stage '" + r.stage + "': " + r.summary + "\n";
    for (const auto& h : r.hints) out += "  try: " + h + "\n";
  }
  return out;
}

std::string format_boot_test_json(const BootTestReport& r) {
  std::string out = "{\"result\":" + json_string(boot_test_result(r)) +
                    ",\"stage\":" + json_string(r.stage) +
                    ",\"summary\":" + json_string(r.summary) + ",\"hints\":" + json_list(r.hints) +
                    ",\"kver\":" + json_string(r.kver) + ",\"kernel\":" + json_string(r.kernel) +
                    ",\"image\":" + json_string(r.image) + ",\"accel\":" + json_string(r.accel) +
                    ",\"bus\":" + json_string(r.bus) + ",\"disks\":" + json_list(r.disks) +
                    ",\"cmdline\":" + json_string(r.cmdline) + ",\"notes\":" + json_list(r.notes) +
                    ",\"root\":" + json_string(r.root) + ",\"init\":" + json_string(r.init) +
                    ",\"children\":" + std::to_string(r.children) + ",\"seconds\":{";
  for (size_t i = 0; i < r.seconds.size(); ++i) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.3f", r.seconds[i].second);
    out += (i ? "," : "") + json_string(r.seconds[i].first) + ":" + buf;
  }
  out += "},\"boot_log\":" + json_list(r.boot_log) +
         ",\"console_tail\":" + json_list(r.console_tail) + "}\n";
  return out;
}

}  // namespace zinitrd::gen
