#pragma once
// A request's admission priority: under overload low sheds first and critical last. Several layers
// name it (the admission guard, a deployment's policy, an API key), so it lives here.
#include <cstdint>
#include <optional>
#include <string_view>

#include "core/status.h"

namespace seraph {

// Ordered: a higher value is served first.
enum class Priority : uint8_t { kLow = 0, kNormal = 1, kCritical = 2 };
inline constexpr int kPriorities = 3;

std::string_view priority_name(Priority priority);              // "low", "normal", "critical"
std::optional<Priority> parse_priority(std::string_view name);  // nullopt for anything else
// A configured default priority (a deployment's, an API key's): empty (none) or a priority's name.
Status validate_priority_setting(std::string_view name);

}  // namespace seraph
