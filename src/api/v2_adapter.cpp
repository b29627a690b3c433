#include "api/v2_adapter.h"

#include <algorithm>
#include <array>

#include "wire/json_writer.h"

namespace seraph {
namespace {

void write_tensor_specs(JsonWriter& w, const std::vector<TensorSpec>& specs) {
  w.StartArray();
  for (const auto& spec : specs) {
    w.StartObject();
    write_v2_tensor_header(w, spec.name, spec.datatype, spec.shape);
    w.EndObject();
  }
  w.EndArray();
}

// Triton's model_config.proto spelling: TYPE_FP32, and TYPE_STRING for BYTES.
std::string triton_data_type(DataType type) {
  if (type == DataType::kBytes) return "TYPE_STRING";
  return "TYPE_" + std::string(datatype_name(type));
}

// Triton leaves the batch dimension out of dims when the model batches (max_batch_size > 0):
// ours batches when every tensor's first dimension is the variable batch dimension.
bool batches(const ModelConfig& config) {
  if (config.max_batch_size < 1) return false;
  auto leading_batch = [](const TensorSpec& s) { return !s.shape.empty() && s.shape[0] == -1; };
  return std::all_of(config.inputs.begin(), config.inputs.end(), leading_batch) &&
         std::all_of(config.outputs.begin(), config.outputs.end(), leading_batch);
}

void write_config_tensors(JsonWriter& w, const std::vector<TensorSpec>& specs, bool strip_batch) {
  w.StartArray();
  for (const auto& spec : specs) {
    w.StartObject();
    write_key(w, "name");
    write_string(w, spec.name);
    write_key(w, "data_type");
    write_string(w, triton_data_type(spec.datatype));
    write_key(w, "dims");
    w.StartArray();
    for (size_t i = strip_batch ? 1 : 0; i < spec.shape.size(); ++i) w.Int64(spec.shape[i]);
    w.EndArray();
    w.EndObject();
  }
  w.EndArray();
}

void write_duration_stat(JsonWriter& w, std::string_view key, const DurationStat& stat) {
  write_text_key(w, key);
  w.StartObject();
  write_key(w, "count");
  w.Uint64(stat.count());
  write_key(w, "ns");
  w.Uint64(stat.ns());
  w.EndObject();
}

std::string document(const rapidjson::StringBuffer& buffer) { return {buffer.GetString(), buffer.GetSize()}; }

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
  return document(buffer);
}

std::string render_v2_server_metadata() {
  // Triton's extension names, for clients that look before they use one.
  static constexpr std::array<std::string_view, 4> kExtensions{"binary_tensor_data", "model_repository", "statistics",
                                                               "model_configuration"};
  rapidjson::StringBuffer buffer;
  JsonWriter w(buffer);
  w.StartObject();
  write_key(w, "name");
  write_string(w, "seraph");
  write_key(w, "version");
  write_string(w, SERAPH_VERSION);
  write_key(w, "extensions");
  w.StartArray();
  for (std::string_view e : kExtensions) write_string(w, e);
  w.EndArray();
  w.EndObject();
  return document(buffer);
}

std::string render_v2_model_config(const std::string& name, const ModelConfig& config) {
  const bool batching = batches(config);
  rapidjson::StringBuffer buffer;
  JsonWriter w(buffer);
  w.StartObject();
  write_key(w, "name");
  write_string(w, name);
  write_key(w, "platform");
  write_string(w, config.runtime);
  write_key(w, "backend");
  write_string(w, config.runtime);
  write_key(w, "max_batch_size");
  w.Int(batching ? config.max_batch_size : 0);
  write_key(w, "input");
  write_config_tensors(w, config.inputs, batching);
  write_key(w, "output");
  write_config_tensors(w, config.outputs, batching);
  if (config.max_batch_size > 1) {
    write_key(w, "dynamic_batching");
    w.StartObject();
    write_key(w, "max_queue_delay_microseconds");
    w.Int64(config.max_queue_delay_us);
    if (config.max_queue_size > 0) {
      write_key(w, "default_queue_policy");
      w.StartObject();
      write_key(w, "max_queue_size");
      w.Int(config.max_queue_size);
      w.EndObject();
    }
    w.EndObject();
  }
  write_key(w, "instance_group");
  w.StartArray();
  w.StartObject();
  write_key(w, "name");
  write_string(w, name);
  write_key(w, "kind");
  write_string(w, "KIND_CPU");
  write_key(w, "count");
  w.Int(config.instances);
  w.EndObject();
  w.EndArray();
  write_key(w, "default_model_filename");
  write_string(w, config.artifact);
  write_key(w, "parameters");
  w.StartObject();
  for (const auto& [key, value] : config.parameters) {
    write_text_key(w, key);
    w.StartObject();
    write_key(w, "string_value");
    write_string(w, value);
    w.EndObject();
  }
  w.EndObject();
  w.EndObject();
  return document(buffer);
}

std::string render_v2_model_stats(const std::vector<ModelStatsEntry>& entries) {
  rapidjson::StringBuffer buffer;
  JsonWriter w(buffer);
  w.StartObject();
  write_key(w, "model_stats");
  w.StartArray();
  for (const ModelStatsEntry& e : entries) {
    const InferenceStatistics& s = e.statistics;
    w.StartObject();
    write_key(w, "name");
    write_string(w, e.name);
    write_key(w, "version");
    write_string(w, std::to_string(e.version));
    write_key(w, "last_inference");
    w.Int64(s.last_inference_ms());
    write_key(w, "inference_count");
    w.Uint64(s.inference_count());
    write_key(w, "execution_count");
    w.Uint64(s.execution_count());
    write_key(w, "inference_stats");
    w.StartObject();
    write_duration_stat(w, "success", s.success());
    write_duration_stat(w, "fail", s.fail());
    write_duration_stat(w, "queue", s.queue());
    write_duration_stat(w, "compute_input", s.compute_input());
    write_duration_stat(w, "compute_infer", s.compute_infer());
    write_duration_stat(w, "compute_output", s.compute_output());
    w.EndObject();
    w.EndObject();
  }
  w.EndArray();
  w.EndObject();
  return document(buffer);
}

}  // namespace seraph
