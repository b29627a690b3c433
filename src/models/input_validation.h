#pragma once
#include <memory>

#include "core/inference.h"
#include "models/model_config.h"

namespace seraph {

// Checks a request against the model's tensor contract; every mismatch is a 400 that names the
// tensor and what is wrong. Runtimes take inputs in the config's order: a request already in that
// order is left as it is (shared, not copied), another one is replaced by a reordered copy.
// Positional requests (/predict) bind their single input to the model's single input.
Status validate_request(const ModelConfig& config, std::shared_ptr<const InferRequest>& request);

}  // namespace seraph
