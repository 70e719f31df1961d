// device_probe_test.cc: reads beside one another, none waited for past its time, each kept.
#include "device_probe.h"

#include <doctest/doctest.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <string>
#include <vector>

#include "test_support.h"
#include "util.h"

using namespace zinitrd::rt;
using zinitrd::test::TempDir;

namespace {

BlockDevice device(const std::string& name, uint64_t size = 1 << 20) {
  BlockDevice d;
  d.name = name;
  d.path = "/dev/" + name;
  d.devnum = "8:" + std::to_string(name.size());
  d.size = size;
  return d;
}

// A reader run by the children: it notes each device it reads in LOG (a file: the children
// share no memory with the test), sleeps SLOW_SECONDS for a device named "slow", and answers
// the device's name and size as its two slots.
DeviceProbe::Reader noting_reader(const std::string& log, int slow_seconds = 30) {
  return [log, slow_seconds](const BlockDevice& d) {
    std::ofstream(log, std::ios::app) << d.name << "\n";
    if (d.name == "slow") ::sleep(static_cast<unsigned>(slow_seconds));
    if (d.name == "dies") ::_exit(1);  // no answer at all: as a child killed in its read
    return std::vector<std::string>{d.name, std::to_string(d.size)};
  };
}

// The devices LOG says were read, sorted: the children run beside one another, in any order.
std::vector<std::string> reads(const std::string& log) {
  auto out = zinitrd::split_words(zinitrd::test::slurp(log), "\n");
  std::sort(out.begin(), out.end());
  return out;
}

std::vector<std::string> names(const std::vector<ProbedDevice>& found) {
  std::vector<std::string> out;
  for (const auto& p : found) out.push_back(p.device.name);
  return out;
}

}  // namespace

TEST_CASE("device probe: every device's slots, in the devices' order, each read once") {
  TempDir dir("device-probe");
  const std::string log = (dir / "log").string();
  DeviceProbe probe(noting_reader(log));
  auto found = probe.read({device("vdb"), device("sda1"), device("nvme0n1")});
  CHECK(names(found) == std::vector<std::string>{"vdb", "sda1", "nvme0n1"});
  REQUIRE(found.size() == 3);
  CHECK(found[1].slots == std::vector<std::string>{"sda1", std::to_string(1 << 20)});
  CHECK(probe.pending().empty());
  // Asked again, with one more: only the new one is read.
  found = probe.read({device("sda1"), device("sdb")});
  CHECK(names(found) == std::vector<std::string>{"sda1", "sdb"});
  CHECK(reads(log) == std::vector<std::string>{"nvme0n1", "sda1", "sdb", "vdb"});
  // Another medium in the same drive (another size) is another device: read again.
  found = probe.read({device("sdb", 2 << 20)});
  REQUIRE(found.size() == 1);
  CHECK(found[0].slots[1] == std::to_string(2 << 20));
  CHECK(reads(log) == std::vector<std::string>{"nvme0n1", "sda1", "sdb", "sdb", "vdb"});
}

TEST_CASE("device probe: a device that does not answer in time holds nobody up, nor twice") {
  TempDir dir("device-probe");
  const std::string log = (dir / "log").string();
  DeviceProbe probe(noting_reader(log), 3000);
  const int64_t t0 = monotonic_ms();
  auto found = probe.read({device("vda"), device("slow"), device("vdb")});
  const int64_t first = monotonic_ms() - t0;
  CHECK(names(found) == std::vector<std::string>{"vda", "vdb"});
  CHECK(probe.pending() == std::vector<std::string>{"/dev/slow"});
  // Its wait is over: a later scan takes what answered and waits for nothing (the child sleeps
  // 30 s; these bounds only tell "waited for it" from "did not").
  CHECK(first < 10'000);
  const int64_t t1 = monotonic_ms();
  found = probe.read({device("vda"), device("slow"), device("vdb")});
  CHECK(monotonic_ms() - t1 < 2000);
  CHECK(names(found) == std::vector<std::string>{"vda", "vdb"});
  // A new device while it is still being read: the new one's read is waited for, not its.
  const int64_t t2 = monotonic_ms();
  found = probe.read({device("slow"), device("vdc")});
  CHECK(monotonic_ms() - t2 < 2000);
  CHECK(names(found) == std::vector<std::string>{"vdc"});
  // Abandoned: named, killed, forgotten; asked again later, it is read anew.
  CHECK(probe.abandon() == std::vector<std::string>{"/dev/slow"});
  CHECK(probe.pending().empty());
  CHECK(probe.abandon().empty());
  (void)probe.read({device("slow")});
  CHECK(reads(log) == std::vector<std::string>{"slow", "slow", "vda", "vdb", "vdc"});
  probe.abandon();
}

TEST_CASE("device probe: a slow device's answer is taken by a later scan") {
  TempDir dir("device-probe");
  DeviceProbe probe(noting_reader((dir / "log").string(), 1), 100);
  auto found = probe.read({device("slow"), device("vda")});
  CHECK(names(found) == std::vector<std::string>{"vda"});
  ::sleep(2);  // the child has answered by now
  found = probe.read({device("slow"), device("vda")});
  CHECK(names(found) == std::vector<std::string>{"slow", "vda"});
  CHECK(probe.pending().empty());
}

TEST_CASE("device probe: a child that dies without answering leaves a device without slots") {
  TempDir dir("device-probe");
  DeviceProbe probe(noting_reader((dir / "log").string()));
  auto found = probe.read({device("dies"), device("vda")});
  REQUIRE(names(found) == std::vector<std::string>{"dies", "vda"});
  CHECK(found[0].slots.empty());
  CHECK(found[1].slots.size() == 2);
}
