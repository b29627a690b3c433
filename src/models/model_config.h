#pragma once
// The contents of `<repo>/<model>/<version>/model.yaml`: which runtime, which artifact, and the
// model's tensor contract.
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/status.h"
#include "core/tensor.h"
#include "models/text_preprocess.h"

namespace seraph {

struct TensorSpec {
  std::string name;
  DataType datatype = DataType::kFp32;
  Shape shape;  // first dimension is the batch (-1); -1 elsewhere means any size
  // What a client's data must keep to (inputs only; model.yaml's validation keys). A bound on a
  // numeric input applies to every element, and refuses NaN and infinities.
  std::optional<double> min = std::nullopt;
  std::optional<double> max = std::nullopt;
  std::optional<int64_t> max_length = std::nullopt;  // BYTES: bytes per element
  // Optional inputs come after the required ones: runtimes take inputs by position, so a request
  // may leave out only a tail of them.
  bool required = true;

  bool has_value_rules() const { return min || max || max_length; }
};

struct ModelConfig {
  std::string runtime;                  // "fasttext", "xgboost", "torchscript"
  std::string artifact;                 // file name inside the version directory
  std::string description;
  std::vector<TensorSpec> inputs;
  std::vector<TensorSpec> outputs;
  std::vector<std::string> labels;      // class names, by output column
  std::map<std::string, std::string> parameters;  // runtime-specific settings, e.g. top_k
  TextPreprocessing preprocessing;
  std::map<std::string, double> metrics;          // e.g. held-out accuracy recorded at build time
  int instances = 1;                    // execution threads for this version
  // Dynamic batching (batching: {max_batch_size, max_queue_delay_us}); 0 or 1 rows: no merging.
  int max_batch_size = 0;
  int64_t max_queue_delay_us = 0;
  // The most rows (first dimension) a client may send in one request; 0: no limit. Not the
  // batcher's max_batch_size, which bounds what the server merges.
  int64_t max_request_batch = 0;
  int max_queue_size = 0;               // 0: the server's models.max_queue
  std::string load;                     // "eager" or "lazy"; empty: the server's models.load_policy
  // Where requests run: "queued" on the execution threads, "inline" on the I/O thread that read
  // them (no hand-off; only for cheap models), or "auto": inline while batching is off and recent
  // runtime calls took under inline_threshold_us.
  std::string execution = "auto";
  int64_t inline_threshold_us = 200;
  int64_t memory_bytes = 0;             // declared footprint; 0: measured at load
  // Sample requests run after loading, before the version turns READY (warmup: [{input: [data]}]).
  std::vector<std::vector<Tensor>> warmup;

  const TensorSpec* find_input(std::string_view name) const;
  const TensorSpec* find_output(std::string_view name) const;
  // parameters[key] as a whole integer (`fallback` when absent); an error naming the key when the
  // value is not one, trailing characters included ("3x").
  Status parameter_int(const std::string& key, int fallback, int& value) const;
};

// Parses model.yaml; a failure names the key path and what is wrong ("inputs[0].datatype: ...").
Status load_model_config(const std::filesystem::path& file, ModelConfig& config);

}  // namespace seraph
