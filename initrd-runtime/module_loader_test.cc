// module_loader_test.cc: load order and options (the finit_module part needs a kernel).
#include "module_loader.h"

#include <doctest/doctest.h>
#include <sys/wait.h>

#include <algorithm>
#include <cerrno>

using namespace zinitrd::rt;

namespace {

zinitrd::BootConfig zfs_config() {
  zinitrd::BootConfig c;
  auto mod = [&](std::string name, std::vector<std::string> deps, std::string opts = {}) {
    c.modules.push_back({name, "/lib/modules/k/" + name + ".ko", std::move(deps), std::move(opts)});
  };
  mod("spl", {}, "spl_taskq_thread_bind=0");
  mod("znvpair", {"spl"});
  mod("zcommon", {"znvpair", "spl"});
  mod("zunicode", {});
  mod("zavl", {"spl"});
  mod("icp", {"spl", "zcommon"});
  mod("zlua", {});
  mod("zzstd", {"spl"});
  mod("zfs", {"spl", "icp", "zavl", "znvpair", "zcommon", "zlua", "zzstd", "zunicode"});
  mod("virtio_blk", {"virtio"});  // virtio is built in: absent from the image
  mod("loop_a", {"loop_b"});      // a cycle must not hang
  mod("loop_b", {"loop_a"});
  return c;
}

std::vector<std::string> names(const ModulePlan& p) {
  std::vector<std::string> out;
  for (auto* m : p.order) out.push_back(m->name);
  return out;
}

}  // namespace

TEST_CASE("dependencies load first, each module once") {
  auto c = zfs_config();
  ModulePlan p = plan_modules(c, {"zfs"});
  CHECK(names(p) == std::vector<std::string>{"spl", "znvpair", "zcommon", "icp", "zavl", "zlua",
                                             "zzstd", "zunicode", "zfs"});
  CHECK(p.absent.empty());
  ModulePlan twice = plan_modules(c, {"zfs", "spl", "zfs"});
  CHECK(twice.order.size() == 9);
}

TEST_CASE("absent modules are collected, not fatal to the plan, '-' equals '_'") {
  auto c = zfs_config();
  ModulePlan p = plan_modules(c, {"virtio-blk", "nosuch"});
  CHECK(names(p) == std::vector<std::string>{"virtio_blk"});
  CHECK(p.absent == std::vector<std::string>{"virtio", "nosuch"});
}

TEST_CASE("dependency cycles are cut") {
  auto c = zfs_config();
  ModulePlan p = plan_modules(c, {"loop_a"});
  CHECK(names(p) == std::vector<std::string>{"loop_b", "loop_a"});
}

TEST_CASE("options: modprobe.d first, the command line after (it wins)") {
  auto c = zfs_config();
  ModuleParams params{{"spl", {"spl_hostid=0x8e9a1a2b", "spl_taskq_thread_bind=1"}}};
  CHECK(module_options(*c.find_module("spl"), params) ==
        "spl_taskq_thread_bind=0 spl_hostid=0x8e9a1a2b spl_taskq_thread_bind=1");
  CHECK(module_options(*c.find_module("zfs"), params).empty());
  CHECK(module_options(*c.find_module("zfs"), {{"zfs", {"zfs_arc_max=1"}}}) == "zfs_arc_max=1");
}

namespace {

// The chain that stopped every SATA, SCSI, USB and NVMe disk on CPUs without PCLMULQDQ:
// sd_mod -> t10_pi -> crc_t10dif, whose softdep pre: crct10dif names crct10dif_pclmul (ENODEV
// there) and crct10dif_generic.
zinitrd::BootConfig scsi_config() {
  zinitrd::BootConfig c;
  auto mod = [&](std::string name, std::vector<std::string> deps, std::vector<std::string> pre = {},
                 std::vector<std::string> post = {}) {
    c.modules.push_back(
        {name, "/m/" + name + ".ko", std::move(deps), "", std::move(pre), std::move(post)});
  };
  mod("crct10dif_common", {});
  mod("crct10dif_pclmul", {"crct10dif_common"});
  mod("crct10dif_generic", {"crct10dif_common"});
  mod("crc_t10dif", {"crct10dif_common"}, {"crct10dif_pclmul", "crct10dif_generic"});
  mod("t10_pi", {"crc_t10dif"});
  mod("scsi_mod", {});
  mod("sd_mod", {"scsi_mod", "t10_pi"});
  mod("broken", {});
  mod("needs_broken", {"broken"});
  mod("with_post", {}, {}, {"broken"});
  mod("ahci", {});
  return c;
}

// A kernel where some modules fail with a given errno; records what was inserted, in order.
struct FakeKernel {
  std::map<std::string, int> fail;
  std::vector<std::string> inserted;
  std::set<std::string> present;
  ModuleKernel get() {
    return ModuleKernel{[this](const zinitrd::BootModule& m, const std::string&) {
                          if (auto it = fail.find(m.name); it != fail.end()) return it->second;
                          inserted.push_back(m.name);
                          present.insert(m.name);
                          return 0;
                        },
                        [this](std::string_view n) { return present.count(std::string(n)) > 0; }};
  }
};

}  // namespace

TEST_CASE("a softdep that fails with ENODEV does not stop the module (modprobe's rule)") {
  auto c = scsi_config();
  FakeKernel k;
  k.fail["crct10dif_pclmul"] = ENODEV;
  ModuleParams params;
  ModuleLoader loader(c, params, {}, {}, k.get());
  LoadReport r = loader.load_report({"sd_mod"}, true);
  CHECK(r.ok());
  CHECK(k.inserted == std::vector<std::string>{"scsi_mod", "crct10dif_common", "crct10dif_generic",
                                               "crc_t10dif", "t10_pi", "sd_mod"});
  REQUIRE(r.notes.size() == 1);
  CHECK(r.notes[0].find("crct10dif_pclmul") != std::string::npos);
  CHECK(r.notes[0].find("crc_t10dif loads without it") != std::string::npos);
}

TEST_CASE("a hard dependency that fails stops the module, other requests still load") {
  auto c = scsi_config();
  FakeKernel k;
  k.fail["broken"] = EINVAL;
  ModuleParams params;
  ModuleLoader loader(c, params, {}, {}, k.get());
  LoadReport r = loader.load_report({"needs_broken", "ahci"});
  CHECK_FALSE(r.ok());
  CHECK_FALSE(r.only_no_device());
  REQUIRE(r.failures.size() == 2);
  CHECK(r.failures[0].module == "broken");
  CHECK(r.failures[1].module == "needs_broken");
  CHECK(r.failures[1].message.find("needs broken") != std::string::npos);
  CHECK(k.inserted == std::vector<std::string>{"ahci"});
  // A post softdep that fails is a note as well.
  LoadReport post = loader.load_report({"with_post"});
  CHECK(post.ok());
  CHECK(k.inserted.back() == "with_post");
}

TEST_CASE("ENODEV of the module itself is a no-device failure, not a broken image") {
  auto c = scsi_config();
  FakeKernel k;
  k.fail["ahci"] = ENODEV;
  ModuleParams params;
  ModuleLoader loader(c, params, {}, {}, k.get());
  LoadReport r = loader.load_report({"ahci"}, true);
  CHECK_FALSE(r.ok());
  CHECK(r.only_no_device());
  CHECK(r.failures[0].message.find("no device or CPU feature") != std::string::npos);
  // Matched again by the next uevent: not retried. Named explicitly: retried.
  k.fail.clear();
  CHECK_FALSE(loader.load_report({"ahci"}, true).ok());
  CHECK(k.inserted.empty());
  CHECK(loader.load({"ahci"}).ok());
  CHECK(k.inserted == std::vector<std::string>{"ahci"});
}

TEST_CASE(
    "blacklists: modprobe.d and modprobe.blacklist= for modaliases, module_blacklist= always") {
  auto c = scsi_config();
  c.blacklist = {"ahci"};
  FakeKernel k;
  ModuleParams params;
  ModuleLoader loader(c, params, {"scsi-mod"}, {"crct10dif_generic"}, k.get());
  CHECK(loader.alias_blacklisted("ahci"));
  CHECK(loader.alias_blacklisted("scsi_mod"));
  LoadReport by_alias = loader.load_report({"ahci", "scsi_mod"}, true);
  CHECK(by_alias.ok());
  CHECK(k.inserted.empty());
  CHECK(by_alias.notes.size() == 2);
  // Named, or needed as a dependency: modprobe loads a blacklisted module all the same...
  CHECK(loader.load({"ahci", "sd_mod"}).ok());
  CHECK(std::find(k.inserted.begin(), k.inserted.end(), "ahci") != k.inserted.end());
  CHECK(std::find(k.inserted.begin(), k.inserted.end(), "scsi_mod") != k.inserted.end());
  // ...but the kernel refuses module_blacklist= names: not even tried (a softdep here).
  CHECK(std::find(k.inserted.begin(), k.inserted.end(), "crct10dif_generic") == k.inserted.end());
}

TEST_CASE("plan order: pre softdeps, hard deps, the module, post softdeps") {
  auto c = scsi_config();
  ModulePlan p = plan_modules(c, {"crc_t10dif", "with_post"});
  CHECK(names(p) == std::vector<std::string>{"crct10dif_common", "crct10dif_pclmul",
                                             "crct10dif_generic", "crc_t10dif", "with_post",
                                             "broken"});
}

TEST_CASE("loads in children: each name in a child, results and counts back in the parent") {
  auto c = scsi_config();
  FakeKernel k;
  k.fail["broken"] = EIO;
  ModuleParams params;
  ModuleLoader loader(c, params, {}, {}, k.get());
  int reports = 0;  // counted in the children: the parent's stays 0
  std::vector<bool> ok;
  for (const char* name : {"sd_mod", "broken", "ahci"}) {
    pid_t pid = loader.spawn_load(name, true, [&](const LoadReport&) { ++reports; });
    REQUIRE(pid > 0);
    int status = 0;
    REQUIRE(::waitpid(pid, &status, 0) == pid);
    ok.push_back(loader.reaped(name, status));
  }
  CHECK(ok == std::vector<bool>{true, false, true});
  CHECK(reports == 0);
  CHECK(loader.loaded_count() == 8);  // sd_mod and its 6 dependencies and softdeps, ahci
  // A failure reported by a child is remembered: a modalias does not try it again.
  LoadReport again = loader.load_report({"broken"}, true);
  REQUIRE(again.failures.size() == 1);
  CHECK(again.failures[0].message.find("earlier in this boot") != std::string::npos);
}

TEST_CASE("modules_loading: the modules /proc/modules shows still in their init") {
  CHECK(modules_loading("sd_mod 69632 0 - Loading 0xffffffffc0a2e000\n"
                        "ahci 49152 0 - Live 0xffffffffc0a1c000\n"
                        "libata 401408 1 ahci, Live 0xffffffffc09b0000\n"
                        "nvme 53248 0 - Loading 0x0000000000000000 (E)\n\n") ==
        std::vector<std::string>{"sd_mod", "nvme"});
  CHECK(modules_loading("").empty());
  CHECK(modules_loading("short line\n").empty());
}
