#include "models/remote/v2_metadata.h"

#include <fmt/format.h>

#include "wire/json_reader.h"

namespace seraph {
namespace {

Status read_specs(JsonValue root, std::string_view key, std::vector<TensorSpec>& out) {
  auto list = member(root, key);
  simdjson::dom::array items;
  if (!list || list->get(items)) return invalid_argument(fmt::format("model metadata: '{}' must be an array", key));
  for (JsonValue item : items) {
    TensorSpec spec;
    std::string_view name, datatype;
    simdjson::dom::array shape;
    if (item["name"].get(name) || item["datatype"].get(datatype) || item["shape"].get(shape)) {
      return invalid_argument(fmt::format("model metadata: each of '{}' needs name, datatype and shape", key));
    }
    auto type = parse_datatype(datatype);
    if (!type) return invalid_argument(fmt::format("model metadata: unknown datatype '{}'", datatype));
    spec.name = name;
    spec.datatype = *type;
    for (JsonValue d : shape) {
      int64_t size = 0;
      if (d.get(size))
        return invalid_argument(fmt::format("model metadata: the shape of '{}' must hold integers", name));
      spec.shape.push_back(size);
    }
    out.push_back(std::move(spec));
  }
  return {};
}

}  // namespace

Status parse_v2_server_extensions(std::string_view body, std::vector<std::string>& extensions) {
  JsonValue root;
  if (Status s = parse_json(body, root); !s.is_ok()) return s;
  auto list = member(root, "extensions");
  simdjson::dom::array items;
  if (!list || list->get(items)) return {};  // no extensions listed: the core protocol only
  for (JsonValue item : items) {
    std::string_view name;
    if (!item.get(name)) extensions.emplace_back(name);
  }
  return {};
}

Status parse_v2_model_metadata(std::string_view body, ModelConfig& contract) {
  JsonValue root;
  if (Status s = parse_json(body, root); !s.is_ok()) return s;
  if (Status s = read_specs(root, "inputs", contract.inputs); !s.is_ok()) return s;
  if (Status s = read_specs(root, "outputs", contract.outputs); !s.is_ok()) return s;
  if (auto platform = member(root, "platform")) {
    std::string_view p;
    if (!platform->get(p)) contract.runtime = p;
  }
  simdjson::dom::array labels;
  if (auto parameters = member(root, "parameters"); parameters && !(*parameters)["labels"].get(labels)) {
    for (JsonValue l : labels) {
      std::string_view label;
      if (!l.get(label)) contract.labels.emplace_back(label);
    }
  }
  return {};
}

std::string v2_error_message(std::string_view body) {
  JsonValue root;
  std::string_view error;
  if (parse_json(body, root).is_ok() && root.is_object() && !root["error"].get(error)) return std::string(error);
  return std::string(body.substr(0, 200));
}

}  // namespace seraph
