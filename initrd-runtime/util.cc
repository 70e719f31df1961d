// util.cc: string and file-system helpers (see util.h).
#include "util.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>

#include "fd.h"
#include "hex.h"

namespace zinitrd::rt {

std::string to_lower(std::string_view s) {
  std::string out(s);
  for (char& c : out)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return out;
}

std::string format_seconds(int64_t ms) {
  if (ms < 0) ms = 0;
  char buf[32];
  snprintf(buf, sizeof buf, "%lld.%02llds", static_cast<long long>(ms / 1000),
           static_cast<long long>((ms % 1000) / 10));
  return buf;
}

Result<std::string> read_file(const std::string& path, size_t max) {
  Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) return Error::sys("open", path, errno);
  std::string out;
  char buf[8192];
  while (out.size() < max) {
    ssize_t n = ::read(fd.get(), buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      return Error::sys("read", path, errno);
    }
    if (n == 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  if (out.size() > max) out.resize(max);
  return out;
}

Status write_file(const std::string& path, std::string_view data, unsigned mode) {
  Fd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode));
  if (!fd.valid()) return Error::sys("open", path, errno);
  while (!data.empty()) {
    ssize_t n = ::write(fd.get(), data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return Error::sys("write", path, errno);
    }
    data.remove_prefix(static_cast<size_t>(n));
  }
  return Ok{};
}

Status make_dirs(const std::string& path, unsigned mode) {
  std::string cur;
  for (const auto& part : split_all(path, '/')) {
    if (part.empty()) {
      if (cur.empty()) cur = "/";
      continue;
    }
    if (!cur.empty() && cur.back() != '/') cur += '/';
    cur += part;
    if (::mkdir(cur.c_str(), mode) != 0 && errno != EEXIST) return Error::sys("mkdir", cur, errno);
  }
  return Ok{};
}

bool path_exists(const std::string& path) {
  struct stat st;
  return ::lstat(path.c_str(), &st) == 0;
}

bool is_executable(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode) && (st.st_mode & 0111) != 0;
}

bool is_mount_point(const std::string& path) {
  struct stat st, parent;
  if (::stat(path.c_str(), &st) != 0) return false;
  std::string up = path + "/..";
  if (::stat(up.c_str(), &parent) != 0) return false;
  if (st.st_dev != parent.st_dev) return true;
  return st.st_ino == parent.st_ino;  // "/" is its own parent
}

std::string find_program(std::string_view name, std::string_view dirs) {
  if (name.find('/') != std::string_view::npos) {
    std::string p(name);
    return is_executable(p) ? p : std::string();
  }
  for (const auto& dir : split_all(dirs, ':')) {
    if (dir.empty()) continue;
    std::string p = dir + "/" + std::string(name);
    if (is_executable(p)) return p;
  }
  return {};
}

int64_t monotonic_ms() {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000 + ts.tv_nsec / 1000000;
}

void sleep_ms(int64_t ms) {
  if (ms <= 0) return;
  struct timespec ts {
    static_cast<time_t>(ms / 1000), static_cast<long>((ms % 1000) * 1000000)
  };
  while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
  }
}

std::string format_hostid(uint32_t hostid) {
  char buf[16];
  snprintf(buf, sizeof buf, "%08x", hostid);
  return buf;
}

bool parse_hostid(std::string_view s, uint32_t& out) {
  if (s.size() > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) s.remove_prefix(2);
  if (s.empty() || s.size() > 8) return false;
  uint32_t v = 0;
  for (char c : s) {
    int d = hex_digit(c);
    if (d < 0) return false;
    v = (v << 4) | static_cast<uint32_t>(d);
  }
  out = v;
  return true;
}

}  // namespace zinitrd::rt
