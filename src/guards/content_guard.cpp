#include "guards/content_guard.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "guards/content_rules.h"
#include "guards/route_guard.h"
#include "models/model_config.h"

namespace seraph {
namespace {

// /predict's input has no name of its own: it is the serving model's input at that position.
std::string input_name(const Exchange& exchange, size_t position) {
  const Tensor& input = exchange.request->inputs[position];
  if (!input.name.empty()) return input.name;
  const ModelConfig* contract = serving_contract(exchange);
  if (contract && position < contract->inputs.size()) return contract->inputs[position].name;
  return fmt::format("#{}", position);
}

}  // namespace

ContentGuard::ContentGuard(const ContentSettings& settings, Family<Counter>& checks) {
  for (const auto& [name, rules] : settings.deployments) {
    Deployment d;
    d.rules = rules;
    // An init-capture: clang 14 cannot capture a structured binding.
    auto counter = [&checks, &deployment = name](std::string_view check, std::string_view outcome) {
      return &checks.get({{"deployment", deployment}, {"check", std::string(check)}, {"outcome", std::string(outcome)}});
    };
    if (rules->checks_inputs()) {
      d.passed = counter("input", "passed");
      d.unscanned = counter("input", "error");
      d.prompt_injection = counter("prompt_injection", "refused");
      d.deny = counter("deny", "refused");
    }
    for (PersonalData kind : rules->redact_outputs()) {
      d.redacted[static_cast<size_t>(kind)] = counter(personal_data_name(kind), "redacted");
    }
    deployments_.emplace(name, d);
  }
}

const ContentGuard::Deployment* ContentGuard::find(const Exchange& exchange) const {
  auto it = deployments_.find(exchange.request->model);
  return it == deployments_.end() ? nullptr : &it->second;
}

RequestVerdict ContentGuard::on_request(Exchange& exchange) {
  const Deployment* d = find(exchange);
  if (!d || !d->rules->checks_inputs()) return RequestVerdict::kContinue;
  for (size_t position = 0; position < exchange.request->inputs.size(); ++position) {
    const Tensor& input = exchange.request->inputs[position];
    if (input.datatype != DataType::kBytes) continue;
    for (size_t i = 0; i < input.strings.size(); ++i) {
      const RefusalPattern* match = nullptr;
      if (Status s = d->rules->find_refusal(input.strings[i], match); !s.is_ok()) {
        d->unscanned->add();
        spdlog::error(R"({{"msg":"content check could not scan a request","deployment":"{}","request_id":"{}"}})",
                      exchange.request->model, exchange.request_id);
        exchange.status = std::move(s);
        return RequestVerdict::kRespond;
      }
      if (!match) continue;
      (match->check == "deny" ? d->deny : d->prompt_injection)->add();
      // The text stays out of the log and the answer: it may be what the caller should not learn
      // was looked for, or personal.
      spdlog::warn(
          R"({{"msg":"content check refused a request","deployment":"{}","check":"{}","pattern":"{}","element":{},"request_id":"{}"}})",
          exchange.request->model, match->check, match->name, i, exchange.request_id);
      exchange.status =
          invalid_argument(fmt::format("input '{}' element {} was refused by content check {} (pattern {})",
                                       input_name(exchange, position), i, match->check, match->name));
      return RequestVerdict::kRespond;
    }
  }
  d->passed->add();
  return RequestVerdict::kContinue;
}

ResponseVerdict ContentGuard::on_response(Exchange& exchange) {
  if (!exchange.status.is_ok()) return ResponseVerdict::kPass;
  const Deployment* d = find(exchange);
  if (!d || d->rules->redact_outputs().empty()) return ResponseVerdict::kPass;
  size_t redacted[kPersonalDataKinds] = {};
  for (Tensor& output : exchange.response.outputs) {
    if (output.datatype != DataType::kBytes) continue;
    for (std::string& text : output.strings) {
      for (PersonalData kind : d->rules->redact_outputs())
        redacted[static_cast<size_t>(kind)] += redact_personal_data(kind, text);
    }
  }
  if (redacted[0] + redacted[1] + redacted[2] == 0) return ResponseVerdict::kPass;
  for (size_t k = 0; k < kPersonalDataKinds; ++k) {
    if (redacted[k] > 0) d->redacted[k]->add();
  }
  spdlog::info(
      R"({{"msg":"content check redacted personal data","deployment":"{}","email":{},"phone":{},"card":{},"request_id":"{}"}})",
      exchange.request->model, redacted[0], redacted[1], redacted[2], exchange.request_id);
  return ResponseVerdict::kPass;
}

}  // namespace seraph
