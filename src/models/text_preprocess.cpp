#include "models/text_preprocess.h"

namespace seraph {
namespace {
bool is_separated_punctuation(char c) {
  switch (c) {
    case '.': case ',': case '!': case '?': case ';': case ':': case '(': case ')': case '"':
      return true;
    default:
      return false;
  }
}
}  // namespace

std::string preprocess_text(std::string_view text, const TextPreprocessing& options) {
  std::string out;
  out.reserve(text.size() + 8);
  for (char c : text) {
    if (c == '\n' || c == '\r' || c == '\t' || c == '\v' || c == '\f') c = ' ';
    if (options.lowercase && c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    if (options.separate_punctuation && is_separated_punctuation(c)) {
      out.push_back(' ');
      out.push_back(c);
      out.push_back(' ');
    } else {
      out.push_back(c);
    }
  }
  return out;
}

}  // namespace seraph
