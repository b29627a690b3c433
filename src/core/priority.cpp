#include "core/priority.h"

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

}  // namespace seraph
