#include "api/v2_adapter.h"

#include <cmath>
#include <limits>

#include <fmt/format.h>
#include <rapidjson/document.h>
#include <rapidjson/error/en.h>

#include "api/json_reader.h"
#include "api/json_writer.h"

namespace seraph {
namespace {

using rapidjson::Value;

Status parse_parameters(const Value& object, const std::string& where, Parameters& out) {
  if (!object.IsObject()) return invalid_argument(where + " must be an object");
  for (auto it = object.MemberBegin(); it != object.MemberEnd(); ++it) {
    std::string key(it->name.GetString(), it->name.GetStringLength());
    const Value& v = it->value;
    if (v.IsBool()) out.emplace_back(key, v.GetBool());
    else if (v.IsInt64()) out.emplace_back(key, v.GetInt64());
    else if (v.IsNumber()) out.emplace_back(key, v.GetDouble());
    else if (v.IsString()) out.emplace_back(key, std::string(v.GetString(), v.GetStringLength()));
    else return invalid_argument(fmt::format("{}.{} must be a boolean, number or string", where, key));
  }
  return {};
}

Status parse_input(const Value& input, size_t index, Tensor& tensor) {
  const std::string where = fmt::format("inputs[{}]", index);
  if (!input.IsObject()) return invalid_argument(where + " must be an object");
  auto name = input.FindMember("name");
  if (name == input.MemberEnd() || !name->value.IsString()) return invalid_argument(where + ".name must be a string");
  tensor.name.assign(name->value.GetString(), name->value.GetStringLength());

  auto datatype = input.FindMember("datatype");
  if (datatype == input.MemberEnd() || !datatype->value.IsString()) {
    return invalid_argument(fmt::format("input '{}': datatype must be a string", tensor.name));
  }
  std::string_view type_name(datatype->value.GetString(), datatype->value.GetStringLength());
  auto type = parse_datatype(type_name);
  if (!type) return invalid_argument(fmt::format("input '{}': unknown datatype '{}'", tensor.name, type_name));
  if (*type == DataType::kFp16 || *type == DataType::kBf16) {
    return invalid_argument(fmt::format("input '{}': datatype {} is not supported in JSON requests; send FP32",
                                        tensor.name, type_name));
  }
  tensor.datatype = *type;

  auto shape = input.FindMember("shape");
  if (shape == input.MemberEnd() || !shape->value.IsArray()) {
    return invalid_argument(fmt::format("input '{}': shape must be an array of integers", tensor.name));
  }
  for (const Value& dim : shape->value.GetArray()) {
    if (!dim.IsInt64() || dim.GetInt64() < 0) {
      return invalid_argument(fmt::format("input '{}': shape must hold non-negative integers", tensor.name));
    }
    tensor.shape.push_back(dim.GetInt64());
  }
  auto count = element_count(tensor.shape);
  if (!count) return invalid_argument(fmt::format("input '{}': shape {} is too large", tensor.name, shape_to_string(tensor.shape)));

  if (auto params = input.FindMember("parameters"); params != input.MemberEnd()) {
    Parameters ignored;  // no per-input parameter is defined yet; still reject malformed ones
    if (Status s = parse_parameters(params->value, fmt::format("input '{}': parameters", tensor.name), ignored); !s.is_ok()) return s;
  }
  auto data = input.FindMember("data");
  if (data == input.MemberEnd()) return invalid_argument(fmt::format("input '{}': data is required", tensor.name));
  return read_tensor_data(data->value, *count, tensor);
}

}  // namespace

Status parse_v2_infer_request(std::string_view body, InferRequest& request) {
  rapidjson::Document doc;
  if (Status s = parse_json(body, doc); !s.is_ok()) return s;
  if (!doc.IsObject()) return invalid_argument("the request body must be a JSON object");

  if (auto id = doc.FindMember("id"); id != doc.MemberEnd()) {
    if (!id->value.IsString()) return invalid_argument("id must be a string");
    request.id.assign(id->value.GetString(), id->value.GetStringLength());
  }
  if (auto params = doc.FindMember("parameters"); params != doc.MemberEnd()) {
    if (Status s = parse_parameters(params->value, "parameters", request.parameters); !s.is_ok()) return s;
  }
  auto inputs = doc.FindMember("inputs");
  if (inputs == doc.MemberEnd() || !inputs->value.IsArray()) return invalid_argument("inputs must be an array");
  if (inputs->value.Empty()) return invalid_argument("inputs must not be empty");
  request.inputs.resize(inputs->value.Size());
  for (rapidjson::SizeType i = 0; i < inputs->value.Size(); ++i) {
    if (Status s = parse_input(inputs->value[i], i, request.inputs[i]); !s.is_ok()) return s;
    for (rapidjson::SizeType j = 0; j < i; ++j) {
      if (request.inputs[j].name == request.inputs[i].name) {
        return invalid_argument(fmt::format("input '{}' appears twice", request.inputs[i].name));
      }
    }
  }
  if (auto outputs = doc.FindMember("outputs"); outputs != doc.MemberEnd()) {
    if (!outputs->value.IsArray()) return invalid_argument("outputs must be an array");
    for (rapidjson::SizeType i = 0; i < outputs->value.Size(); ++i) {
      const Value& out = outputs->value[i];
      if (!out.IsObject()) return invalid_argument(fmt::format("outputs[{}] must be an object", i));
      auto name = out.FindMember("name");
      if (name == out.MemberEnd() || !name->value.IsString()) {
        return invalid_argument(fmt::format("outputs[{}].name must be a string", i));
      }
      if (auto params = out.FindMember("parameters"); params != out.MemberEnd()) {
        Parameters ignored;
        if (Status s = parse_parameters(params->value, fmt::format("outputs[{}].parameters", i), ignored); !s.is_ok()) return s;
      }
      request.requested_outputs.emplace_back(name->value.GetString(), name->value.GetStringLength());
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

std::string render_v2_infer_response(const InferResponse& response) {
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
