// check_report.cc: see check_report.h.
#include "check_report.h"

#include <algorithm>
#include <cstdio>

#include "json.h"

namespace zinitrd::gen {

std::string format_check_text(std::string_view kver, const std::vector<CheckItem>& items) {
  std::string out = "zinitrd check for " + std::string(kver) + "\n";
  for (const auto& i : items) {
    char head[64];
    std::string state = check_state_name(i.state);
    if (i.state == CheckState::kFail) state = "FAIL";
    std::snprintf(head, sizeof head, "  %-8s %-14s ", state.c_str(), i.id.c_str());
    out += head + i.detail + "\n";
    if (!i.fix.empty() && i.state != CheckState::kOk)
      out += std::string(26, ' ') + "fix: " + i.fix + "\n";
  }
  size_t fails = std::count_if(items.begin(), items.end(),
                               [](const CheckItem& i) { return i.state == CheckState::kFail; });
  out += fails ? std::to_string(fails) + " item(s) would stop the boot\n"
               : "nothing found that would stop the boot\n";
  return out;
}

std::string format_check_json(std::string_view kver, const std::vector<CheckItem>& items) {
  std::string out = "{\"kver\":" + json_string(kver) +
                    ",\"ok\":" + (check_exit_status(items) == 0 ? "true" : "false") +
                    ",\"items\":[";
  for (size_t n = 0; n < items.size(); ++n) {
    const auto& i = items[n];
    if (n) out += ",";
    out += "{\"id\":" + json_string(i.id) + ",\"state\":" + json_string(check_state_name(i.state)) +
           ",\"detail\":" + json_string(i.detail) + ",\"fix\":" + json_string(i.fix) + "}";
  }
  return out + "]}\n";
}

int check_exit_status(const std::vector<CheckItem>& items) {
  for (const auto& i : items)
    if (i.state == CheckState::kFail) return 1;
  return 0;
}

}  // namespace zinitrd::gen
