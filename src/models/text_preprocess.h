#pragma once
// Text normalisation applied identically when a text model is trained and when it serves,
// so that what the model saw in training is what it sees in production.
#include <string>
#include <string_view>

namespace seraph {

struct TextPreprocessing {
  bool lowercase = false;             // ASCII lower-casing
  bool separate_punctuation = false;  // ".,!?;:()\"" become their own tokens
};

std::string preprocess_text(std::string_view text, const TextPreprocessing& options);
// The same, appended to `out`: lets a caller reuse one buffer across requests.
void append_preprocessed_text(std::string& out, std::string_view text, const TextPreprocessing& options);

}  // namespace seraph
