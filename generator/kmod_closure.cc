// kmod_closure.cc: the kernel-module pass, on libkmod.
//
// One kmod_ctx is opened on ROOT/lib/modules/KVER with ROOT's modprobe.d directories (never the
// host's) and its indexes are loaded once (kmod_load_resources), so every lookup afterwards is an
// mmap'd index search. resolve() walks the requests depth first, visiting each module once
// (a hash map keyed by normalised name), reads each module's .modinfo once (vermagic, firmware,
// alias), then emits the modules in a deterministic topological order.
//
// Two libkmod behaviours are worked around on purpose:
//  - kmod_config_new() also parses the *host's* /proc/cmdline and turns `mod.param=value` into
//    module options and `modprobe.blacklist=` into blacklist entries. Those belong to the running
//    boot, not to the image (the runtime re-reads the command line of the boot it serves), so they
//    are removed from kmod_module_get_options() and from the blacklist.
//  - kmod_module_get_softdeps() silently drops softdep names that resolve to nothing; the softdep
//    table is read through kmod_config_get_softdeps() instead (same data, same first-match rule)
//    so that a missing softdep can be reported as a warning.
#include "kmod_closure.h"

#include <fnmatch.h>
#include <libkmod.h>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <set>
#include <sstream>
#include <unordered_map>
#include <unordered_set>

#include "boot_config.h"
#include "module_file.h"
#include "text.h"

namespace zinitrd::gen {
namespace {

struct CtxDeleter {
  void operator()(kmod_ctx* c) const { kmod_unref(c); }
};
struct ModuleDeleter {
  void operator()(kmod_module* m) const { kmod_module_unref(m); }
};
struct ListDeleter {
  void operator()(kmod_list* l) const { kmod_module_unref_list(l); }
};
struct InfoListDeleter {
  void operator()(kmod_list* l) const { kmod_module_info_free_list(l); }
};
struct ConfigIterDeleter {
  void operator()(kmod_config_iter* i) const { kmod_config_iter_free_iter(i); }
};
using CtxPtr = std::unique_ptr<kmod_ctx, CtxDeleter>;
using ModulePtr = std::unique_ptr<kmod_module, ModuleDeleter>;
using ListPtr = std::unique_ptr<kmod_list, ListDeleter>;
using InfoListPtr = std::unique_ptr<kmod_list, InfoListDeleter>;
using ConfigIterPtr = std::unique_ptr<kmod_config_iter, ConfigIterDeleter>;

// Replaces every "{kver}" in TEXT.
std::string expand_kver(std::string_view text, std::string_view kver) {
  std::string out;
  size_t i = 0;
  while (true) {
    size_t j = text.find("{kver}", i);
    out += text.substr(i, j == std::string_view::npos ? std::string_view::npos : j - i);
    if (j == std::string_view::npos) break;
    out += kver;
    i = j + 6;
  }
  return out;
}

// Splits an option string on blanks, keeping double-quoted runs together (as the kernel does).
std::vector<std::string> split_options(std::string_view s) {
  std::vector<std::string> out;
  std::string cur;
  bool quoted = false;
  for (char c : s) {
    if (c == '"') quoted = !quoted;
    if (!quoted && (c == ' ' || c == '\t' || c == '\n')) {
      if (!cur.empty()) out.push_back(std::move(cur));
      cur.clear();
      continue;
    }
    cur += c;
  }
  if (!cur.empty()) out.push_back(std::move(cur));
  return out;
}

// `MODULE.param=value` words of the host's kernel command line, by normalised module name: what
// libkmod mixes into every module's options (see the file comment).
std::unordered_map<std::string, std::vector<std::string>> host_cmdline_options() {
  std::unordered_map<std::string, std::vector<std::string>> out;
  std::ifstream in("/proc/cmdline");
  std::string line;
  std::getline(in, line);
  for (const std::string& word : split_options(line)) {
    if (word == "--") break;  // the rest belongs to init
    size_t dot = word.find('.');
    size_t eq = word.find('=');
    if (dot == std::string::npos || dot == 0 || (eq != std::string::npos && eq < dot)) continue;
    std::string mod = normalize_module_name(std::string_view(word).substr(0, dot));
    out[mod].push_back(word.substr(dot + 1));
  }
  return out;
}

// "name.ko", "name.ko.xz" ... -> "name" (normalised); empty when FILE is not a module.
std::string module_name_from_file(std::string_view file) {
  size_t k = file.find(".ko");
  if (k == std::string_view::npos || k == 0) return {};
  std::string_view rest = file.substr(k + 3);
  if (!rest.empty() && rest != ".xz" && rest != ".zst" && rest != ".gz") return {};
  return normalize_module_name(file.substr(0, k));
}

void kmod_log_sink(void* data, int priority, const char* /*file*/, int /*line*/, const char* fn,
                   const char* format, va_list args) {
  if (priority > 3) return;  // LOG_ERR and worse only
  char buf[1024];
  std::vsnprintf(buf, sizeof buf, format, args);
  std::string msg = std::string("libkmod (") + fn + "): " + buf;
  while (!msg.empty() && msg.back() == '\n') msg.pop_back();
  static_cast<std::vector<std::string>*>(data)->push_back(std::move(msg));
}

}  // namespace

struct KmodClosure::Impl {
  Impl(const RootFs& r, std::string k) : root(r), kver(std::move(k)) {}

  RootFs root;
  std::string kver;
  std::string modules_host_dir;       // host path of the (resolved) modules dir, no trailing '/'
  std::string modules_root_dir;       // "/lib/modules/KVER": how paths appear in the image
  std::vector<std::string> kmod_log;  // must outlive ctx (it is the log sink's data)
  CtxPtr ctx;
  std::unordered_set<std::string> builtin;  // from modules.builtin
  struct Softdep {
    std::string pattern;
    std::vector<std::string> pre, post;
  };
  std::vector<Softdep> softdeps;
  std::vector<std::string> blacklist;  // modprobe.d `blacklist` lines, normalised, sorted
  std::unordered_map<std::string, std::vector<std::string>> cmdline_options;

  std::vector<KmodRequest> requests;
  struct DirRequest {
    std::string subdir, requested_by;
    std::optional<std::unordered_set<std::string>> only;  // none: every module of the directory
  };
  std::vector<DirRequest> dir_requests;
  std::vector<std::string> needing_stack;  // directory modules left out: "name (stack module)"
  std::vector<std::string> excluded_dirs;  // relative to the modules dir, ending in '/'
  std::unordered_set<std::string> excluded_names;  // normalised module names
  std::vector<std::string> stack_dirs;             // exclude_needing(): relative, ending in '/'
  std::unordered_set<std::string> stack_names;     // exclude_needing(): normalised names

  // One included module while resolving.
  struct Node {
    std::string name;
    std::string host_path;
    std::string root_path;
    std::vector<std::string> deps;  // hard dependencies (modules.dep), by name
    std::vector<std::string> pre;   // softdep pre: loaded first when they can be
    std::vector<std::string> post;  // softdep post: loaded after when they can be
    std::string options;
    std::vector<std::string> aliases, firmware;
    std::string vermagic;
    bool required = false;  // reached from a required request
    int origin = -1;        // index of the first request reaching it (-1: directory)
    std::string problem;    // non-empty: unusable (bad vermagic, unreadable)
    bool dropped = false;
  };
  std::unordered_map<std::string, Node> nodes;

  // Result of looking a name or alias up.
  struct Lookup {
    std::vector<std::string> modules;  // names of real modules (each a node)
    std::vector<std::string> builtin;  // names of built-in modules
  };
  std::unordered_map<std::string, Lookup> lookup_cache;

  ModuleClosure out;

  std::string in_root(const char* host) const {
    std::string_view p(host);
    if (p.starts_with(modules_host_dir) && p.size() > modules_host_dir.size() &&
        p[modules_host_dir.size()] == '/')
      return modules_root_dir + std::string(p.substr(modules_host_dir.size()));
    if (!root.is_host() && p.starts_with(root.root()))
      return std::string(p.substr(root.root().size()));
    return std::string(p);
  }

  void load_builtin() { builtin = builtin_modules(root, modules_root_dir); }

  void load_softdeps() {
    ConfigIterPtr it(kmod_config_get_softdeps(ctx.get()));
    if (!it) return;
    while (kmod_config_iter_next(it.get())) {
      Softdep sd;
      sd.pattern = kmod_config_iter_get_key(it.get());
      std::vector<std::string>* into = nullptr;
      for (std::string& word : split_options(kmod_config_iter_get_value(it.get()))) {
        // kmod 30 prints "pre: a bpost: c" (no blank before "post:" when both lists exist);
        // module names never contain ':', so a word ending in "post:" is NAME + "post:".
        if (word.size() > 5 && word.ends_with("post:") && into) {
          into->push_back(word.substr(0, word.size() - 5));
          word = "post:";
        }
        if (word == "pre:") {
          into = &sd.pre;
        } else if (word == "post:") {
          into = &sd.post;
        } else if (into) {
          into->push_back(std::move(word));
        }
      }
      softdeps.push_back(std::move(sd));
    }
  }

  void load_blacklist() {
    ConfigIterPtr it(kmod_config_get_blacklists(ctx.get()));
    if (!it) return;
    // libkmod adds the host's `modprobe.blacklist=` words (see the file comment): not ROOT's.
    std::unordered_set<std::string> host;
    if (auto c = cmdline_options.find("modprobe"); c != cmdline_options.end())
      for (const std::string& w : c->second)
        if (w.starts_with("blacklist="))
          for (size_t i = 10; i <= w.size();) {
            size_t comma = std::min(w.find(',', i), w.size());
            if (comma > i) host.insert(normalize_module_name(w.substr(i, comma - i)));
            i = comma + 1;
          }
    while (kmod_config_iter_next(it.get())) {
      std::string name = normalize_module_name(kmod_config_iter_get_key(it.get()));
      if (!host.count(name)) blacklist.push_back(std::move(name));
    }
    std::sort(blacklist.begin(), blacklist.end());
    blacklist.erase(std::unique(blacklist.begin(), blacklist.end()), blacklist.end());
  }

  // modprobe.d options of MODULE, minus what libkmod took from the host's command line.
  std::string options_of(kmod_module* mod, const std::string& name) const {
    const char* raw = kmod_module_get_options(mod);
    if (!raw) return {};
    std::vector<std::string> words = split_options(raw);
    if (auto it = cmdline_options.find(name); it != cmdline_options.end()) {
      for (const std::string& w : it->second) {
        auto pos = std::find(words.begin(), words.end(), w);
        if (pos != words.end()) words.erase(pos);
      }
    }
    return join(words, " ");
  }

  const Lookup& lookup(const std::string& name) {
    if (auto it = lookup_cache.find(name); it != lookup_cache.end()) return it->second;
    Lookup result;
    kmod_list* raw = nullptr;
    int err = kmod_module_new_from_lookup(ctx.get(), name.c_str(), &raw);
    ListPtr list(raw);
    if (err >= 0) {
      for (kmod_list* l = list.get(); l; l = kmod_list_next(list.get(), l)) {
        ModulePtr mod(kmod_module_get_module(l));
        std::string mname = kmod_module_get_name(mod.get());
        if (kmod_module_get_path(mod.get()) == nullptr) {
          // Not in modules.dep: built-in (modules.builtin, or its alias index), else unusable.
          if (builtin.count(mname)) result.builtin.push_back(mname);
          continue;
        }
        if (kmod_module_get_install_commands(mod.get()))
          out.warnings.push_back("modprobe.d has an `install` command for " + mname +
                                 "; it is not run in the image (the module is loaded directly)");
        add_node(mod.get());
        result.modules.push_back(std::move(mname));
      }
    }
    return lookup_cache.emplace(name, std::move(result)).first->second;
  }

  // Creates the node of MOD (once) and its whole dependency closure.
  Node& add_node(kmod_module* mod) {
    std::string name = kmod_module_get_name(mod);
    if (auto it = nodes.find(name); it != nodes.end()) return it->second;
    Node& n = nodes[name];
    n.name = name;
    n.host_path = kmod_module_get_path(mod);
    n.root_path = in_root(n.host_path.c_str());
    n.options = options_of(mod, name);

    const size_t logged = kmod_log.size();
    ListPtr deps(kmod_module_get_dependencies(mod));
    // libkmod leaves out (and only logs) a dependency whose file it cannot stat, e.g. a dangling
    // symlink: without it the module would not load at boot, so the module cannot be used.
    for (size_t i = logged; i < kmod_log.size(); ++i)
      if (kmod_log[i].find("kmod_module_parse_depline") != std::string::npos) {
        size_t at = kmod_log[i].find(" path=");
        std::string what =
            at == std::string::npos ? kmod_log[i] : in_root(kmod_log[i].c_str() + at + 6);
        n.problem = "a dependency of " + n.root_path + " cannot be read (" + what +
                    "); run `depmod " + kver + "` if it was removed";
      }
    std::vector<std::string> dep_names;
    for (kmod_list* l = deps.get(); l; l = kmod_list_next(deps.get(), l)) {
      ModulePtr dep(kmod_module_get_module(l));
      dep_names.push_back(kmod_module_get_name(dep.get()));
      if (kmod_module_get_path(dep.get()) == nullptr) {
        out.missing.push_back(name + " depends on " + dep_names.back() +
                              ", which modules.dep does not list: run `depmod " + kver + "`");
        dep_names.pop_back();
        continue;
      }
      add_node(dep.get());
    }
    // Softdeps: the first matching entry only, like modprobe.
    std::vector<std::string> pre_names, post_names;
    for (const Softdep& sd : softdeps) {
      if (fnmatch(sd.pattern.c_str(), name.c_str(), 0) != 0) continue;
      for (const auto& [names, into] :
           {std::pair{&sd.pre, &pre_names}, std::pair{&sd.post, &post_names}}) {
        for (const std::string& s : *names) {
          const Lookup& r = lookup(s);
          if (r.modules.empty() && r.builtin.empty())
            out.warnings.push_back("softdep " + s + " of " + name + " not found for " + kver +
                                   ", skipped");
          for (const auto& m : r.modules)
            if (m != name) into->push_back(m);
        }
      }
      break;
    }
    // `nodes` may have rehashed meanwhile, but references to its elements stay valid. A softdep
    // that is also a hard dependency is a hard dependency.
    for (auto* soft : {&pre_names, &post_names}) {
      std::vector<std::string> kept;
      for (auto& p : *soft)
        if (std::find(dep_names.begin(), dep_names.end(), p) == dep_names.end() &&
            std::find(kept.begin(), kept.end(), p) == kept.end())
          kept.push_back(std::move(p));
      *soft = std::move(kept);
    }
    n.deps = std::move(dep_names);
    n.pre = std::move(pre_names);
    n.post = std::move(post_names);
    if (n.problem.empty()) read_modinfo(n, mod);
    return n;
  }

  // .modinfo of an uncompressed module through libkmod (an mmap): false with n.problem set.
  bool read_modinfo_libkmod(Node& n, kmod_module* mod,
                            std::vector<std::pair<std::string, std::string>>& records) {
    // libkmod opens the module at its host path and would follow an absolute symlink there to the
    // host's file: under --root, a module reached through symlinks is read at its in-root target,
    // through a module object of a scratch context (ctx already has one of that name).
    CtxPtr scratch;
    ModulePtr target;
    if (!root.is_host()) {
      auto resolved = root.resolve(n.root_path);
      if (!resolved) {
        n.problem = n.root_path + " cannot be read: " + resolved.error().message +
                    " (run `depmod " + kver + "` if it was removed)";
        return false;
      }
      static const char* const kNoConfig[] = {nullptr};
      kmod_module* raw_target = nullptr;
      if (!resolved->links.empty() && (scratch.reset(kmod_new(nullptr, kNoConfig)), scratch) &&
          kmod_module_new_from_path(scratch.get(), root.host_path(resolved->path).c_str(),
                                    &raw_target) == 0) {
        target.reset(raw_target);
        mod = target.get();
      }
    }
    kmod_list* raw = nullptr;
    int err = kmod_module_get_info(mod, &raw);
    InfoListPtr info(raw);
    if (err < 0) {
      n.problem = n.root_path + " cannot be read: " + std::strerror(-err) + " (run `depmod " +
                  kver + "` if it was removed)";
      return false;
    }
    for (kmod_list* l = info.get(); l; l = kmod_list_next(info.get(), l)) {
      const char* value = kmod_module_info_get_value(l);
      if (value) records.emplace_back(kmod_module_info_get_key(l), value);
    }
    return true;
  }

  void read_modinfo(Node& n, kmod_module* mod) {
    std::vector<std::pair<std::string, std::string>> records;
    if (module_compression(n.root_path) != ModuleCompression::kNone) {
      // Compressed: decompressed and read here, whatever formats the host's libkmod was built
      // with (module_file.h), at the module's in-root target.
      auto resolved = root.resolve(n.root_path);
      auto image = resolved ? read_module_file(root.host_path(resolved->path))
                            : Result<std::string>(resolved.error());
      auto info = image ? parse_modinfo(*image, n.root_path)
                        : Result<std::vector<std::pair<std::string, std::string>>>(image.error());
      if (!info) {
        n.problem = n.root_path + " cannot be read: " + info.error().message +
                    " (reinstall the "
                    "package that provides it, or run `depmod " +
                    kver + "` if it was removed)";
        return;
      }
      records = std::move(*info);
    } else if (!read_modinfo_libkmod(n, mod, records)) {
      return;
    }
    for (const auto& [key, value] : records) {
      if (key == "alias") {
        n.aliases.push_back(value);
      } else if (key == "firmware") {
        n.firmware.push_back(value);
      } else if (key == "vermagic") {
        n.vermagic = value.substr(0, value.find(' '));
      }
    }
    if (n.vermagic != kver) {
      std::string file = n.root_path.substr(n.root_path.rfind('/') + 1);
      n.problem =
          file + " (" + n.root_path + ") was built for " +
          (n.vermagic.empty() ? std::string("an unknown kernel (no vermagic)") : n.vermagic) +
          ", not " + kver;
    }
  }

  // Records request ORIGIN (and whether it is required) on every module NAME needs. A node is
  // walked again only when its `required` flag flips, so this is linear per flag value.
  void mark(const std::string& name, int origin, bool required) {
    std::vector<const std::string*> stack{&name};
    while (!stack.empty()) {
      auto it = nodes.find(*stack.back());
      stack.pop_back();
      if (it == nodes.end()) continue;
      Node& n = it->second;
      bool changed = false;
      if (n.origin < 0) n.origin = origin, changed = true;
      if (required && !n.required) n.required = true, changed = true;
      if (!changed) continue;
      // Softdeps are not followed: they are nice to have, never what makes a request work (a
      // softdep that cannot be used is a warning, not an error).
      for (const auto& d : n.deps) stack.push_back(&d);
    }
  }

  void add_directory(const DirRequest& d) {
    namespace fs = std::filesystem;
    std::string sub = d.subdir;
    while (!sub.empty() && sub.back() == '/') sub.pop_back();
    fs::path dir = fs::path(modules_host_dir) / sub;
    std::error_code ec;
    if (!fs::is_directory(dir, ec)) {
      out.warnings.push_back(modules_root_dir + "/" + sub + " (asked for by " + d.requested_by +
                             ") does not exist for " + kver + ", skipped");
      return;
    }
    std::vector<std::string> names;
    for (fs::recursive_directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
      if (!it->is_regular_file(ec)) continue;
      std::string rel = it->path().lexically_relative(modules_host_dir).string();
      bool skip = std::any_of(excluded_dirs.begin(), excluded_dirs.end(),
                              [&](const std::string& e) { return rel.starts_with(e); });
      std::string name = module_name_from_file(it->path().filename().string());
      if (d.only && !d.only->count(name)) continue;
      if (!skip && !name.empty() && !excluded_names.count(name)) names.push_back(std::move(name));
    }
    if (ec)
      out.warnings.push_back("reading " + dir.string() + ": " + ec.message() +
                             " (some modules skipped)");
    std::sort(names.begin(), names.end());
    for (const std::string& name : names) {
      kmod_module* raw = nullptr;
      if (kmod_module_new_from_name(ctx.get(), name.c_str(), &raw) < 0) continue;
      ModulePtr mod(raw);
      if (kmod_module_get_path(mod.get()) == nullptr) {
        out.warnings.push_back(name + " in " + modules_root_dir + "/" + sub +
                               " is not in modules.dep, skipped: run `depmod " + kver + "`");
        continue;
      }
      if (std::string stack = needed_stack(mod.get()); !stack.empty()) {
        needing_stack.push_back(name + " (" + stack + ")");
        continue;
      }
      add_node(mod.get());
    }
  }

  // Whether the in-root module HOST_PATH is one of the stacks given to exclude_needing().
  bool in_stack(const char* host_path, const std::string& name) const {
    if (stack_names.count(name)) return true;
    if (!host_path) return false;
    std::string_view p(host_path);
    if (!p.starts_with(modules_host_dir + "/")) return false;
    p.remove_prefix(modules_host_dir.size() + 1);
    return std::any_of(stack_dirs.begin(), stack_dirs.end(),
                       [&](const std::string& d) { return p.starts_with(d); });
  }

  // The first module of an exclude_needing() stack that MOD needs: among its hard dependencies
  // (modules.dep lists them all, transitively) and its softdep "pre:" modules; "" when none.
  std::string needed_stack(kmod_module* mod) {
    if (stack_dirs.empty() && stack_names.empty()) return {};
    ListPtr deps(kmod_module_get_dependencies(mod));
    for (kmod_list* l = deps.get(); l; l = kmod_list_next(deps.get(), l)) {
      ModulePtr dep(kmod_module_get_module(l));
      std::string dname = kmod_module_get_name(dep.get());
      if (in_stack(kmod_module_get_path(dep.get()), dname)) return dname;
    }
    std::string name = kmod_module_get_name(mod);
    for (const Softdep& sd : softdeps) {
      if (fnmatch(sd.pattern.c_str(), name.c_str(), 0) != 0) continue;
      for (const std::string& s : sd.pre) {
        kmod_module* raw = nullptr;
        if (kmod_module_new_from_name(ctx.get(), s.c_str(), &raw) < 0) continue;
        ModulePtr pre(raw);
        std::string pname = kmod_module_get_name(pre.get());
        if (in_stack(kmod_module_get_path(pre.get()), pname)) return pname;
        if (std::string deeper = needed_stack(pre.get()); !deeper.empty()) return deeper;
      }
      break;  // the first matching entry only, like modprobe
    }
    return {};
  }

  std::string hint_of(int origin) const {
    if (origin < 0 || requests[origin].hint.empty()) return {};
    return " " + expand_kver(requests[origin].hint, kver);
  }

  ModuleClosure resolve();
};

ModuleClosure KmodClosure::Impl::resolve() {
  out = ModuleClosure{};
  kmod_log.clear();

  // 1. Requests by name or alias, in order; remember which modules each one resolved to.
  std::vector<std::vector<std::string>> resolved(requests.size());
  for (size_t i = 0; i < requests.size(); ++i) {
    const KmodRequest& r = requests[i];
    const Lookup& l = lookup(r.name);
    resolved[i] = l.modules;
    for (const auto& b : l.builtin)
      if (std::find(out.builtin.begin(), out.builtin.end(), b) == out.builtin.end())
        out.builtin.push_back(b);
    if (!l.modules.empty() || !l.builtin.empty()) continue;
    std::string msg =
        "kernel module " + r.name + " (" +
        (r.requested_by.empty() ? std::string("requested") : "needed by " + r.requested_by) +
        ") was not found in " + modules_root_dir;
    if (r.required) {
      out.missing.push_back(msg + "." + (r.hint.empty() ? "" : " " + expand_kver(r.hint, kver)));
    } else {
      out.warnings.push_back(msg + ", skipped");
    }
  }
  // 2. Whole directories for coldplug, less the modules that need an excluded stack.
  needing_stack.clear();
  for (const DirRequest& d : dir_requests) add_directory(d);
  if (!needing_stack.empty())
    out.warnings.push_back(std::to_string(needing_stack.size()) +
                           " drivers left out because they need a stack no root pool is read "
                           "through at boot: " +
                           join(needing_stack, ", "));

  // 3. Which request reached each module first, and whether a required one did.
  for (auto& [name, n] : nodes) n.origin = -1, n.required = false, n.dropped = false;
  for (size_t i = 0; i < requests.size(); ++i)
    for (const auto& m : resolved[i]) mark(m, static_cast<int>(i), requests[i].required);

  // 4. Topological order: names sorted, dependencies first (depth first, iterative).
  std::vector<const std::string*> names;
  names.reserve(nodes.size());
  for (const auto& [name, n] : nodes) names.push_back(&name);
  std::sort(names.begin(), names.end(), [](auto* a, auto* b) { return *a < *b; });
  enum : char { kNew, kActive, kDone };
  std::unordered_map<std::string_view, char> state;
  state.reserve(nodes.size());
  std::vector<Node*> order;
  order.reserve(nodes.size());
  for (const std::string* root_name : names) {
    if (state[*root_name] != kNew) continue;
    std::vector<std::pair<Node*, size_t>> stack{{&nodes.at(*root_name), 0}};
    state[*root_name] = kActive;
    while (!stack.empty()) {
      auto& [node, next] = stack.back();
      // Hard dependencies, then pre softdeps: both are loaded before the module.
      if (next < node->deps.size() + node->pre.size()) {
        const std::string& dep =
            next < node->deps.size() ? node->deps[next] : node->pre[next - node->deps.size()];
        ++next;
        auto it = nodes.find(dep);
        if (it == nodes.end()) continue;
        char& st = state[it->first];
        if (st == kActive) {
          // Softdeps commonly point back (a pre softdep whose own post names the first).
          if (next <= node->deps.size())
            out.warnings.push_back("dependency cycle between " + node->name + " and " + dep + ": " +
                                   dep + " is not loaded first");
          continue;
        }
        if (st == kDone) continue;
        st = kActive;
        stack.emplace_back(&it->second, 0);
        continue;
      }
      state[node->name] = kDone;
      order.push_back(node);
      stack.pop_back();
    }
  }

  // 5. Unusable modules: an error when a required request needs them, else dropped (with every
  //    module that depends on them) and a warning.
  for (Node* n : order) {
    std::string why = n->problem;
    if (why.empty())
      for (const auto& d : n->deps)
        if (auto it = nodes.find(d); it != nodes.end() && it->second.dropped) {
          why = "depends on " + d + ", which cannot be used";
          break;
        }
    if (why.empty()) continue;
    n->dropped = true;
    if (n->required) {
      out.missing.push_back(n->problem.empty() ? n->name + " " + why + "."
                                               : why + "." + hint_of(n->origin));
    } else {
      out.warnings.push_back(n->name + " skipped: " + why);
    }
  }

  // 6. The closure: modules, aliases, firmware, files.
  std::string fw_dirs[] = {"/lib/firmware/updates/" + kver, "/lib/firmware/updates",
                           "/lib/firmware/" + kver, "/lib/firmware"};
  std::vector<std::string> firmware_absent;  // drivers not required by any feature
  auto usable = [&](const std::vector<std::string>& wanted) {
    std::vector<std::string> kept;
    for (const auto& m : wanted)
      if (auto it = nodes.find(m); it != nodes.end() && !it->second.dropped) kept.push_back(m);
    return kept;
  };
  for (Node* n : order) {
    if (n->dropped) continue;
    out.modules.push_back(
        BootModule{n->name, n->root_path, n->deps, n->options, usable(n->pre), usable(n->post)});
    out.files.push_back(n->root_path);
    for (const auto& a : n->aliases) out.aliases.push_back(BootAlias{a, n->name});
    std::string absent;
    for (const auto& fw : n->firmware) {
      bool found = false;
      for (const auto& dir : fw_dirs)
        for (const char* ext : {"", ".xz", ".zst"}) {
          std::string p = dir + "/" + fw + ext;
          if (root.exists(p)) {
            out.files.push_back(std::move(p));
            found = true;
          }
        }
      if (!found) absent += (absent.empty() ? "" : ", ") + fw;
    }
    if (absent.empty()) continue;
    if (n->required)
      out.warnings.push_back(n->name + ": firmware not found under /lib/firmware, skipped: " +
                             absent + " (install the firmware package that provides it)");
    else
      firmware_absent.push_back(n->name);
  }
  // Generic images carry hundreds of drivers for hardware this machine may not have: one line.
  if (!firmware_absent.empty()) {
    std::string drivers = join(firmware_absent, " ");
    out.warnings.push_back(
        std::to_string(firmware_absent.size()) +
        " drivers loaded only for matching devices lack their firmware (" + drivers +
        "); if this machine boots from such a device, install its firmware package");
  }
  std::sort(out.files.begin(), out.files.end());
  out.files.erase(std::unique(out.files.begin(), out.files.end()), out.files.end());

  // 7. Load list: the modules of load_at_boot requests, in request order, once each.
  std::unordered_set<std::string> loaded;
  for (size_t i = 0; i < requests.size(); ++i) {
    if (!requests[i].load_at_boot) continue;
    for (const auto& m : resolved[i]) {
      auto it = nodes.find(m);
      if (it == nodes.end() || it->second.dropped) continue;
      if (loaded.insert(m).second) out.load.push_back(m);
    }
  }
  out.blacklist = blacklist;
  for (auto& msg : kmod_log) out.warnings.push_back(std::move(msg));
  kmod_log.clear();
  return std::move(out);
}

std::unordered_set<std::string> builtin_modules(const RootFs& root,
                                                const std::string& modules_dir) {
  std::unordered_set<std::string> out;
  auto text = root.read_file(modules_dir + "/modules.builtin");
  if (!text) return out;
  std::istringstream in(*text);
  for (std::string line; std::getline(in, line);) {
    size_t slash = line.rfind('/');
    std::string name =
        module_name_from_file(slash == std::string::npos ? line : line.substr(slash + 1));
    if (!name.empty()) out.insert(std::move(name));
  }
  return out;
}

Result<std::unique_ptr<KmodClosure>> KmodClosure::open(const RootFs& root, std::string kver) {
  auto impl = std::make_unique<Impl>(root, std::move(kver));
  impl->modules_root_dir = "/lib/modules/" + impl->kver;
  // Resolve inside the root: /lib may be a (possibly absolute) merged-/usr symlink.
  auto dir = root.resolve(impl->modules_root_dir);
  if (!dir)
    return Error{"kernel " + impl->kver + " has no modules directory: " + dir.error().message +
                     " (is the kernel package for " + impl->kver + " installed" +
                     (root.is_host() ? std::string() : " in " + root.root()) + "?)",
                 dir.error().errnum};
  impl->modules_host_dir = root.host_path(dir->path);
  std::string dep = impl->modules_host_dir + "/modules.dep.bin";
  struct stat st;
  if (::stat(dep.c_str(), &st) != 0) {
    int e = errno;
    std::string fix =
        root.is_host() ? "depmod " + impl->kver : "depmod -b " + root.root() + " " + impl->kver;
    return Error{"stat '" + dep + "': " + std::strerror(e) + ": run `" + fix + "` to create it", e};
  }

  // modprobe.d inside the root, in kmod's precedence order; each resolved inside the root and
  // given once (on merged /usr, /lib/modprobe.d and /usr/lib/modprobe.d are the same directory).
  std::vector<std::string> conf_dirs;
  for (const char* d : {"/etc/modprobe.d", "/run/modprobe.d", "/usr/local/lib/modprobe.d",
                        "/usr/lib/modprobe.d", "/lib/modprobe.d"}) {
    auto r = root.resolve(d);
    if (!r) continue;
    std::string host = root.host_path(r->path);
    if (std::find(conf_dirs.begin(), conf_dirs.end(), host) == conf_dirs.end())
      conf_dirs.push_back(host);
  }
  // An empty list would make libkmod fall back to the host's directories: give it one that
  // cannot exist instead.
  if (conf_dirs.empty()) conf_dirs.push_back(root.host_path("/etc/modprobe.d"));
  std::vector<const char*> conf_ptrs;
  for (const auto& c : conf_dirs) conf_ptrs.push_back(c.c_str());
  conf_ptrs.push_back(nullptr);

  impl->ctx.reset(kmod_new(impl->modules_host_dir.c_str(), conf_ptrs.data()));
  if (!impl->ctx) return Error{"cannot initialise libkmod for " + impl->modules_host_dir, ENOMEM};
  kmod_set_log_fn(impl->ctx.get(), kmod_log_sink, &impl->kmod_log);
  if (int err = kmod_load_resources(impl->ctx.get()); err < 0)
    return Error{"loading the module indexes of " + impl->modules_host_dir + ": " +
                     std::strerror(-err) + ": run `depmod " + impl->kver + "`",
                 -err};
  impl->load_builtin();
  impl->load_softdeps();
  impl->cmdline_options = host_cmdline_options();
  impl->load_blacklist();
  return std::unique_ptr<KmodClosure>(new KmodClosure(std::move(impl)));
}

KmodClosure::KmodClosure(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
KmodClosure::~KmodClosure() = default;

void KmodClosure::request(KmodRequest request) { impl_->requests.push_back(std::move(request)); }

void KmodClosure::exclude(std::string_view name_or_subdir) {
  std::string e(name_or_subdir);
  if (!e.empty() && e.back() == '/')
    impl_->excluded_dirs.push_back(e);
  else
    impl_->excluded_names.insert(normalize_module_name(e));
}

void KmodClosure::exclude_needing(std::string_view name_or_subdir) {
  std::string e(name_or_subdir);
  if (!e.empty() && e.back() == '/')
    impl_->stack_dirs.push_back(e);
  else
    impl_->stack_names.insert(normalize_module_name(e));
}

void KmodClosure::request_directory(std::string_view subdir, std::string_view requested_by,
                                    const std::vector<std::string>* only) {
  Impl::DirRequest d{std::string(subdir), std::string(requested_by), std::nullopt};
  if (only) d.only.emplace(only->begin(), only->end());
  impl_->dir_requests.push_back(std::move(d));
}

ModuleClosure KmodClosure::resolve() { return impl_->resolve(); }

}  // namespace zinitrd::gen
