#include "test_support.h"

#include <stdlib.h>

#include <algorithm>
#include <fstream>
#include <sstream>
#include <vector>

namespace fs = std::filesystem;

namespace zinitrd::test {

TempDir::TempDir(std::string_view tag) {
  std::string t = (fs::temp_directory_path() / (std::string(tag) + "-XXXXXX")).string();
  path_ = ::mkdtemp(t.data());
}

TempDir::~TempDir() {
  std::error_code ec;
  fs::remove_all(path_, ec);
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

std::string installed_kver() {
  std::error_code ec;
  std::vector<std::string> found;
  for (fs::directory_iterator it("/lib/modules", ec), end; !ec && it != end; it.increment(ec)) {
    std::string n = it->path().filename().string();
    if (fs::exists(it->path() / "modules.dep") && fs::exists("/boot/vmlinuz-" + n)) found.push_back(n);
  }
  std::sort(found.begin(), found.end());
  return found.empty() ? std::string() : found.back();
}

std::string installed_zfs_ko(const std::string& kver) {
  if (kver.empty()) return "";
  fs::path p = fs::path("/lib/modules") / kver / "updates/dkms/zfs.ko";
  return fs::exists(p) ? p.string() : "";
}

}  // namespace zinitrd::test
