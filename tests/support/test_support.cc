#include "test_support.h"

#include <fcntl.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <vector>

namespace fs = std::filesystem;

namespace zinitrd::test {

ChildEnd run_in_child(const std::function<void()>& body) {
  int p[2];
  REQUIRE(::pipe2(p, O_CLOEXEC) == 0);
  pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    ::dup2(p[1], 2);
    body();
    ::_exit(0);
  }
  ::close(p[1]);
  ChildEnd end;
  char buf[4096];
  for (ssize_t n; (n = ::read(p[0], buf, sizeof buf)) > 0;) end.err.append(buf, size_t(n));
  ::close(p[0]);
  int status = 0;
  REQUIRE(::waitpid(pid, &status, 0) == pid);
  if (WIFEXITED(status)) end.exit_code = WEXITSTATUS(status);
  if (WIFSIGNALED(status)) end.signal = WTERMSIG(status);
  return end;
}

TempDir::TempDir(std::string_view tag) {
  std::string t = (fs::temp_directory_path() / (std::string(tag) + "-XXXXXX")).string();
  const char* made = ::mkdtemp(t.data());
  int err = errno;
  REQUIRE_MESSAGE(made != nullptr, "mkdtemp '" << t << "': " << std::strerror(err));
  path_ = made;
}

TempDir::~TempDir() {
  std::error_code ec;
  fs::remove_all(path_, ec);
}

fs::path TempDir::operator/(std::string_view rel) const {
  while (rel.starts_with('/')) rel.remove_prefix(1);
  return path_ / rel;
}

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void write_file(const fs::path& p, std::string_view text) {
  if (p.has_parent_path()) fs::create_directories(p.parent_path());
  std::ofstream(p, std::ios::binary) << text;
}

void write_symlink(const fs::path& link, const std::string& target) {
  if (link.has_parent_path()) fs::create_directories(link.parent_path());
  int rc = ::symlink(target.c_str(), link.c_str());
  int err = errno;
  REQUIRE_MESSAGE(rc == 0, "symlink '" << link.string() << "': " << std::strerror(err));
}

std::vector<std::string> installed_module_kvers() {
  std::error_code ec;
  std::vector<std::string> found;
  for (fs::directory_iterator it("/lib/modules", ec), end; !ec && it != end; it.increment(ec))
    if (fs::exists(it->path() / "modules.dep")) found.push_back(it->path().filename().string());
  std::sort(found.begin(), found.end());
  return found;
}

std::string installed_kver() {
  std::vector<std::string> all = installed_module_kvers();
  for (auto it = all.rbegin(); it != all.rend(); ++it)
    if (fs::exists("/boot/vmlinuz-" + *it)) return *it;
  return "";
}

std::string installed_zfs_ko(const std::string& kver) {
  if (kver.empty()) return "";
  fs::path p = fs::path("/lib/modules") / kver / "updates/dkms/zfs.ko";
  return fs::exists(p) ? p.string() : "";
}

}  // namespace zinitrd::test
