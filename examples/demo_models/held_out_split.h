#pragma once
#include <cstddef>

namespace seraph::demo {

// Every fifth example is held out for evaluation: deterministic, the same rule for every demo model, and
// spread evenly over files sorted by class (iris.csv is).
constexpr bool is_held_out(std::size_t index) { return index % 5 == 4; }

}  // namespace seraph::demo
