#include "api/v2_adapter.h"

#include <cmath>
#include <limits>

#include <fmt/format.h>

#include "api/json_reader.h"
#include "api/json_writer.h"

namespace seraph {
namespace {

namespace dom = simdjson::dom;

Status parse_parameters(JsonValue value, const std::string& where, Parameters& out) {
  dom::object object;
  if (value.get(object)) return invalid_argument(where + " must be an object");
  for (auto [key_view, v] : object) {
    std::string key(key_view);
    switch (v.type()) {
      case dom::element_type::BOOL: out.emplace_back(key, bool(v)); break;
      case dom::element_type::INT64: out.emplace_back(key, int64_t(v)); break;
      case dom::element_type::UINT64: out.emplace_back(key, static_cast<double>(uint64_t(v))); break;
      case dom::element_type::DOUBLE: out.emplace_back(key, double(v)); break;
      case dom::element_type::STRING: out.emplace_back(key, std::string(std::string_view(v))); break;
      default: return invalid_argument(fmt::format("{}.{} must be a boolean, number or string", where, key));
    }
  }
  return {};
}

Status parse_input(JsonValue input, size_t index, Tensor& tensor) {
  const std::string where = fmt::format("inputs[{}]", index);
  if (!input.is_object()) return invalid_argument(where + " must be an object");
  std::string_view name;
  auto name_value = member(input, "name");
  if (!name_value || name_value->get(name)) return invalid_argument(where + ".name must be a string");
  tensor.name = name;

  std::string_view type_name;
  auto datatype = member(input, "datatype");
  if (!datatype || datatype->get(type_name)) {
    return invalid_argument(fmt::format("input '{}': datatype must be a string", tensor.name));
  }
  auto type = parse_datatype(type_name);
  if (!type) return invalid_argument(fmt::format("input '{}': unknown datatype '{}'", tensor.name, type_name));
  if (*type == DataType::kFp16 || *type == DataType::kBf16) {
    return invalid_argument(fmt::format("input '{}': datatype {} is not supported in JSON requests; send FP32",
                                        tensor.name, type_name));
  }
  tensor.datatype = *type;

  dom::array shape;
  auto shape_value = member(input, "shape");
  if (!shape_value || shape_value->get(shape)) {
    return invalid_argument(fmt::format("input '{}': shape must be an array of integers", tensor.name));
  }
  for (JsonValue dim : shape) {
    int64_t d = 0;
    if (dim.get(d) || d < 0) {
      return invalid_argument(fmt::format("input '{}': shape must hold non-negative integers", tensor.name));
    }
    tensor.shape.push_back(d);
  }
  auto count = element_count(tensor.shape);
  if (!count) return invalid_argument(fmt::format("input '{}': shape {} is too large", tensor.name, shape_to_string(tensor.shape)));

  if (auto params = member(input, "parameters")) {
    Parameters ignored;  // no per-input parameter is defined yet; still reject malformed ones
    if (Status s = parse_parameters(*params, fmt::format("input '{}': parameters", tensor.name), ignored); !s.is_ok()) return s;
  }
  auto data = member(input, "data");
  if (!data) return invalid_argument(fmt::format("input '{}': data is required", tensor.name));
  return read_tensor_data(*data, *count, tensor);
}

}  // namespace

Status parse_v2_infer_request(std::string_view body, InferRequest& request) {
  JsonValue doc;
  if (Status s = parse_json(body, doc); !s.is_ok()) return s;
  if (!doc.is_object()) return invalid_argument("the request body must be a JSON object");

  if (auto id = member(doc, "id")) {
    std::string_view text;
    if (id->get(text)) return invalid_argument("id must be a string");
    request.id = text;
  }
  if (auto params = member(doc, "parameters")) {
    if (Status s = parse_parameters(*params, "parameters", request.parameters); !s.is_ok()) return s;
  }
  dom::array inputs;
  auto inputs_value = member(doc, "inputs");
  if (!inputs_value || inputs_value->get(inputs)) return invalid_argument("inputs must be an array");
  if (inputs.size() == 0) return invalid_argument("inputs must not be empty");
  request.inputs.reserve(inputs.size());
  size_t index = 0;
  for (JsonValue input : inputs) {
    Tensor& tensor = request.inputs.emplace_back();
    if (Status s = parse_input(input, index++, tensor); !s.is_ok()) return s;
    for (size_t j = 0; j + 1 < request.inputs.size(); ++j) {
      if (request.inputs[j].name == tensor.name) return invalid_argument(fmt::format("input '{}' appears twice", tensor.name));
    }
  }
  if (auto outputs_value = member(doc, "outputs")) {
    dom::array outputs;
    if (outputs_value->get(outputs)) return invalid_argument("outputs must be an array");
    size_t i = 0;
    for (JsonValue out : outputs) {
      std::string_view name;
      if (!out.is_object()) return invalid_argument(fmt::format("outputs[{}] must be an object", i));
      auto name_value = member(out, "name");
      if (!name_value || name_value->get(name)) return invalid_argument(fmt::format("outputs[{}].name must be a string", i));
      if (auto params = member(out, "parameters")) {
        Parameters ignored;
        if (Status s = parse_parameters(*params, fmt::format("outputs[{}].parameters", i), ignored); !s.is_ok()) return s;
      }
      request.requested_outputs.emplace_back(name);
      ++i;
    }
  }
  return {};
}

namespace {
// "name", "datatype" and "shape": what tensor metadata and response outputs have in common.
void write_tensor_header(JsonWriter& w, const std::string& name, DataType datatype, const Shape& shape) {
  write_key(w, "name");
  write_string(w, name);
  write_key(w, "datatype");
  write_string(w, datatype_name(datatype));
  write_key(w, "shape");
  w.StartArray();
  for (int64_t d : shape) w.Int64(d);
  w.EndArray();
}
}  // namespace

std::string render_v2_infer_response(const InferResponse& response, const ServedBy& served_by) {
  rapidjson::StringBuffer buffer;
  JsonWriter w(buffer);
  w.StartObject();
  write_key(w, "model_name");
  write_string(w, response.model);
  write_key(w, "model_version");
  write_string(w, std::to_string(response.version));
  if (!response.id.empty()) {
    write_key(w, "id");
    write_string(w, response.id);
  }
  if (!served_by.deployment.empty()) {
    write_key(w, "parameters");
    w.StartObject();
    write_served_by(w, served_by);
    w.EndObject();
  }
  write_key(w, "outputs");
  w.StartArray();
  for (const Tensor& t : response.outputs) {
    w.StartObject();
    write_tensor_header(w, t.name, t.datatype, t.shape);
    write_key(w, "data");
    write_tensor_data(w, t);
    w.EndObject();
  }
  w.EndArray();
  w.EndObject();
  return {buffer.GetString(), buffer.GetSize()};
}

namespace {
void write_tensor_specs(JsonWriter& w, const std::vector<TensorSpec>& specs) {
  w.StartArray();
  for (const auto& spec : specs) {
    w.StartObject();
    write_tensor_header(w, spec.name, spec.datatype, spec.shape);
    w.EndObject();
  }
  w.EndArray();
}
}  // namespace

std::string render_v2_model_metadata(const std::string& name, const std::vector<int64_t>& versions,
                                     const ModelConfig& config) {
  rapidjson::StringBuffer buffer;
  JsonWriter w(buffer);
  w.StartObject();
  write_key(w, "name");
  write_string(w, name);
  write_key(w, "versions");
  w.StartArray();
  for (int64_t v : versions) write_string(w, std::to_string(v));
  w.EndArray();
  write_key(w, "platform");
  write_string(w, config.runtime);
  write_key(w, "inputs");
  write_tensor_specs(w, config.inputs);
  write_key(w, "outputs");
  write_tensor_specs(w, config.outputs);
  w.EndObject();
  return {buffer.GetString(), buffer.GetSize()};
}

std::string render_v2_server_metadata() {
  rapidjson::StringBuffer buffer;
  JsonWriter w(buffer);
  w.StartObject();
  write_key(w, "name");
  write_string(w, "seraph");
  write_key(w, "version");
  write_string(w, SERAPH_VERSION);
  write_key(w, "extensions");
  w.StartArray();
  w.EndArray();
  w.EndObject();
  return {buffer.GetString(), buffer.GetSize()};
}

}  // namespace seraph
