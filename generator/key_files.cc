// key_files.cc: see key_files.h.
#include "key_files.h"

#include <algorithm>
#include <sstream>

namespace zinitrd::gen {
namespace {

std::vector<std::string> lines_of(std::string_view text) {
  std::vector<std::string> out;
  std::istringstream in{std::string(text)};
  for (std::string line; std::getline(in, line);)
    if (!line.empty()) out.push_back(line);
  return out;
}

}  // namespace

std::vector<std::string> parse_encryption_roots(std::string_view output) {
  std::vector<std::string> out;
  for (const auto& l : lines_of(output))
    if (l != "-" && std::find(out.begin(), out.end(), l) == out.end()) out.push_back(l);
  return out;
}

std::vector<KeyFile> parse_key_locations(std::string_view output) {
  constexpr std::string_view kScheme = "file://";
  std::vector<KeyFile> out;
  for (const auto& l : lines_of(output)) {
    size_t tab = l.find('\t');
    if (tab == std::string::npos) continue;
    std::string value = l.substr(tab + 1);
    if (value.rfind(kScheme, 0) != 0 || value.size() == kScheme.size()) continue;
    std::string path = value.substr(kScheme.size());
    out.push_back({path, path, l.substr(0, tab)});
  }
  return out;
}

KeyFile parse_keyfile_spec(std::string_view spec) {
  size_t colon = spec.find(':');
  std::string src(spec.substr(0, colon));
  std::string dst = colon == std::string_view::npos ? src : std::string(spec.substr(colon + 1));
  return {src, dst, ""};
}

Result<std::vector<KeyFile>> dataset_key_files(const std::string& dataset,
                                               const CommandRunner& run) {
  std::vector<std::string> list{"zfs", "list",       "-H", "-o",   "encryptionroot",
                                "-t",  "filesystem", "-r", dataset};
  CommandOutput roots = run(list);
  if (!roots.ran || roots.status != 0)
    return Error::msg("`zfs list -o encryptionroot -r " + dataset + "` failed" +
                      (roots.ran ? " (exit " + std::to_string(roots.status) + ")" : " to start"));
  std::vector<std::string> encroots = parse_encryption_roots(roots.out);
  if (encroots.empty()) return std::vector<KeyFile>{};
  std::vector<std::string> get{"zfs", "get", "-H", "-o", "name,value", "keylocation"};
  get.insert(get.end(), encroots.begin(), encroots.end());
  CommandOutput locations = run(get);
  if (!locations.ran || locations.status != 0)
    return Error::msg("`zfs get keylocation` of " + std::to_string(encroots.size()) +
                      " encryption roots failed");
  return parse_key_locations(locations.out);
}

}  // namespace zinitrd::gen
