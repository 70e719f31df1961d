// module_loader_test.cc: load order and options (the finit_module part needs a kernel).
#include "module_loader.h"

#include <doctest/doctest.h>

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

TEST_CASE("absent modules are collected, not fatal to the plan; '-' equals '_'") {
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
