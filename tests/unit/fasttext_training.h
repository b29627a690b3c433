#pragma once
// Small fastText classifiers the tests train themselves, on the first lines of the sentiment data,
// so that the runtime and the word reader are compared with fastText on models of every kind
// (n-grams, losses, quantization), not only on the two demo models.
#include <fasttext/fasttext.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <string>

#include "models/text_preprocess.h"
#include "test_support.h"

namespace seraph::testing {

// fastText's supervised settings for a quick, reproducible classifier of the first 600 lines of the
// sentiment data (texts preprocessed as the demo models' are), written to `dir`/train.txt: softmax,
// word bigrams, one thread. The caller changes what it tests.
inline fasttext::Args small_classifier_args(const std::filesystem::path& dir) {
  std::ifstream data(SERAPH_DEMO_DATA "/sentiment.txt");
  std::string training;
  std::string line;
  for (int i = 0; i < 600 && std::getline(data, line); ++i) {
    const size_t space = line.find(' ');
    training += line.substr(0, space + 1) +
                preprocess_text(line.substr(space + 1), {.lowercase = true, .separate_punctuation = true}) + '\n';
  }
  write_file(dir / "train.txt", training);
  fasttext::Args args;
  args.input = (dir / "train.txt").string();
  args.model = fasttext::model_name::sup;
  args.loss = fasttext::loss_name::softmax;
  args.minCount = 1;
  args.wordNgrams = 2;
  args.bucket = 10000;
  args.dim = 8;
  args.epoch = 5;
  args.lr = 0.5;
  args.thread = 1;
  args.verbose = 0;
  return args;
}

inline std::unique_ptr<fasttext::FastText> train_classifier(const fasttext::Args& args) {
  auto model = std::make_unique<fasttext::FastText>();  // neither copied nor moved: fastText forbids it
  model->train(args);
  return model;
}

}  // namespace seraph::testing
