#pragma once
// The rule every layer applies to model, deployment, variant and environment names.
#include <string_view>

namespace seraph {

// Letters, digits, '_', '-', '.'; not starting with '.'; at most 128 characters.
bool is_valid_model_name(std::string_view name);

}  // namespace seraph
