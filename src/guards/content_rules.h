#pragma once
// What the content guard checks for one deployment, compiled once when the config is read: every
// refusal pattern (the shipped prompt-injection list when asked for, the deployment's extra
// patterns, its deny list) goes into one RE2::Set, so a text is scanned once whatever the number
// of patterns, in linear time; and which kinds of personal data its text outputs are cleared of.
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <re2/set.h>

#include "core/status.h"
#include "guards/personal_data.h"

namespace seraph {

// guards.content.deployments.<name>, as written in the config.
struct ContentRulesSpec {
  bool prompt_injection = false;            // the shipped list (guards/prompt_injection_patterns.h)
  std::vector<std::string> extra_patterns;  // more prompt-injection patterns of the deployment's
  std::vector<std::string> deny;            // anything else its requests must not contain
  std::vector<PersonalData> redact_outputs;
};

// A pattern that refuses a text: the check it belongs to and its name in the config.
struct RefusalPattern {
  std::string_view check;  // "prompt_injection" or "deny"
  std::string name;        // "prompt_injection[3]" (the shipped list), "extra_patterns[0]", "deny[1]"
};

class ContentRules {
 public:
  // Compiles `spec`; an error names the bad pattern by its key under `where` and says why.
  static Status compile(const ContentRulesSpec& spec, const std::string& where,
                        std::shared_ptr<const ContentRules>& rules);

  // The first refusal pattern (in the order above) that matches somewhere in `text`, in `match`;
  // null when none does. An error when the matcher could not finish (out of memory): the text
  // was not looked at, which is not the same as clean.
  Status find_refusal(std::string_view text, const RefusalPattern*& match) const;

  bool checks_inputs() const { return !patterns_.empty(); }
  const std::vector<PersonalData>& redact_outputs() const { return redact_outputs_; }

 private:
  ContentRules() = default;

  std::vector<RefusalPattern> patterns_;  // by index in the set
  std::unique_ptr<RE2::Set> set_;
  std::vector<PersonalData> redact_outputs_;
};

}  // namespace seraph
