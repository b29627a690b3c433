#include "models/runtimes/fasttext_words.h"

#include <array>
#include <istream>
#include <streambuf>
#include <string>

namespace seraph {
namespace {

// What fastText's readWord splits words on, one lookup per byte; a newline also ends the line.
constexpr std::array<bool, 256> kWordBreaks = [] {
  std::array<bool, 256> breaks{};
  for (const unsigned char c : {' ', '\n', '\r', '\t', '\v', '\f', '\0'}) breaks[c] = true;
  return breaks;
}();

bool is_word_break(char c) { return kWordBreaks[static_cast<unsigned char>(c)]; }

constexpr size_t kKeptScratchBytes = 64 * 1024;

// An input stream over characters the caller owns, re-pointed for each line.
class LineBuffer : public std::streambuf {
 public:
  void point_at(std::string& text) { setg(text.data(), text.data(), text.data() + text.size()); }
};

}  // namespace

FastTextWords::FastTextWords(std::shared_ptr<const fasttext::Dictionary> dictionary, const fasttext::Args& args,
                             bool quantized)
    : dictionary_(std::move(dictionary)),
      word_ngrams_(args.wordNgrams),
      buckets_(args.bucket),
      max_char_ngram_(args.maxn),
      quantized_(quantized) {}

void FastTextWords::read(std::string_view line, std::vector<int32_t>& rows) const {
  if (quantized_) {
    read_with_get_line(line, rows);
    return;
  }
  thread_local std::string word;
  thread_local std::vector<int32_t> word_hashes;
  rows.clear();
  word_hashes.clear();
  size_t at = 0;
  for (;;) {
    while (at < line.size() && line[at] != '\n' && is_word_break(line[at])) ++at;
    if (at == line.size() || line[at] == '\n') {
      add_word(fasttext::Dictionary::EOS, rows, word_hashes);  // the newline's end-of-sentence token
      break;
    }
    const size_t start = at;
    while (at < line.size() && !is_word_break(line[at])) ++at;
    word.assign(line.data() + start, at - start);
    add_word(word, rows, word_hashes);
    if (word == fasttext::Dictionary::EOS) break;
  }
  add_word_ngrams(word_hashes, rows);
  // One long text must not keep its memory resident in every thread that read it.
  if (word.capacity() > kKeptScratchBytes) std::string().swap(word);
  if (word_hashes.capacity() * sizeof(int32_t) > kKeptScratchBytes) std::vector<int32_t>().swap(word_hashes);
}

// getLine's step for one word: a known word's row (or its character n-grams), an unknown word's
// character n-grams; label tokens ("__label__x") are not input.
void FastTextWords::add_word(const std::string& word, std::vector<int32_t>& rows,
                             std::vector<int32_t>& word_hashes) const {
  const uint32_t hash = dictionary_->hash(word);
  const int32_t id = dictionary_->getId(word, hash);
  const fasttext::entry_type type = id < 0 ? dictionary_->getType(word) : dictionary_->getType(id);
  if (type != fasttext::entry_type::word) return;
  if (id < 0) {
    if (max_char_ngram_ > 0 && word != fasttext::Dictionary::EOS) {
      dictionary_->computeSubwords(fasttext::Dictionary::BOW + word + fasttext::Dictionary::EOW, rows);
    }
  } else if (max_char_ngram_ <= 0) {
    rows.push_back(id);
  } else {
    const std::vector<int32_t>& subwords = dictionary_->getSubwords(id);  // the word's own id first
    rows.insert(rows.end(), subwords.begin(), subwords.end());
  }
  word_hashes.push_back(static_cast<int32_t>(hash));
}

// The buckets of the word n-grams (2 to wordNgrams words), as fastText hashes them: its signed word
// hashes widened to 64 bits.
void FastTextWords::add_word_ngrams(const std::vector<int32_t>& word_hashes, std::vector<int32_t>& rows) const {
  // A model without n-gram buckets has no word n-grams (fastText itself would divide by zero).
  if (word_ngrams_ <= 1 || buckets_ <= 0) return;
  const size_t words = word_hashes.size();
  const auto buckets = static_cast<uint64_t>(buckets_);
  for (size_t i = 0; i < words; ++i) {
    auto hash = static_cast<uint64_t>(static_cast<int64_t>(word_hashes[i]));
    for (size_t j = i + 1; j < words && j < i + static_cast<size_t>(word_ngrams_); ++j) {
      hash = hash * 116049371 + static_cast<uint64_t>(static_cast<int64_t>(word_hashes[j]));
      rows.push_back(dictionary_->nwords() + static_cast<int32_t>(hash % buckets));
    }
  }
}

void FastTextWords::read_with_get_line(std::string_view line, std::vector<int32_t>& rows) const {
  // Kept per thread: building a stream (its locale above all) costs more than a short prediction.
  thread_local std::string text;
  thread_local LineBuffer buffer;
  thread_local std::istream stream(&buffer);
  thread_local std::vector<int32_t> labels;
  text.assign(line);
  text += '\n';
  buffer.point_at(text);
  stream.clear();
  dictionary_->getLine(stream, rows, labels);
  if (text.capacity() > kKeptScratchBytes) std::string().swap(text);
}

}  // namespace seraph
