// check_report.h: how `zinitrd check` shows its checklist (text for people, JSON for scripts) and
// the exit status it ends with.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "check_items.h"

namespace zinitrd::gen {

/// The checklist for humans: one line per item, with its fix below it.
std::string format_check_text(std::string_view kver, const std::vector<CheckItem>& items);
/// The checklist as one JSON object: {"kver":..., "ok":bool, "items":[{id,state,detail,fix}]}.
std::string format_check_json(std::string_view kver, const std::vector<CheckItem>& items);
/// 1 when any item fails (the machine would not boot), else 0.
int check_exit_status(const std::vector<CheckItem>& items);

}  // namespace zinitrd::gen
