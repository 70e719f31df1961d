// resume_config.cc: RESUME= of initramfs-tools' conf.d/resume (see resume_config.h).
#include "resume_config.h"

#include "text.h"

namespace zinitrd::gen {

std::optional<std::string> parse_resume_setting(std::string_view text) {
  std::optional<std::string> value;
  for (const std::string& raw : split_all(text, '\n')) {
    std::string_view line = trim(raw);
    if (line.substr(0, 7) != "RESUME=") continue;
    std::string_view v = trim(line.substr(7));
    if (v.size() >= 2 && (v.front() == '"' || v.front() == '\'') && v.back() == v.front())
      v = v.substr(1, v.size() - 2);
    value = std::string(v);
  }
  if (!value || value->empty() || *value == "none") return std::nullopt;
  return value;
}

}  // namespace zinitrd::gen
