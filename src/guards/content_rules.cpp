#include "guards/content_rules.h"

#include <algorithm>

#include <fmt/format.h>

#include "guards/prompt_injection_patterns.h"

namespace seraph {

Status ContentRules::compile(const ContentRulesSpec& spec, const std::string& where,
                             std::shared_ptr<const ContentRules>& rules) {
  std::shared_ptr<ContentRules> compiled(new ContentRules());
  RE2::Options options;
  options.set_log_errors(false);  // a bad pattern is reported once, as a config error
  auto set = std::make_unique<RE2::Set>(options, RE2::UNANCHORED);
  auto add = [&](std::string_view pattern, std::string_view check, std::string name) -> Status {
    std::string error;
    if (set->Add(pattern, &error) < 0) {
      return invalid_argument(fmt::format("{}.{}: '{}' is not a valid pattern: {}", where, name, pattern, error));
    }
    compiled->patterns_.push_back({check, std::move(name)});
    return {};
  };
  if (spec.prompt_injection) {
    const auto shipped = prompt_injection_patterns();
    for (size_t i = 0; i < shipped.size(); ++i) {
      if (Status s = add(shipped[i], "prompt_injection", fmt::format("prompt_injection[{}]", i)); !s.is_ok()) return s;
    }
  }
  for (size_t i = 0; i < spec.extra_patterns.size(); ++i) {
    if (Status s = add(spec.extra_patterns[i], "prompt_injection", fmt::format("extra_patterns[{}]", i)); !s.is_ok()) {
      return s;
    }
  }
  for (size_t i = 0; i < spec.deny.size(); ++i) {
    if (Status s = add(spec.deny[i], "deny", fmt::format("deny[{}]", i)); !s.is_ok()) return s;
  }
  if (!compiled->patterns_.empty()) {
    if (!set->Compile()) return invalid_argument(where + ": the patterns are too large to compile together");
    compiled->set_ = std::move(set);
  }
  compiled->redact_outputs_ = spec.redact_outputs;
  rules = std::move(compiled);
  return {};
}

Status ContentRules::find_refusal(std::string_view text, const RefusalPattern*& match) const {
  match = nullptr;
  if (!set_) return {};
  std::vector<int> matched;
  RE2::Set::ErrorInfo error{RE2::Set::kNoError};
  if (!set_->Match(text, &matched, &error)) {
    if (error.kind == RE2::Set::kNoError) return {};
    return internal_error("content check could not scan a text input (pattern matcher out of memory)");
  }
  match = &patterns_[static_cast<size_t>(*std::min_element(matched.begin(), matched.end()))];
  return {};
}

}  // namespace seraph
