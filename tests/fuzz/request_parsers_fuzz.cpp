// Fuzz target for everything that reads untrusted request bytes: the KServe V2 and /predict body
// parsers, input validation against a model contract, request-target parsing, and the admin API's
// readers of deployments, faults and rollout specs. Any crash,
// sanitizer report or hang is a bug; errors are the expected answer to garbage.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "api/json_reader.h"
#include "api/predict_adapter.h"
#include "control/deployments.h"
#include "control/records_json.h"
#include "control/rollout_controller.h"
#include "api/url.h"
#include "api/v2_adapter.h"
#include "models/input_validation.h"

namespace {

seraph::ModelConfig contract() {
  seraph::ModelConfig config;
  config.runtime = "torchscript";
  config.inputs = {{"input", seraph::DataType::kFp32, {-1, 4}}, {"mask", seraph::DataType::kBool, {-1, -1}}};
  config.outputs = {{"probabilities", seraph::DataType::kFp32, {-1, 3}}};
  config.labels = {"a", "b", "c"};
  return config;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const seraph::ModelConfig config = contract();
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);

  seraph::InferRequest v2;
  if (seraph::parse_v2_infer_request(bytes, v2).is_ok()) {
    auto shared = std::make_shared<const seraph::InferRequest>(std::move(v2));
    if (seraph::validate_request(config, shared).is_ok()) {
      seraph::InferResponse response{"m", 1, shared->id, shared->inputs, 0};
      (void)seraph::render_v2_infer_response(response);
    }
  }
  for (bool batch : {false, true}) {
    seraph::PredictRequest predict;
    const auto status = batch ? seraph::parse_predict_batch_body(bytes, predict) : seraph::parse_predict_body(bytes, predict);
    if (status.is_ok()) {
      auto shared = std::make_shared<const seraph::InferRequest>(std::move(predict.request));
      if (seraph::validate_request(config, shared).is_ok() && shared->inputs.size() != 1) __builtin_trap();
    }
  }
  // Admin bodies: whatever parses is validated, and what is valid survives a round trip.
  seraph::JsonValue admin;
  if (seraph::parse_json(bytes, admin).is_ok() && admin.is_object()) {
    seraph::DeploymentRecord deployment{"fuzz", "production", "", {}, 0};
    if (auto variants = seraph::member(admin, "variants");
        variants && seraph::read_variants(*variants, "variants", deployment.variants).is_ok() &&
        seraph::validate_deployment(deployment, {"production"}).is_ok()) {
      std::vector<seraph::VariantRecord> again;
      if (!seraph::variants_from_json(seraph::variants_to_json(deployment.variants), again).is_ok()) __builtin_trap();
    }
    seraph::FaultSpec fault;
    (void)seraph::read_fault(admin, "fault", fault);
    seraph::RolloutRequest rollout{"fuzz", "production", "canary", "m", 1, {}};
    if (seraph::RolloutSpec::parse(admin, rollout.spec).is_ok()) (void)seraph::validate_rollout(rollout);
  }
  const auto [path, query] = seraph::split_target(bytes);
  (void)seraph::split_path(path);
  (void)seraph::query_param(query, "model");
  return 0;
}
