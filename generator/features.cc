// features.cc: reading modules.d/*/feature.conf and planning which features an image uses.
//
// The format is deliberately tiny (see features.h): one "key = value" per line, so that a
// feature can be read and reviewed at a glance, and every mistake is reported with its file and
// line instead of being silently ignored. Planning is a depth-first topological sort over
// `requires`, visiting features in name order so that the same modules.d always gives the same
// plan (and so the same image).
#include "features.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <filesystem>
#include <functional>
#include <set>

#include "fd.h"

namespace zinitrd::gen {
namespace {

constexpr std::string_view kConfName = "feature.conf";

std::string_view trim(std::string_view s) {
  size_t b = s.find_first_not_of(" \t\r");
  if (b == std::string_view::npos) return {};
  size_t e = s.find_last_not_of(" \t\r");
  return s.substr(b, e - b + 1);
}

std::vector<std::string> split_words(std::string_view s) {
  std::vector<std::string> out;
  size_t i = 0;
  while (i < s.size()) {
    size_t b = s.find_first_not_of(" \t", i);
    if (b == std::string_view::npos) break;
    size_t e = s.find_first_of(" \t", b);
    if (e == std::string_view::npos) e = s.size();
    out.emplace_back(s.substr(b, e - b));
    i = e;
  }
  return out;
}

// Drops a `#` comment: at the start of the line or after a blank (so "a#b" stays a word).
std::string_view strip_comment(std::string_view line) {
  for (size_t i = 0; i < line.size(); ++i)
    if (line[i] == '#' && (i == 0 || line[i - 1] == ' ' || line[i - 1] == '\t'))
      return line.substr(0, i);
  return line;
}

void append_words(std::vector<std::string>& to, std::string_view value) {
  for (auto& w : split_words(value)) to.push_back(std::move(w));
}

void append_text(std::string& to, std::string_view value) {
  if (!to.empty()) to += ' ';
  to += value;
}

}  // namespace

Result<Feature> parse_feature(std::string_view name, std::string_view dir, std::string_view text) {
  Feature f;
  f.name = std::string(name);
  f.dir = std::string(dir);
  std::string file = f.dir + "/" + std::string(kConfName);
  int lineno = 0;
  auto fail = [&](const std::string& what) {
    return Error::msg(file + ":" + std::to_string(lineno) + ": " + what);
  };

  size_t pos = 0;
  while (pos < text.size()) {
    size_t nl = text.find('\n', pos);
    std::string_view raw =
        text.substr(pos, nl == std::string_view::npos ? std::string_view::npos : nl - pos);
    pos = nl == std::string_view::npos ? text.size() : nl + 1;
    ++lineno;
    std::string_view line = trim(strip_comment(raw));
    if (line.empty()) continue;
    size_t eq = line.find('=');
    if (eq == std::string_view::npos)
      return fail("expected 'key = value', got '" + std::string(line) + "'");
    std::string key(trim(line.substr(0, eq)));
    std::string_view value = trim(line.substr(eq + 1));
    if (key.empty()) return fail("missing key before '='");
    if (value.empty()) return fail("key '" + key + "' has no value");

    if (key == "description") {
      append_text(f.description, value);
    } else if (key == "requires") {
      append_words(f.requires_, value);
    } else if (key == "when") {
      if (value == "always") {
        f.when = Feature::When::kAlways;
      } else if (value == "on-request") {
        f.when = Feature::When::kOnRequest;
      } else if (value.starts_with("exists:") && value.size() > 7 && value[7] == '/' &&
                 value.find_first_of(" \t") == std::string_view::npos) {
        f.when = Feature::When::kIfExists;
        f.when_path = std::string(value.substr(7));
      } else {
        return fail("'when' must be always, on-request or exists:/ABSOLUTE/PATH, not '" +
                    std::string(value) + "'");
      }
    } else if (key == "kmod") {
      append_words(f.kmods, value);
    } else if (key == "kmod-optional") {
      append_words(f.kmods_optional, value);
    } else if (key == "kmod-coldplug") {
      append_words(f.kmods_coldplug, value);
    } else if (key == "kmod-exclude") {
      append_words(f.kmods_exclude, value);
    } else if (key == "kmod-hint") {
      append_text(f.kmod_hint, value);
    } else if (key == "program") {
      append_words(f.programs, value);
    } else if (key == "program-optional") {
      append_words(f.programs_optional, value);
    } else if (key == "library") {
      append_words(f.libraries, value);
    } else if (key == "library-optional") {
      append_words(f.libraries_optional, value);
    } else if (key == "file") {
      append_words(f.files, value);
    } else if (key == "file-optional") {
      append_words(f.files_optional, value);
    } else if (key == "hostid") {
      if (value == "yes" || value == "true") {
        f.hostid = true;
      } else if (value == "no" || value == "false") {
        f.hostid = false;
      } else {
        return fail("'hostid' must be yes or no, not '" + std::string(value) + "'");
      }
    } else if (key == "set") {
      // `set` takes the rest of the line: values such as an argv may contain blanks.
      size_t e = value.find('=');
      std::string k(e == std::string_view::npos ? std::string_view{} : trim(value.substr(0, e)));
      if (k.empty() || k.find_first_of(" \t") != std::string::npos)
        return fail("'set' needs KEY=VALUE, got '" + std::string(value) + "'");
      f.settings[k] = std::string(trim(value.substr(e + 1)));
    } else {
      return fail("unknown key '" + key + "'");
    }
  }
  return f;
}

namespace {

// Reads every DIR/NAME/feature.conf inside FS into BY_NAME (a missing DIR has none), replacing
// features of the same name.
Status read_feature_dir(const RootFs& fs, const std::string& dir,
                        std::map<std::string, Feature>& by_name) {
  for (const std::string& conf : fs.glob(dir + "/*/" + std::string(kConfName))) {
    std::string_view folder = std::string_view(conf).substr(0, conf.rfind('/'));
    std::string name(folder.substr(folder.rfind('/') + 1));
    auto text = fs.read_file(conf);
    if (!text) return Error{text.error().message + " (in " + fs.root() + ")", text.error().errnum};
    auto f = parse_feature(name, fs.host_path(folder), *text);
    if (!f) return f.error();
    by_name[name] = std::move(*f);  // a later directory replaces an earlier one
  }
  return Ok{};
}

}  // namespace

Result<std::vector<Feature>> load_features(const std::vector<std::string>& host_dirs,
                                           const RootFs& root) {
  std::map<std::string, Feature> by_name;
  const RootFs host("/");
  for (const std::string& dir : host_dirs)
    if (auto st = read_feature_dir(host, dir, by_name); !st) return st.error();
  if (auto st = read_feature_dir(root, kLocalFeatureDir, by_name); !st) return st.error();
  std::vector<Feature> out;
  out.reserve(by_name.size());
  for (auto& [name, f] : by_name) out.push_back(std::move(f));
  return out;
}

Result<std::vector<const Feature*>> plan_features(const std::vector<Feature>& all,
                                                  const std::vector<std::string>& add,
                                                  const std::vector<std::string>& omit,
                                                  const RootFs& root) {
  std::map<std::string_view, const Feature*> by_name;
  for (const Feature& f : all) by_name[f.name] = &f;
  auto known = [&] {
    std::string s;
    for (const auto& [n, f] : by_name) append_text(s, n);
    return s.empty() ? std::string("none") : s;
  };
  for (const auto* list : {&add, &omit})
    for (const std::string& n : *list)
      if (!by_name.count(n))
        return Error::msg("unknown feature '" + n + "' (" + (list == &add ? "--add" : "--omit") +
                          "); known features: " + known());
  std::set<std::string_view> omitted(omit.begin(), omit.end());

  // Features that apply on their own, in name order (then those added explicitly).
  std::vector<const Feature*> wanted;
  for (const auto& [n, f] : by_name) {
    bool applies = f->when == Feature::When::kAlways ||
                   (f->when == Feature::When::kIfExists && root.exists(f->when_path));
    if (applies && !omitted.count(n)) wanted.push_back(f);
  }
  for (const std::string& n : add)
    if (!omitted.count(n)) wanted.push_back(by_name.at(n));

  // Depth first, requirements before the feature; `path` is the chain being visited.
  std::vector<const Feature*> order;
  std::set<const Feature*> done;
  std::vector<const Feature*> path;
  std::function<Status(const Feature*)> visit = [&](const Feature* f) -> Status {
    if (done.count(f)) return Ok{};
    if (auto it = std::find(path.begin(), path.end(), f); it != path.end()) {
      std::string chain;
      for (; it != path.end(); ++it) chain += (*it)->name + " -> ";
      return Error::msg("features require each other in a cycle: " + chain + f->name);
    }
    path.push_back(f);
    for (const std::string& r : f->requires_) {
      auto it = by_name.find(r);
      if (it == by_name.end())
        return Error::msg(f->dir + "/" + std::string(kConfName) + ": feature '" + f->name +
                          "' requires unknown feature '" + r + "'; known features: " + known());
      if (omitted.count(r))
        return Error::msg("cannot omit feature '" + r + "': feature '" + f->name +
                          "' requires it (omit '" + f->name + "' too, or keep '" + r + "')");
      if (auto st = visit(it->second); !st) return st;
    }
    path.pop_back();
    done.insert(f);
    order.push_back(f);
    return Ok{};
  };
  for (const Feature* f : wanted)
    if (auto st = visit(f); !st) return st.error();
  return order;
}

}  // namespace zinitrd::gen
