#pragma once
// The input rows fastText's Dictionary::getLine finds in one line of text, found without its
// istream: getLine reads a character at a time through a streambuf and copies every word, which
// cost half of a short prediction. The same public lookups over a string_view give the same rows
// (the tests compare the two over the data set and hostile text).
#include <fasttext/args.h>
#include <fasttext/dictionary.h>

#include <cstdint>
#include <memory>
#include <string_view>
#include <vector>

namespace seraph {

class FastTextWords {
 public:
  // `quantized`: the model was quantized, and its dictionary may be pruned, which maps word n-grams
  // through a table only getLine can read; those lines go through getLine.
  FastTextWords(std::shared_ptr<const fasttext::Dictionary> dictionary, const fasttext::Args& args, bool quantized);

  // Replaces `rows` with the input rows getLine gives for `line` followed by a newline: each word's
  // id (or its character n-grams), the end-of-sentence token, then the word n-gram buckets. Words
  // after a newline or an end-of-sentence token inside `line` are not read, as getLine does not.
  void read(std::string_view line, std::vector<int32_t>& rows) const;

 private:
  void read_with_get_line(std::string_view line, std::vector<int32_t>& rows) const;
  void add_word(const std::string& word, std::vector<int32_t>& rows, std::vector<int32_t>& word_hashes) const;
  void add_word_ngrams(const std::vector<int32_t>& word_hashes, std::vector<int32_t>& rows) const;

  std::shared_ptr<const fasttext::Dictionary> dictionary_;
  int32_t word_ngrams_;
  int32_t buckets_;
  int32_t max_char_ngram_;
  bool quantized_;
};

}  // namespace seraph
