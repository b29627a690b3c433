#pragma once
// The simple JSON API: POST /predict with {"text": ...}, {"features": [...]} or
// {"instances": [[...], ...]}, and POST /predict/batch with a list of those. Answers carry labels
// and scores instead of raw tensors.
#include <string>
#include <string_view>

#include "core/inference.h"
#include "core/status.h"
#include "models/model_config.h"

namespace seraph {

struct PredictRequest {
  InferRequest request;  // one unnamed, positional input: it feeds the serving model's single input
  bool many = false;     // answer with a "predictions" list rather than one prediction
};

Status parse_predict_body(std::string_view body, PredictRequest& out);
Status parse_predict_batch_body(std::string_view body, PredictRequest& out);

struct PredictAnswerContext {
  std::string_view request_id;
  double latency_ms = 0;
  bool many = false;
  ServedBy served_by;
};
std::string render_predict_response(const InferResponse& response, const ModelConfig& config,
                                    const PredictAnswerContext& context);

}  // namespace seraph
