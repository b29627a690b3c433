#include "core/priority.h"

#include <fmt/format.h>

namespace seraph {

std::string_view priority_name(Priority priority) {
  switch (priority) {
    case Priority::kLow: return "low";
    case Priority::kNormal: return "normal";
    case Priority::kCritical: return "critical";
  }
  return "normal";
}

std::optional<Priority> parse_priority(std::string_view name) {
  for (Priority p : {Priority::kCritical, Priority::kNormal, Priority::kLow}) {
    if (name == priority_name(p)) return p;
  }
  return std::nullopt;
}

Status validate_priority_setting(std::string_view name) {
  if (name.empty() || parse_priority(name)) return {};
  return invalid_argument(fmt::format("priority must be critical, normal or low, got '{}'", name));
}

}  // namespace seraph
