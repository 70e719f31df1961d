// zfs_cache_writes.cc: the cache directory and the wait for the pools' asynchronous threads.
#include "zfs_cache_writes.h"

#include <dirent.h>

#include <cctype>
#include <memory>

#include "util.h"

namespace zinitrd::rt {

Status prepare_cache_dir(const std::string& dir) { return make_dirs(dir, 0755); }

std::vector<int> tasks_named(const std::string& proc_root, const std::string& comm) {
  std::vector<int> pids;
  std::unique_ptr<DIR, int (*)(DIR*)> dir(::opendir(proc_root.c_str()), ::closedir);
  if (!dir) return pids;
  while (dirent* e = ::readdir(dir.get())) {
    std::string_view name = e->d_name;
    if (name.empty() || name.size() > 9) continue;
    bool numeric = true;
    for (char c : name) numeric = numeric && std::isdigit(static_cast<unsigned char>(c));
    if (!numeric) continue;
    // A task that ends between readdir and the read is simply not counted.
    auto text = read_file(proc_root + "/" + std::string(name) + "/comm", 64);
    if (!text) continue;
    if (trim(*text) == comm) pids.push_back(std::stoi(std::string(name)));
  }
  return pids;
}

AsyncWait wait_for_zfs_async(const std::string& proc_root, int64_t timeout_ms) {
  AsyncWait w;
  const int64_t start = monotonic_ms();
  for (;;) {
    w.still_running = tasks_named(proc_root, kZfsAsyncComm).size();
    w.waited_ms = monotonic_ms() - start;
    if (w.still_running == 0) return w;
    if (w.waited_ms >= timeout_ms) {
      w.finished = false;
      return w;
    }
    sleep_ms(10);
  }
}

}  // namespace zinitrd::rt
