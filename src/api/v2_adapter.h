#pragma once
// KServe Open Inference Protocol V2 over REST: the metadata documents, and Triton's model
// configuration and statistics extensions. The inference messages are in wire/v2_infer.h.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "models/model_config.h"
#include "observe/inference_statistics.h"
#include "wire/v2_infer.h"

namespace seraph {

std::string render_v2_model_metadata(const std::string& name, const std::vector<int64_t>& versions,
                                     const ModelConfig& config);
// Lists the extensions beyond the core protocol that the server supports.
std::string render_v2_server_metadata();

// GET /v2/models/{m}[/versions/{v}]/config: the configuration in the shape of Triton's ModelConfig
// (name, platform, backend, max_batch_size, input, output with TYPE_* data types and dims,
// dynamic_batching, instance_group, parameters). With max_batch_size above 0, dims leave out the
// batch dimension, as in Triton.
std::string render_v2_model_config(const std::string& name, const ModelConfig& config);

// One version's statistics, for render_v2_model_stats.
struct ModelStatsEntry {
  std::string_view name;
  int64_t version = 0;
  const InferenceStatistics& statistics;
};
// GET /v2/models[/{m}[/versions/{v}]]/stats: {"model_stats": [...]} in Triton's statistics extension's shape.
std::string render_v2_model_stats(const std::vector<ModelStatsEntry>& entries);

}  // namespace seraph
