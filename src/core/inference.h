#pragma once
// Protocol-neutral inference request and response, filled by adapters and read by runtimes.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "core/clock.h"
#include "core/tensor.h"

namespace seraph {

using ParameterValue = std::variant<bool, int64_t, double, std::string>;
using Parameters = std::vector<std::pair<std::string, ParameterValue>>;

struct InferRequest {
  std::string id;                          // client-chosen id, echoed back (V2 "id")
  std::string model;
  std::optional<int64_t> version;          // none: the model's default (latest ready) version
  std::vector<Tensor> inputs;
  // /predict sends one unnamed input: it binds to the serving model's single input by position.
  bool positional_inputs = false;
  std::vector<std::string> requested_outputs;  // empty: every output
  Parameters parameters;
};

// Which deployment, environment and variant served an answer; empty when the request named a
// model directly. `fallback`: the fallback step that answered ("variant:<name>", "stale_cache",
// "default_answer"), empty when the routed variant did.
struct ServedBy {
  std::string_view deployment;
  std::string_view environment;
  std::string_view variant;
  std::string_view fallback{};  // {}: tests may name the other three alone
};

struct InferResponse {
  std::string model;
  int64_t version = 0;
  std::string id;
  std::vector<Tensor> outputs;
  double compute_ms = 0;                   // time the runtime spent on this request's batch
};

}  // namespace seraph
