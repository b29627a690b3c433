// Fuzz target for everything that reads untrusted request bytes: the KServe V2 and /predict body
// parsers (V2 also binary-framed, as request and as response), gzip and deflate bodies, input
// validation against a model contract, request-target parsing, and the admin API's readers of
// deployments, faults and rollout specs. Any crash,
// sanitizer report or hang is a bug; errors are the expected answer to garbage.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "api/predict_adapter.h"
#include "api/url.h"
#include "control/deployments.h"
#include "control/records_json.h"
#include "control/rollout_controller.h"
#include "models/input_validation.h"
#include "wire/content_encoding.h"
#include "wire/json_reader.h"
#include "wire/v2_infer.h"

namespace {

seraph::ModelConfig contract() {
  seraph::ModelConfig config;
  config.runtime = "torchscript";
  config.inputs = {{"input", seraph::DataType::kFp32, {-1, 4}}, {"mask", seraph::DataType::kBool, {-1, -1}}};
  config.outputs = {{"probabilities", seraph::DataType::kFp32, {-1, 3}}};
  config.labels = {"a", "b", "c"};
  return config;
}

bool same_tensors(const std::vector<seraph::Tensor>& a, const std::vector<seraph::Tensor>& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (a[i].name != b[i].name || a[i].datatype != b[i].datatype || a[i].shape != b[i].shape ||
        a[i].bytes != b[i].bytes || a[i].strings != b[i].strings) {
      return false;
    }
  }
  return true;
}

// The binary tensor data extension: the first two bytes give the JSON header's length (up to one
// past the rest, so "longer than the body" comes up too). What parses must survive both round
// trips: as a client's request, and as a server's binary response read by a client.
void binary_framed(std::string_view bytes) {
  if (bytes.size() < 2) return;
  const size_t announced = static_cast<uint8_t>(bytes[0]) | static_cast<size_t>(static_cast<uint8_t>(bytes[1])) << 8;
  const std::string_view body = bytes.substr(2);
  const size_t header_length = announced % (body.size() + 2);

  seraph::InferRequest request;
  seraph::V2ResponseOptions options;
  if (seraph::parse_v2_infer_request(body, header_length, request, options).is_ok()) {
    const seraph::RenderedBody as_client = seraph::render_v2_infer_request(request);
    seraph::InferRequest again;
    seraph::V2ResponseOptions again_options;
    if (!seraph::parse_v2_infer_request(as_client.body, as_client.json_header_length, again, again_options).is_ok() ||
        !same_tensors(again.inputs, request.inputs)) {
      __builtin_trap();
    }
    options.all_binary = true;
    const seraph::InferResponse response{"m", 1, request.id, request.inputs, 0};
    const seraph::RenderedBody as_server = seraph::render_v2_infer_response(response, options);
    seraph::InferResponse read_back;
    if (!seraph::parse_v2_infer_response(as_server.body, as_server.json_header_length, read_back).is_ok() ||
        !same_tensors(read_back.outputs, response.outputs)) {
      __builtin_trap();
    }
  }
  // A response that parses holds exactly the elements its shapes promise.
  seraph::InferResponse response;
  if (!seraph::parse_v2_infer_response(body, header_length, response).is_ok()) return;
  for (const seraph::Tensor& t : response.outputs) {
    const auto count = seraph::element_count(t.shape);
    if (!count) __builtin_trap();
    const size_t held = t.datatype == seraph::DataType::kBytes ? t.strings.size() : t.bytes.size() / seraph::datatype_size(t.datatype);
    if (held != static_cast<size_t>(*count)) __builtin_trap();
  }
}

// Compressed bodies, against a small limit so bombs hit it.
void compressed(std::string_view bytes) {
  std::string out;
  for (std::string_view encoding : {"gzip", "deflate"}) {
    if (seraph::decode_content(encoding, bytes, 1 << 16, out).is_ok() && out.size() > (1 << 16)) __builtin_trap();
  }
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
  binary_framed(bytes);
  compressed(bytes);
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
    seraph::DeploymentRecord deployment;
    deployment.name = "fuzz";
    deployment.environment = "production";
    constexpr auto kReject = seraph::UnknownMembers::kReject;  // as the admin API reads them
    if (auto variants = seraph::member(admin, "variants");
        variants && seraph::read_variants(*variants, "variants", deployment.variants, kReject).is_ok() &&
        seraph::validate_deployment(deployment, {"production"}).is_ok()) {
      std::vector<seraph::VariantRecord> again;
      if (!seraph::variants_from_json(seraph::variants_to_json(deployment.variants), again).is_ok()) __builtin_trap();
    }
    // A policy that reads survives a round trip through the registry's column.
    if (seraph::read_policy(admin, "", deployment.policy, kReject).is_ok()) {
      seraph::DeploymentPolicy again;
      if (!seraph::policy_from_json(seraph::policy_to_json(deployment.policy), again).is_ok()) __builtin_trap();
      if (seraph::policy_to_json(again) != seraph::policy_to_json(deployment.policy)) __builtin_trap();
    }
    // A fault that reads is written and read back as the registry does, unchanged.
    seraph::FaultSpec fault;
    if (seraph::read_fault(admin, "fault", fault, kReject).is_ok()) {
      rapidjson::StringBuffer written;
      seraph::RecordWriter writer(written);
      seraph::write_fault(writer, fault);
      // Its own parser: parse_json's is the thread's, and `admin` still points into it.
      simdjson::dom::parser parser;
      seraph::JsonValue stored;
      seraph::FaultSpec again;
      if (parser.parse(std::string(written.GetString(), written.GetSize())).get(stored) ||
          !seraph::read_fault(stored, "fault", again, seraph::UnknownMembers::kIgnore).is_ok() ||
          again.delay_ms != fault.delay_ms || again.delay_percent != fault.delay_percent ||
          again.abort_percent != fault.abort_percent || again.abort_status != fault.abort_status) {
        __builtin_trap();
      }
    }
    // A valid rollout spec survives the registry's column and is still valid.
    seraph::RolloutRequest rollout{"fuzz", "production", "canary", "m", 1, {}};
    if (seraph::RolloutSpec::parse(admin, rollout.spec, kReject).is_ok() && seraph::validate_rollout(rollout).is_ok()) {
      simdjson::dom::parser parser;
      seraph::JsonValue stored;
      seraph::RolloutRequest again = rollout;
      again.spec = {};
      if (parser.parse(rollout.spec.to_json()).get(stored) ||
          !seraph::RolloutSpec::parse(stored, again.spec, seraph::UnknownMembers::kIgnore).is_ok() ||
          !seraph::validate_rollout(again).is_ok() || again.spec.to_json() != rollout.spec.to_json()) {
        __builtin_trap();
      }
    }
  }
  const auto [path, query] = seraph::split_target(bytes);
  (void)seraph::split_path(path);
  (void)seraph::query_param(query, "model");
  return 0;
}
