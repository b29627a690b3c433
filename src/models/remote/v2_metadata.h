#pragma once
// What the remote backend reads from a V2 server besides inference answers: the server metadata's
// extensions (GET /v2) and a model's tensor contract (GET /v2/models/{m}[/versions/{v}]).
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"
#include "models/model_config.h"

namespace seraph {

Status parse_v2_server_extensions(std::string_view body, std::vector<std::string>& extensions);
// Inputs and outputs (name, datatype, shape) of the model metadata document, and class labels when
// the server lists them in "parameters.labels".
Status parse_v2_model_metadata(std::string_view body, ModelConfig& contract);
// The "error" member of a V2 error body, else the body itself (trimmed to a readable length).
std::string v2_error_message(std::string_view body);

}  // namespace seraph
