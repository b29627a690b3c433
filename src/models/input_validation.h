#pragma once
#include "core/inference.h"
#include "models/model_config.h"

namespace seraph {

// Checks a request against the model's tensor contract and puts its inputs in the config's order.
// Every mismatch is a 400 that names the tensor and what is wrong.
Status validate_request(const ModelConfig& config, InferRequest& request);

}  // namespace seraph
