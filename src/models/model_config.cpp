#include "models/model_config.h"

#include <charconv>
#include <cmath>
#include <cstring>

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

namespace seraph {

const TensorSpec* ModelConfig::find_input(std::string_view name) const {
  for (const auto& spec : inputs) {
    if (spec.name == name) return &spec;
  }
  return nullptr;
}

const TensorSpec* ModelConfig::find_output(std::string_view name) const {
  for (const auto& spec : outputs) {
    if (spec.name == name) return &spec;
  }
  return nullptr;
}

Status ModelConfig::parameter_int(const std::string& key, int fallback, int& value) const {
  auto it = parameters.find(key);
  if (it == parameters.end()) {
    value = fallback;
    return {};
  }
  const std::string& text = it->second;
  int parsed = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), parsed);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size()) {
    return invalid_argument("model.yaml: parameters." + key + ": must be an integer, got '" + text + "'");
  }
  value = parsed;
  return {};
}

namespace {

struct ConfigError {
  std::string path;
  std::string what;
};

// A scalar converted to T, or an error naming the key path and the expected kind.
template <class T>
T scalar(const YAML::Node& node, const std::string& path, const char* expected) {
  if (!node.IsScalar()) throw ConfigError{path, std::string("must be ") + expected};
  try {
    return node.as<T>();
  } catch (const YAML::Exception&) {
    throw ConfigError{path, std::string("must be ") + expected + ", got '" + node.Scalar() + "'"};
  }
}

std::string required_string(const YAML::Node& node, const std::string& key, const std::string& path) {
  const YAML::Node value = node[key];
  if (!value) throw ConfigError{path + key, "is required"};
  if (!value.IsScalar()) throw ConfigError{path + key, "must be a string"};
  return value.as<std::string>();
}

bool is_bounded_numeric(DataType type) {
  return type != DataType::kBool && type != DataType::kFp16 && type != DataType::kBf16 && type != DataType::kBytes;
}

// An input's validation keys (min, max, max_length, required); outputs take none of them.
void parse_input_rules(const YAML::Node& node, bool is_input, const std::string& path, TensorSpec& spec) {
  for (const char* key : {"min", "max", "max_length", "required"}) {
    if (node[key] && !is_input) throw ConfigError{path + key, "applies to inputs only"};
  }
  for (const char* key : {"min", "max"}) {
    const YAML::Node bound = node[key];
    if (!bound) continue;
    if (!is_bounded_numeric(spec.datatype)) {
      throw ConfigError{path + key, "applies to integer, FP32 and FP64 inputs, not " + std::string(datatype_name(spec.datatype))};
    }
    const auto value = scalar<double>(bound, path + key, "a number");
    if (!std::isfinite(value)) throw ConfigError{path + key, "must be a finite number, got '" + bound.Scalar() + "'"};
    (std::strcmp(key, "min") == 0 ? spec.min : spec.max) = value;
  }
  if (spec.min && spec.max && *spec.min > *spec.max) {
    throw ConfigError{path + "min", fmt::format("{} is above max {}", *spec.min, *spec.max)};
  }
  if (const YAML::Node length = node["max_length"]) {
    if (spec.datatype != DataType::kBytes) throw ConfigError{path + "max_length", "applies to BYTES inputs only"};
    spec.max_length = scalar<int64_t>(length, path + "max_length", "an integer");
    if (*spec.max_length < 0) throw ConfigError{path + "max_length", "must not be negative"};
  }
  if (const YAML::Node required = node["required"]) spec.required = scalar<bool>(required, path + "required", "true or false");
}

std::vector<TensorSpec> parse_tensor_specs(const YAML::Node& node, const std::string& key) {
  const YAML::Node list = node[key];
  if (!list) throw ConfigError{key, "is required"};
  if (!list.IsSequence() || list.size() == 0) throw ConfigError{key, "must be a non-empty list"};
  std::vector<TensorSpec> specs;
  for (size_t i = 0; i < list.size(); ++i) {
    const std::string path = key + "[" + std::to_string(i) + "].";
    TensorSpec spec;
    spec.name = required_string(list[i], "name", path);
    std::string type = required_string(list[i], "datatype", path);
    auto parsed = parse_datatype(type);
    if (!parsed) throw ConfigError{path + "datatype", "unknown datatype '" + type + "'"};
    spec.datatype = *parsed;
    const YAML::Node shape = list[i]["shape"];
    if (!shape || !shape.IsSequence() || shape.size() == 0) {
      throw ConfigError{path + "shape", "must be a non-empty list of integers (-1 for any size)"};
    }
    for (size_t d = 0; d < shape.size(); ++d) {
      int64_t dim = 0;
      try {
        dim = shape[d].as<int64_t>();
      } catch (const YAML::Exception&) {
        throw ConfigError{path + "shape[" + std::to_string(d) + "]", "must be an integer"};
      }
      if (dim < -1 || dim == 0) throw ConfigError{path + "shape[" + std::to_string(d) + "]", "must be -1 or positive"};
      spec.shape.push_back(dim);
    }
    if (spec.shape[0] != -1) throw ConfigError{path + "shape[0]", "is the batch dimension and must be -1"};
    parse_input_rules(list[i], key == "inputs", path, spec);
    specs.push_back(std::move(spec));
  }
  if (key == "inputs") {
    if (!specs[0].required) throw ConfigError{"inputs[0].required", "the first input carries the batch and must be required"};
    for (size_t i = 1; i < specs.size(); ++i) {
      if (specs[i].required && !specs[i - 1].required) {
        throw ConfigError{"inputs[" + std::to_string(i) + "]",
                          "a required input cannot follow an optional one (runtimes take inputs by position)"};
      }
    }
  }
  return specs;
}

// One warm-up sample: {input_name: [flat data of one row]}, shaped [1, ...] from the input's spec.
std::vector<Tensor> parse_warmup_sample(const YAML::Node& sample, const std::vector<TensorSpec>& inputs,
                                        const std::string& path) {
  if (!sample.IsMap()) throw ConfigError{path, "must map each input name to its data"};
  std::vector<Tensor> tensors;
  for (const TensorSpec& spec : inputs) {
    const YAML::Node data = sample[spec.name];
    const std::string where = path + "." + spec.name;
    if (!data || !data.IsSequence()) throw ConfigError{where, "must be a list of values (one row)"};
    Tensor t{spec.name, spec.datatype, spec.shape, {}, {}};
    t.shape[0] = 1;
    int64_t fixed = 1;
    int variable = -1;
    for (size_t d = 1; d < t.shape.size(); ++d) {
      if (t.shape[d] == -1) {
        if (variable != -1) throw ConfigError{where, "the input has several variable dimensions; warm-up cannot infer its shape"};
        variable = static_cast<int>(d);
      } else {
        fixed *= t.shape[d];
      }
    }
    const auto count = static_cast<int64_t>(data.size());
    if (variable != -1) {
      if (count % fixed != 0) throw ConfigError{where, "does not fill the input's shape"};
      t.shape[variable] = count / fixed;
    } else if (count != fixed) {
      throw ConfigError{where, "has " + std::to_string(count) + " values, the input takes " + std::to_string(fixed)};
    }
    const size_t width = datatype_size(spec.datatype);
    t.bytes.resize(static_cast<size_t>(count) * width);
    for (size_t i = 0; i < data.size(); ++i) {
      const std::string at = where + "[" + std::to_string(i) + "]";
      auto put = [&](auto value) { std::memcpy(t.bytes.data() + i * width, &value, sizeof value); };
      switch (spec.datatype) {
        case DataType::kBytes: t.strings.push_back(scalar<std::string>(data[i], at, "a string")); break;
        case DataType::kBool: put(static_cast<uint8_t>(scalar<bool>(data[i], at, "true or false"))); break;
        case DataType::kFp32: put(scalar<float>(data[i], at, "a number")); break;
        case DataType::kFp64: put(scalar<double>(data[i], at, "a number")); break;
        case DataType::kInt8: put(static_cast<int8_t>(scalar<int>(data[i], at, "an integer"))); break;
        case DataType::kInt16: put(scalar<int16_t>(data[i], at, "an integer")); break;
        case DataType::kInt32: put(scalar<int32_t>(data[i], at, "an integer")); break;
        case DataType::kInt64: put(scalar<int64_t>(data[i], at, "an integer")); break;
        case DataType::kUint8: put(static_cast<uint8_t>(scalar<unsigned>(data[i], at, "an integer"))); break;
        case DataType::kUint16: put(scalar<uint16_t>(data[i], at, "an integer")); break;
        case DataType::kUint32: put(scalar<uint32_t>(data[i], at, "an integer")); break;
        case DataType::kUint64: put(scalar<uint64_t>(data[i], at, "an integer")); break;
        default: throw ConfigError{where, "warm-up does not support datatype " + std::string(datatype_name(spec.datatype))};
      }
    }
    tensors.push_back(std::move(t));
  }
  return tensors;
}

}  // namespace

Status load_model_config(const std::filesystem::path& file, ModelConfig& config) {
  try {
    YAML::Node root = YAML::LoadFile(file.string());
    if (!root.IsMap()) return invalid_argument(file.string() + ": must be a mapping");
    config.runtime = required_string(root, "runtime", "");
    config.artifact = required_string(root, "artifact", "");
    if (config.artifact.find('/') != std::string::npos || config.artifact == "..") {
      throw ConfigError{"artifact", "must be a file name inside the version directory"};
    }
    if (root["description"]) config.description = scalar<std::string>(root["description"], "description", "a string");
    config.inputs = parse_tensor_specs(root, "inputs");
    config.outputs = parse_tensor_specs(root, "outputs");
    for (size_t i = 0; i < config.outputs.size(); ++i) {
      DataType type = config.outputs[i].datatype;
      if (type == DataType::kFp16 || type == DataType::kBf16) {
        throw ConfigError{"outputs[" + std::to_string(i) + "].datatype", "FP16 and BF16 outputs cannot be answered in JSON; declare FP32"};
      }
    }
    if (const YAML::Node labels = root["labels"]) {
      if (!labels.IsSequence()) throw ConfigError{"labels", "must be a list of strings"};
      for (size_t i = 0; i < labels.size(); ++i) {
        config.labels.push_back(scalar<std::string>(labels[i], "labels[" + std::to_string(i) + "]", "a string"));
      }
    }
    if (const YAML::Node params = root["parameters"]) {
      if (!params.IsMap()) throw ConfigError{"parameters", "must be a mapping"};
      for (const auto& kv : params) {
        const std::string key = kv.first.as<std::string>();
        config.parameters[key] = scalar<std::string>(kv.second, "parameters." + key, "a single value");
      }
    }
    if (const YAML::Node pre = root["preprocessing"]) {
      if (!pre.IsMap()) throw ConfigError{"preprocessing", "must be a mapping"};
      // A typo must not silently change how text is prepared: only true and false are accepted.
      auto flag = [&pre](const char* key) {
        const YAML::Node value = pre[key];
        return value ? scalar<bool>(value, std::string("preprocessing.") + key, "true or false") : false;
      };
      config.preprocessing.lowercase = flag("lowercase");
      config.preprocessing.separate_punctuation = flag("separate_punctuation");
    }
    if (const YAML::Node metrics = root["metrics"]) {
      if (!metrics.IsMap()) throw ConfigError{"metrics", "must be a mapping of name to number"};
      for (const auto& kv : metrics) {
        const std::string key = kv.first.as<std::string>();
        config.metrics[key] = scalar<double>(kv.second, "metrics." + key, "a number");
      }
    }
    if (const YAML::Node instances = root["instances"]) {
      config.instances = scalar<int>(instances, "instances", "an integer");
      if (config.instances < 1 || config.instances > 64) throw ConfigError{"instances", "must be between 1 and 64"};
    }
    if (const YAML::Node warmup = root["warmup"]) {
      if (!warmup.IsSequence()) throw ConfigError{"warmup", "must be a list of samples"};
      for (size_t i = 0; i < warmup.size(); ++i) {
        config.warmup.push_back(parse_warmup_sample(warmup[i], config.inputs, "warmup[" + std::to_string(i) + "]"));
      }
    }
    if (const YAML::Node execution = root["execution"]) {
      config.execution = scalar<std::string>(execution, "execution", "auto, inline or queued");
      if (config.execution != "auto" && config.execution != "inline" && config.execution != "queued") {
        throw ConfigError{"execution", "must be auto, inline or queued, got '" + config.execution + "'"};
      }
    }
    if (const YAML::Node threshold = root["inline_threshold_us"]) {
      config.inline_threshold_us = scalar<int64_t>(threshold, "inline_threshold_us", "an integer");
      if (config.inline_threshold_us < 0) throw ConfigError{"inline_threshold_us", "must not be negative"};
    }
    if (const YAML::Node load = root["load"]) {
      config.load = scalar<std::string>(load, "load", "eager or lazy");
      if (config.load != "eager" && config.load != "lazy") throw ConfigError{"load", "must be eager or lazy, got '" + config.load + "'"};
    }
    if (const YAML::Node memory = root["memory_bytes"]) {
      config.memory_bytes = scalar<int64_t>(memory, "memory_bytes", "an integer");
      if (config.memory_bytes < 0) throw ConfigError{"memory_bytes", "must not be negative"};
    }
    if (const YAML::Node size = root["max_queue_size"]) {
      config.max_queue_size = scalar<int>(size, "max_queue_size", "an integer");
      if (config.max_queue_size < 1) throw ConfigError{"max_queue_size", "must be at least 1"};
    }
    if (const YAML::Node limit = root["max_request_batch"]) {
      config.max_request_batch = scalar<int64_t>(limit, "max_request_batch", "an integer");
      if (config.max_request_batch < 1) throw ConfigError{"max_request_batch", "must be at least 1"};
    }
    if (const YAML::Node batching = root["batching"]) {
      if (!batching.IsMap()) throw ConfigError{"batching", "must be a mapping"};
      for (const auto& kv : batching) {
        const std::string key = kv.first.as<std::string>();
        if (key == "max_batch_size") {
          config.max_batch_size = scalar<int>(kv.second, "batching.max_batch_size", "an integer");
          if (config.max_batch_size < 0 || config.max_batch_size > 65536) {
            throw ConfigError{"batching.max_batch_size", "must be between 0 and 65536"};
          }
        } else if (key == "max_queue_delay_us") {
          config.max_queue_delay_us = scalar<int64_t>(kv.second, "batching.max_queue_delay_us", "an integer");
          if (config.max_queue_delay_us < 0 || config.max_queue_delay_us > 10'000'000) {
            throw ConfigError{"batching.max_queue_delay_us", "must be between 0 and 10000000"};
          }
        } else {
          throw ConfigError{"batching." + key, "unknown key (max_batch_size, max_queue_delay_us)"};
        }
      }
    }
  } catch (const ConfigError& e) {
    return invalid_argument(file.string() + ": " + e.path + ": " + e.what);
  } catch (const YAML::Exception& e) {
    return invalid_argument(file.string() + ": " + e.what());
  }
  return {};
}

}  // namespace seraph
