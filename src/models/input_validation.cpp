#include "models/input_validation.h"

#include <algorithm>
#include <cmath>
#include <span>
#include <type_traits>

#include <boost/container/small_vector.hpp>
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

// Every element of a numeric input within [min, max]. long double holds every int64 and uint64
// exactly, so integer bounds are exact.
template <class T>
Status check_range(const TensorSpec& spec, const Tensor& input) {
  const std::span<const T> values = input.values<T>();
  for (size_t i = 0; i < values.size(); ++i) {
    const auto v = static_cast<long double>(values[i]);
    if constexpr (std::is_floating_point_v<T>) {
      if (!std::isfinite(values[i])) {
        return invalid_argument(fmt::format("input '{}': value {} at index {} is not a finite number", spec.name,
                                            values[i], i));
      }
    }
    if (spec.min && v < static_cast<long double>(*spec.min)) {
      return invalid_argument(
          fmt::format("input '{}': value {} at index {} is below the minimum {}", spec.name, values[i], i, *spec.min));
    }
    if (spec.max && v > static_cast<long double>(*spec.max)) {
      return invalid_argument(
          fmt::format("input '{}': value {} at index {} is above the maximum {}", spec.name, values[i], i, *spec.max));
    }
  }
  return {};
}

Status check_lengths(const TensorSpec& spec, const Tensor& input) {
  for (size_t i = 0; i < input.strings.size(); ++i) {
    if (static_cast<int64_t>(input.strings[i].size()) > *spec.max_length) {
      return invalid_argument(fmt::format("input '{}': element {} is {} bytes, above max_length {}", spec.name, i,
                                          input.strings[i].size(), *spec.max_length));
    }
  }
  return {};
}

// The model.yaml rules on an input's values; the parser allows bounds only on the types below.
Status check_values(const TensorSpec& spec, const Tensor& input) {
  if (spec.max_length) return check_lengths(spec, input);
  switch (spec.datatype) {
    case DataType::kUint8: return check_range<uint8_t>(spec, input);
    case DataType::kUint16: return check_range<uint16_t>(spec, input);
    case DataType::kUint32: return check_range<uint32_t>(spec, input);
    case DataType::kUint64: return check_range<uint64_t>(spec, input);
    case DataType::kInt8: return check_range<int8_t>(spec, input);
    case DataType::kInt16: return check_range<int16_t>(spec, input);
    case DataType::kInt32: return check_range<int32_t>(spec, input);
    case DataType::kInt64: return check_range<int64_t>(spec, input);
    case DataType::kFp32: return check_range<float>(spec, input);
    case DataType::kFp64: return check_range<double>(spec, input);
    default: return {};
  }
}

Status count_mismatch(const ModelConfig& config, const InferRequest& request, size_t required) {
  if (required == config.inputs.size()) {
    return invalid_argument(fmt::format("model '{}' expects {} input(s), got {}", request.model, config.inputs.size(),
                                        request.inputs.size()));
  }
  return invalid_argument(fmt::format("model '{}' expects {} to {} inputs, got {}", request.model, required,
                                      config.inputs.size(), request.inputs.size()));
}

}  // namespace

Status validate_request(const ModelConfig& config, std::shared_ptr<const InferRequest>& shared) {
  const InferRequest& request = *shared;
  size_t required = config.inputs.size();
  while (required > 0 && !config.inputs[required - 1].required) --required;  // optional inputs are a tail
  if (request.positional_inputs) {
    if (Status s = check_positional(config, request); !s.is_ok()) return s;
  } else if (request.inputs.size() < required || request.inputs.size() > config.inputs.size()) {
    return count_mismatch(config, request, required);
  }
  // For each of the config's inputs the request sends, the request's input that feeds it: a
  // prefix of the config's inputs, since runtimes take them by position.
  boost::container::small_vector<size_t, 8> source;  // no allocation per request for up to 8 inputs
  bool in_order = true;
  int64_t batch = -1;
  for (size_t i = 0; i < config.inputs.size(); ++i) {
    const TensorSpec& spec = config.inputs[i];
    size_t at = i;
    if (!request.positional_inputs) {
      auto it = std::find_if(request.inputs.begin(), request.inputs.end(),
                             [&](const Tensor& t) { return t.name == spec.name; });
      if (it == request.inputs.end()) {
        if (spec.required) {
          return invalid_argument(fmt::format("missing input '{}' for model '{}'", spec.name, request.model));
        }
        break;  // the optional tail starts here; inputs after it are refused below
      }
      at = static_cast<size_t>(it - request.inputs.begin());
    }
    const Tensor& input = request.inputs[at];
    if (Status s = check_shape(spec, input, request); !s.is_ok()) return s;
    if (batch != -1 && input.shape[0] != batch) {
      return invalid_argument(fmt::format("inputs disagree on the batch size ({} and {})", batch, input.shape[0]));
    }
    batch = input.shape[0];
    source.push_back(at);
    in_order = in_order && at == i;
  }
  if (source.size() != request.inputs.size()) {
    // An input the loop did not take: a name the model lacks, a repeated one, or an optional input
    // sent without the optional ones before it.
    for (size_t at = 0; at < request.inputs.size(); ++at) {
      if (std::find(source.begin(), source.end(), at) != source.end()) continue;
      const std::string& name = request.inputs[at].name;
      const TensorSpec* spec = config.find_input(name);
      if (!spec) return invalid_argument(fmt::format("model '{}' has no input '{}'", request.model, name));
      if (static_cast<size_t>(spec - config.inputs.data()) < source.size()) {
        return invalid_argument(fmt::format("input '{}' is sent more than once", name));
      }
      return invalid_argument(fmt::format("input '{}' is sent without optional input '{}' before it; runtimes take "
                                          "inputs by position",
                                          name, config.inputs[source.size()].name));
    }
  }
  if (config.max_request_batch > 0 && batch > config.max_request_batch) {
    return invalid_argument(fmt::format("model '{}' takes at most {} rows per request (max_request_batch), got {}",
                                        request.model, config.max_request_batch, batch));
  }
  for (size_t i = 0; i < source.size(); ++i) {
    const TensorSpec& spec = config.inputs[i];
    if (!spec.has_value_rules()) continue;
    if (Status s = check_values(spec, request.inputs[source[i]]); !s.is_ok()) return s;
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
