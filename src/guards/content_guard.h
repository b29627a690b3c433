#pragma once
// Checks what text goes into a model and comes out of it, per deployment (by the name the request
// calls; guards.content.deployments). On the way in, a text input (a BYTES element) that matches a
// prompt-injection or deny pattern is refused 400, naming the check and the pattern but never the
// text. On the way back, personal data in text outputs (e-mail addresses, phone numbers, card
// numbers) is replaced by `[redacted:<kind>]`. Runs after validation, so it reads inputs the
// model's contract accepted. A deployment without rules passes untouched.
#include <map>
#include <memory>
#include <string>

#include "guards/guard.h"
#include "guards/guard_settings.h"
#include "guards/personal_data.h"
#include "observe/metrics.h"

namespace seraph {

class ContentRules;

class ContentGuard final : public Guard {
 public:
  // `checks`: seraph_content_checks_total, counted by deployment, check and outcome.
  ContentGuard(const ContentSettings& settings, Family<Counter>& checks);
  std::string_view name() const override { return "content"; }
  RequestVerdict on_request(Exchange& exchange) override;
  ResponseVerdict on_response(Exchange& exchange) override;

 private:
  // One deployment's rules and its counters, made when the guard is built (off the hot path).
  struct Deployment {
    std::shared_ptr<const ContentRules> rules;
    Counter* passed = nullptr;                   // check="input", outcome="passed"
    Counter* prompt_injection = nullptr;         // check="prompt_injection", outcome="refused"
    Counter* deny = nullptr;                     // check="deny", outcome="refused"
    Counter* unscanned = nullptr;                // check="input", outcome="error"
    Counter* redacted[kPersonalDataKinds] = {};  // check="email"|"phone"|"card", outcome="redacted"
  };
  const Deployment* find(const Exchange& exchange) const;

  std::map<std::string, Deployment, std::less<>> deployments_;
};

}  // namespace seraph
