// FastTextWords finds the input rows of a line the way fastText's own Dictionary::getLine does;
// these tests hold the two to the same rows for every line of the sentiment data and for hostile
// text, on the demo models and on models trained here with character n-grams and word trigrams.
#include "models/runtimes/fasttext_words.h"

#include <gtest/gtest.h>

#include <fasttext/fasttext.h>

#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "models/text_preprocess.h"
#include "fasttext_training.h"
#include "test_support.h"

namespace seraph {
namespace {

constexpr TextPreprocessing kDemoPreprocessing{.lowercase = true, .separate_punctuation = true};

// Every line of the sentiment data set as the demo models read it: its text, preprocessed.
std::vector<std::string> sentiment_texts() {
  std::ifstream in(SERAPH_DEMO_DATA "/sentiment.txt");
  std::vector<std::string> texts;
  for (std::string line; std::getline(in, line);) {
    texts.push_back(preprocess_text(line.substr(line.find(' ') + 1), kDemoPreprocessing));
  }
  return texts;
}

// Text fastText's reader has rules for: every word break, an end-of-sentence token or a newline
// inside the line (the rest is not read), label tokens, NUL bytes, UTF-8, words it never saw.
std::vector<std::string> hostile_texts() {
  std::vector<std::string> texts{"",
                                 " ",
                                 "\t\v\f\r ",
                                 "great",
                                 "  great   phone  ",
                                 "great\nawful awful",
                                 "\ngreat",
                                 "great </s> awful",
                                 "</s>",
                                 "great</s> awful",
                                 "__label__positive great",
                                 "__label__unheard great",
                                 std::string("great\0awful", 11),
                                 std::string("\0\0", 2),
                                 "café naïve 日本語 \xff\xfe",
                                 "zzqx qqvv xxyyzz",
                                 std::string(3000, 'a'),
                                 "a b"};
  std::string many_words;
  for (int i = 0; i < 3000; ++i) many_words += (i % 3 == 0 ? "great " : i % 3 == 1 ? "awful " : "phone\t");
  texts.push_back(many_words);
  return texts;
}

// What fastText's getLine reads from `text` and a newline.
std::vector<int32_t> get_line(const fasttext::Dictionary& dictionary, const std::string& text) {
  std::istringstream line(text + '\n');
  std::vector<int32_t> words;
  std::vector<int32_t> labels;
  dictionary.getLine(line, words, labels);
  return words;
}

void expect_same_rows_as_get_line(const fasttext::FastText& model, const std::vector<std::string>& texts) {
  const FastTextWords reader(model.getDictionary(), model.getArgs(), model.isQuant());
  std::vector<int32_t> rows{42};  // replaced, not appended to
  for (const std::string& text : texts) {
    reader.read(text, rows);
    ASSERT_EQ(rows, get_line(*model.getDictionary(), text)) << "text: " << text.substr(0, 80);
  }
}

std::unique_ptr<fasttext::FastText> load(const std::string& model_and_version) {
  auto model = std::make_unique<fasttext::FastText>();
  model->loadModel((testing::demo_models() / model_and_version / "model.bin").string());
  return model;
}

// A small classifier with these n-grams, trained on the first lines of the sentiment data.
std::unique_ptr<fasttext::FastText> train(const testing::TempDir& dir, int min_char_ngram, int max_char_ngram,
                                          int word_ngrams) {
  fasttext::Args args = testing::small_classifier_args(dir.path());
  args.minn = min_char_ngram;
  args.maxn = max_char_ngram;
  args.wordNgrams = word_ngrams;
  return testing::train_classifier(args);
}

TEST(FastTextWords, ReadsWordsOnlyLikeGetLine) {
  const auto model = load("sentiment/1");
  ASSERT_EQ(model->getArgs().wordNgrams, 1);
  expect_same_rows_as_get_line(*model, sentiment_texts());
  expect_same_rows_as_get_line(*model, hostile_texts());
}

TEST(FastTextWords, ReadsWordBigramsLikeGetLine) {
  const auto model = load("sentiment/2");
  ASSERT_EQ(model->getArgs().wordNgrams, 2);
  expect_same_rows_as_get_line(*model, sentiment_texts());
  expect_same_rows_as_get_line(*model, hostile_texts());
}

TEST(FastTextWords, ReadsCharacterNgramsAndWordTrigramsLikeGetLine) {
  const testing::TempDir dir;
  const auto model = train(dir, 2, 4, 3);
  expect_same_rows_as_get_line(*model, sentiment_texts());
  expect_same_rows_as_get_line(*model, hostile_texts());
}

TEST(FastTextWords, ReadsAQuantizedModelThroughGetLine) {
  const testing::TempDir dir;
  const auto model = train(dir, 0, 0, 2);
  fasttext::Args quantization;
  quantization.input = model->getArgs().input;
  quantization.cutoff = 1000;  // prunes the dictionary: n-grams go through its own table
  quantization.dsub = 2;
  quantization.qnorm = false;
  quantization.retrain = false;
  quantization.verbose = 0;
  model->quantize(quantization);
  ASSERT_TRUE(model->isQuant());
  expect_same_rows_as_get_line(*model, sentiment_texts());
  expect_same_rows_as_get_line(*model, hostile_texts());
}

}  // namespace
}  // namespace seraph
