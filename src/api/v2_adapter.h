#pragma once
// KServe Open Inference Protocol V2 over REST: JSON <-> core inference types, and the metadata
// documents.
#include <string>
#include <string_view>

#include "core/inference.h"
#include "core/status.h"
#include "models/model_version.h"

namespace seraph {

// Parses an inference request body. `request.model` and `request.version` come from the URL and are
// left untouched.
Status parse_v2_infer_request(std::string_view body, InferRequest& request);

// With `served_by` set, "parameters" says which deployment, environment and variant answered.
std::string render_v2_infer_response(const InferResponse& response, const ServedBy& served_by = {});
std::string render_v2_model_metadata(const std::string& name, const std::vector<int64_t>& versions,
                                     const ModelConfig& config);
std::string render_v2_server_metadata();

}  // namespace seraph
