#include "models/input_validation.h"

#include <algorithm>

#include <fmt/format.h>

namespace seraph {

Status validate_request(const ModelConfig& config, InferRequest& request) {
  if (request.inputs.size() != config.inputs.size()) {
    return invalid_argument(fmt::format("model '{}' expects {} input(s), got {}", request.model,
                                        config.inputs.size(), request.inputs.size()));
  }
  std::vector<Tensor> ordered;
  ordered.reserve(config.inputs.size());
  int64_t batch = -1;
  for (const TensorSpec& spec : config.inputs) {
    auto it = std::find_if(request.inputs.begin(), request.inputs.end(),
                           [&](const Tensor& t) { return t.name == spec.name; });
    if (it == request.inputs.end()) {
      return invalid_argument(fmt::format("missing input '{}' for model '{}'", spec.name, request.model));
    }
    Tensor& input = *it;
    if (input.datatype != spec.datatype) {
      return invalid_argument(fmt::format("input '{}' has datatype {}, model '{}' expects {}", spec.name,
                                          datatype_name(input.datatype), request.model, datatype_name(spec.datatype)));
    }
    if (input.shape.size() != spec.shape.size()) {
      return invalid_argument(fmt::format("input '{}' has shape {}, model '{}' expects {}", spec.name,
                                          shape_to_string(input.shape), request.model, shape_to_string(spec.shape)));
    }
    for (size_t d = 1; d < spec.shape.size(); ++d) {
      if (spec.shape[d] != -1 && input.shape[d] != spec.shape[d]) {
        return invalid_argument(fmt::format("input '{}' has shape {}, model '{}' expects {}", spec.name,
                                            shape_to_string(input.shape), request.model, shape_to_string(spec.shape)));
      }
    }
    if (input.shape[0] == 0) return invalid_argument(fmt::format("input '{}' is an empty batch", spec.name));
    if (batch != -1 && input.shape[0] != batch) {
      return invalid_argument(fmt::format("inputs disagree on the batch size ({} and {})", batch, input.shape[0]));
    }
    batch = input.shape[0];
    ordered.push_back(std::move(input));
  }
  request.inputs = std::move(ordered);
  for (const std::string& name : request.requested_outputs) {
    if (!config.find_output(name)) {
      return invalid_argument(fmt::format("model '{}' has no output '{}'", request.model, name));
    }
  }
  return {};
}

}  // namespace seraph
