// import_listing.cc: parsing `zpool import` listings and choosing the root pool (see
// import_listing.h).
#include "import_listing.h"

#include "util.h"

namespace zinitrd::rt {
namespace {

// Interior vdevs of a config tree (their children are the leaves) and section headers.
bool is_interior(std::string_view name) {
  for (std::string_view p : {"mirror", "raidz", "draid", "replacing", "spare", "indirect"})
    if (starts_with(name, p)) return true;
  return name == "logs" || name == "cache" || name == "spares" || name == "special" ||
         name == "dedup";
}

size_t indent_of(std::string_view line) {
  size_t i = 0;
  while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) ++i;
  return i;
}

// The value after "KEY:" when LINE is such a header line ("   pool: rpool"), else nullopt-ish.
bool header(std::string_view line, std::string_view key, std::string& value) {
  std::string_view t = trim(line);
  if (!starts_with(t, key) || t.size() <= key.size() || t[key.size()] != ':') return false;
  value = std::string(trim(t.substr(key.size() + 1)));
  return true;
}

}  // namespace

bool PoolCandidate::needs_force() const {
  return status.find("last accessed by another system") != std::string::npos;
}

bool PoolCandidate::active_elsewhere() const {
  return status.find("currently imported by another system") != std::string::npos;
}

std::string PoolCandidate::describe() const {
  std::string s = "GUID " + guid + " (" + state;
  if (!devices.empty()) s += "; devices " + join(devices, " ");
  if (active_elsewhere())
    s += "; imported by another system right now";
  else if (needs_force())
    s += "; last used by another system";
  else
    s += "; importable by this system";
  return s + ")";
}

std::vector<PoolCandidate> parse_import_listing(std::string_view output) {
  std::vector<PoolCandidate> pools;
  enum { kHead, kStatus, kConfig } section = kHead;
  std::vector<std::string> config;  // the current pool's config lines, raw
  auto finish_config = [&]() {
    if (pools.empty()) return;
    PoolCandidate& p = pools.back();
    // A line is a leaf when the next line is not indented deeper; the first is the pool itself.
    for (size_t i = 1; i < config.size(); ++i) {
      size_t depth = indent_of(config[i]);
      bool has_child = i + 1 < config.size() && indent_of(config[i + 1]) > depth;
      auto words = split_words(config[i]);
      if (words.empty() || has_child || is_interior(words[0])) continue;
      p.devices.push_back(words[0]);
      if (words.size() >= 2 && words[1] != "ONLINE")
        p.missing.push_back(words[0] + " (" +
                            join(std::vector<std::string>(words.begin() + 1, words.end()), " ") +
                            ")");
    }
    config.clear();
  };
  for (const auto& line : split_all(output, '\n')) {
    std::string value;
    if (header(line, "pool", value)) {
      finish_config();
      pools.push_back(PoolCandidate{});
      pools.back().name = value;
      section = kHead;
      continue;
    }
    if (pools.empty()) continue;
    PoolCandidate& p = pools.back();
    if (section == kConfig) {
      if (!trim(line).empty()) config.push_back(line);
      continue;
    }
    if (header(line, "id", value)) {
      p.guid = value;
    } else if (header(line, "state", value)) {
      p.state = split_words(value).empty() ? value : split_words(value)[0];
    } else if (header(line, "status", value)) {
      p.status = value;
      section = kStatus;
    } else if (header(line, "config", value)) {
      section = kConfig;
    } else if (header(line, "action", value) || header(line, "see", value) ||
               header(line, "comment", value)) {
      section = kHead;
    } else if (section == kStatus && !trim(line).empty()) {
      p.status += " " + std::string(trim(line));  // a status wrapped over several lines
    }
  }
  finish_config();
  return pools;
}

bool looks_like_guid(std::string_view word) {
  if (word.empty() || word.size() > 20) return false;
  for (char c : word)
    if (c < '0' || c > '9') return false;
  return true;
}

PoolChoice choose_pool(const std::vector<PoolCandidate>& listed, const std::string& wanted) {
  PoolChoice c;
  const bool by_guid = looks_like_guid(wanted);
  for (const auto& p : listed)
    if (by_guid ? p.guid == wanted : p.name == wanted) c.candidates.push_back(p);
  if (c.candidates.empty()) return c;
  if (c.candidates.size() == 1) {
    c.kind = PoolChoice::kOne;
    c.chosen = c.candidates.front();
    return c;
  }
  std::vector<const PoolCandidate*> owned;
  for (const auto& p : c.candidates)
    if (!p.needs_force() && !p.active_elsewhere()) owned.push_back(&p);
  if (owned.size() == 1) {
    c.kind = PoolChoice::kOne;
    c.chosen = *owned.front();
    return c;
  }
  c.kind = PoolChoice::kAmbiguous;
  return c;
}

}  // namespace zinitrd::rt
