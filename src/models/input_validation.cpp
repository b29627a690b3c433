#include "models/input_validation.h"

#include <algorithm>

#include <fmt/format.h>

namespace seraph {
namespace {

// /predict's single unnamed input against a single-input model: the datatype tells text from features.
Status check_positional(const ModelConfig& config, const InferRequest& request) {
  if (config.inputs.size() != 1) {
    return invalid_argument(fmt::format("model '{}' takes {} inputs; /predict serves single-input models, use "
                                        "/v2/models/{}/infer",
                                        request.model, config.inputs.size(), request.model));
  }
  if (request.inputs.size() != 1) {
    return invalid_argument(fmt::format("model '{}' expects 1 input, got {}", request.model, request.inputs.size()));
  }
  if (request.inputs[0].datatype != config.inputs[0].datatype) {
    const bool text_model = config.inputs[0].datatype == DataType::kBytes;
    return invalid_argument(fmt::format("model '{}' takes {}; send {}", request.model,
                                        text_model ? "text" : "numeric features",
                                        text_model ? R"({"text": "..."})" : R"({"features": [...]} or {"instances": [[...]]})"));
  }
  return {};
}

Status check_shape(const TensorSpec& spec, const Tensor& input, const InferRequest& request) {
  if (input.datatype != spec.datatype) {
    return invalid_argument(fmt::format("input '{}' has datatype {}, model '{}' expects {}", spec.name,
                                        datatype_name(input.datatype), request.model, datatype_name(spec.datatype)));
  }
  bool fits = input.shape.size() == spec.shape.size();
  for (size_t d = 1; fits && d < spec.shape.size(); ++d) fits = spec.shape[d] == -1 || input.shape[d] == spec.shape[d];
  if (!fits) {
    return invalid_argument(fmt::format("input '{}' has shape {}, model '{}' expects {}", spec.name,
                                        shape_to_string(input.shape), request.model, shape_to_string(spec.shape)));
  }
  if (input.shape[0] == 0) return invalid_argument(fmt::format("input '{}' is an empty batch", spec.name));
  return {};
}

}  // namespace

Status validate_request(const ModelConfig& config, std::shared_ptr<const InferRequest>& shared) {
  const InferRequest& request = *shared;
  if (request.positional_inputs) {
    if (Status s = check_positional(config, request); !s.is_ok()) return s;
  } else if (request.inputs.size() != config.inputs.size()) {
    return invalid_argument(fmt::format("model '{}' expects {} input(s), got {}", request.model,
                                        config.inputs.size(), request.inputs.size()));
  }
  // For each of the config's inputs, the request's input that feeds it.
  std::vector<size_t> source(config.inputs.size());
  bool in_order = true;
  int64_t batch = -1;
  for (size_t i = 0; i < config.inputs.size(); ++i) {
    const TensorSpec& spec = config.inputs[i];
    size_t at = i;
    if (!request.positional_inputs) {
      auto it = std::find_if(request.inputs.begin(), request.inputs.end(),
                             [&](const Tensor& t) { return t.name == spec.name; });
      if (it == request.inputs.end()) {
        return invalid_argument(fmt::format("missing input '{}' for model '{}'", spec.name, request.model));
      }
      at = static_cast<size_t>(it - request.inputs.begin());
    }
    const Tensor& input = request.inputs[at];
    if (Status s = check_shape(spec, input, request); !s.is_ok()) return s;
    if (batch != -1 && input.shape[0] != batch) {
      return invalid_argument(fmt::format("inputs disagree on the batch size ({} and {})", batch, input.shape[0]));
    }
    batch = input.shape[0];
    source[i] = at;
    in_order = in_order && at == i;
  }
  for (const std::string& name : request.requested_outputs) {
    if (!config.find_output(name)) {
      return invalid_argument(fmt::format("model '{}' has no output '{}'", request.model, name));
    }
  }
  if (!in_order) {
    auto reordered = std::make_shared<InferRequest>(request);
    for (size_t i = 0; i < source.size(); ++i) reordered->inputs[i] = request.inputs[source[i]];
    shared = std::move(reordered);
  }
  return {};
}

}  // namespace seraph
