// device_probe.cc: parallel, bounded reads of the block devices (see device_probe.h).
#include "device_probe.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "util.h"

namespace zinitrd::rt {
namespace {

// The child's answer on its pipe: per slot, its length (4 bytes, little-endian) and its bytes.
std::string encode(const std::vector<std::string>& slots) {
  std::string out;
  for (const auto& s : slots) {
    const uint32_t n = static_cast<uint32_t>(s.size());
    for (int i = 0; i < 4; ++i) out.push_back(static_cast<char>((n >> (8 * i)) & 0xff));
    out += s;
  }
  return out;
}

// The slots of a complete answer; none when BYTES is cut short (a child killed mid-write).
std::vector<std::string> decode(const std::string& bytes) {
  std::vector<std::string> slots;
  size_t at = 0;
  while (at < bytes.size()) {
    if (bytes.size() - at < 4) return {};
    uint32_t n = 0;
    for (int i = 0; i < 4; ++i)
      n |= static_cast<uint32_t>(static_cast<unsigned char>(bytes[at + i])) << (8 * i);
    at += 4;
    if (bytes.size() - at < n) return {};
    slots.push_back(bytes.substr(at, n));
    at += n;
  }
  return slots;
}

void write_all(int fd, const std::string& s) {
  size_t done = 0;
  while (done < s.size()) {
    ssize_t n = ::write(fd, s.data() + done, s.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;
    done += static_cast<size_t>(n);
  }
}

}  // namespace

DeviceProbe::DeviceProbe(Reader reader, int64_t wait_ms)
    : reader_(std::move(reader)), wait_ms_(wait_ms) {}

DeviceProbe::~DeviceProbe() { abandon(); }

DeviceProbe::Entry* DeviceProbe::find(const BlockDevice& d) {
  for (auto& e : entries_)
    if (e.path == d.path && e.devnum == d.devnum && e.size == d.size) return &e;
  return nullptr;
}

void DeviceProbe::start(const BlockDevice& d) {
  Entry e;
  e.path = d.path;
  e.devnum = d.devnum;
  e.size = d.size;
  e.started_ms = monotonic_ms();
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) {  // no pipe: read here, as before there were children
    e.slots = reader_(d);
    entries_.push_back(std::move(e));
    return;
  }
  pid_t pid = ::fork();
  if (pid == 0) {
    ::close(fds[0]);
    write_all(fds[1], encode(reader_(d)));
    ::_exit(0);
  }
  ::close(fds[1]);
  if (pid < 0) {
    ::close(fds[0]);
    e.slots = reader_(d);
  } else {
    e.pid = pid;
    e.pipe = Fd(fds[0]);
  }
  entries_.push_back(std::move(e));
}

void DeviceProbe::finish(Entry& e) {
  e.pipe = Fd();
  e.slots = decode(e.bytes);
  e.bytes.clear();
  if (e.pid > 0) {
    int status;
    while (::waitpid(e.pid, &status, 0) < 0 && errno == EINTR) {
    }
    e.pid = -1;
  }
}

void DeviceProbe::collect(int64_t until_ms) {
  for (;;) {
    std::vector<pollfd> fds;
    std::vector<Entry*> owners;
    for (auto& e : entries_)
      if (e.pipe.valid()) {
        fds.push_back({e.pipe.get(), POLLIN, 0});
        owners.push_back(&e);
      }
    if (fds.empty()) return;
    // Reads past their own time (a dying disk) are taken when they end, never waited for.
    const int64_t now = monotonic_ms();
    const bool in_time = std::any_of(owners.begin(), owners.end(), [&](const Entry* e) {
      return e->started_ms + wait_ms_ > now;
    });
    const int64_t left = in_time ? until_ms - now : 0;
    int n = ::poll(fds.data(), fds.size(), static_cast<int>(std::max<int64_t>(left, 0)));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;  // the wait is over (or poll failed): the rest stay under way
    for (size_t i = 0; i < fds.size(); ++i) {
      if (!fds[i].revents) continue;
      Entry& e = *owners[i];
      char buf[16 << 10];
      ssize_t got = ::read(e.pipe.get(), buf, sizeof buf);
      if (got < 0 && errno == EINTR) continue;
      if (got > 0) {
        e.bytes.append(buf, static_cast<size_t>(got));
        continue;
      }
      finish(e);  // end of file: the child is done (or died)
    }
  }
}

std::vector<ProbedDevice> DeviceProbe::read(const std::vector<BlockDevice>& devices) {
  for (const auto& d : devices)
    if (!find(d)) start(d);
  // Wait for the reads of these devices that are still within their time, no longer.
  int64_t until = 0;
  for (const auto& d : devices)
    if (Entry* e = find(d); e && e->pipe.valid()) until = std::max(until, e->started_ms + wait_ms_);
  if (until > 0) collect(until);
  std::vector<ProbedDevice> out;
  for (const auto& d : devices)
    if (Entry* e = find(d); e && !e->pipe.valid()) out.push_back({d, e->slots});
  // An answer of nothing (the device could not be opened, or its child died) is not kept: the
  // next scan reads the device again.
  entries_.erase(std::remove_if(entries_.begin(), entries_.end(),
                                [](const Entry& e) {
                                  return !e.pipe.valid() && e.pid <= 0 && e.slots.empty();
                                }),
                 entries_.end());
  return out;
}

std::vector<std::string> DeviceProbe::pending() const {
  std::vector<std::string> out;
  for (const auto& e : entries_)
    if (e.pipe.valid()) out.push_back(e.path);
  std::sort(out.begin(), out.end());
  return out;
}

std::vector<std::string> DeviceProbe::abandon() {
  collect(0);  // what ended meanwhile is an answer, not a stray
  std::vector<std::string> out;
  for (auto& e : entries_) {
    if (!e.pipe.valid()) continue;
    if (e.pid > 0) ::kill(e.pid, SIGKILL);  // reaped by whoever reaps PID 1's children next
    out.push_back(e.path);
    e.pipe = Fd();
  }
  // Forgotten: an abandoned read is the only entry left with a child and no pipe.
  entries_.erase(std::remove_if(entries_.begin(), entries_.end(),
                                [](const Entry& e) { return e.pid > 0 && !e.pipe.valid(); }),
                 entries_.end());
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace zinitrd::rt
