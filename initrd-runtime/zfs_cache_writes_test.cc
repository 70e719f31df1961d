// zfs_cache_writes_test.cc: the cache directory, the /proc scan and the wait, on fixture trees.
#include "zfs_cache_writes.h"

#include <doctest/doctest.h>

#include <filesystem>

#include "test_support.h"
#include "util.h"

namespace fs = std::filesystem;
using namespace zinitrd::rt;
using zinitrd::test::TempDir;

namespace {
struct ProcTree {
  TempDir dir{"zinitrd-proc"};
  fs::path root = dir.path();
  void task(const std::string& pid, const std::string& comm) {
    fs::create_directories(root / pid);
    REQUIRE(write_file((root / pid / "comm").string(), comm + "\n"));
  }
};
}  // namespace

TEST_CASE("tasks_named: exact comm matches among numeric entries only") {
  ProcTree p;
  p.task("1", "init");
  p.task("212", "spa_async");
  p.task("213", "spa_async_x");  // another name that merely starts alike
  p.task("self", "spa_async");   // not a pid
  p.task("77", "txg_sync");
  fs::create_directories(p.root / "90");  // a task gone before its comm could be read
  auto pids = tasks_named(p.root.string(), kZfsAsyncComm);
  REQUIRE(pids.size() == 1);
  CHECK(pids[0] == 212);
  CHECK(tasks_named((p.root / "missing").string(), kZfsAsyncComm).empty());
}

TEST_CASE("wait_for_zfs_async: returns at once with none, times out while one runs") {
  ProcTree p;
  p.task("1", "init");
  AsyncWait none = wait_for_zfs_async(p.root.string(), 1000);
  CHECK(none.finished);
  CHECK(none.waited_ms < 1000);
  p.task("300", "spa_async");
  AsyncWait stuck = wait_for_zfs_async(p.root.string(), 50);
  CHECK_FALSE(stuck.finished);
  CHECK(stuck.still_running == 1);
  CHECK(stuck.waited_ms >= 50);
}

TEST_CASE("prepare_cache_dir: creates the directory and keeps one that exists") {
  TempDir d("zinitrd-etc");
  const std::string dir = (d / "/etc/zfs").string();
  REQUIRE(prepare_cache_dir(dir));
  CHECK(fs::is_directory(dir));
  REQUIRE(write_file(dir + "/zpool.cache", "x"));
  CHECK(prepare_cache_dir(dir));
  CHECK(fs::exists(dir + "/zpool.cache"));
}
