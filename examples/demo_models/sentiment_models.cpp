// The sentiment demo: two fastText versions on the same data, so that a canary of v2 against v1 has a
// real, measurable difference to find. v2's word bigrams capture negation ("not good", "wasn't bad").
#include <fasttext/fasttext.h>
#include <fmt/core.h>

#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "demo_models.h"
#include "held_out_split.h"
#include "model_version_writer.h"
#include "models/text_preprocess.h"

namespace seraph::demo {
namespace {

constexpr std::string_view kLabelPrefix = "__label__";
// Must match model.yaml's `preprocessing`, which the server applies to every request.
constexpr TextPreprocessing kPreprocessing{.lowercase = true, .separate_punctuation = true};

struct LabelledText {
  std::string label;  // with fastText's __label__ prefix
  std::string text;   // preprocessed
};

struct SentimentVersion {
  int version;
  int dim;
  int epoch;
  int word_ngrams;
  int bucket;  // hash buckets for word n-grams; 0 when there are none
  const char* description;
};

constexpr SentimentVersion kVersions[] = {
    {1, 10, 5, 1, 0, "Sentiment of short English reviews (fastText, words only)"},
    {2, 10, 25, 2, 30000, "Sentiment of short English reviews (fastText, words and word bigrams)"},
};

void read_sentiment_file(const std::filesystem::path& path, std::vector<LabelledText>& train,
                         std::vector<LabelledText>& held_out) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error(fmt::format("cannot open {}", path.string()));
  std::string line;
  for (std::size_t index = 0, line_number = 1; std::getline(in, line); ++line_number) {
    if (line.empty()) continue;
    const std::size_t space = line.find(' ');
    if (!line.starts_with(kLabelPrefix) || space == std::string::npos) {
      throw std::runtime_error(
          fmt::format("{}:{}: expected '__label__<name> <text>'", path.string(), line_number));
    }
    LabelledText example{line.substr(0, space),
                         preprocess_text(std::string_view(line).substr(space + 1), kPreprocessing)};
    (is_held_out(index++) ? held_out : train).push_back(std::move(example));
  }
}

void write_training_file(const std::filesystem::path& path, const std::vector<LabelledText>& examples) {
  std::string contents;
  for (const auto& example : examples) contents += example.label + ' ' + example.text + '\n';
  write_text_file(path, contents);
}

double accuracy(const fasttext::FastText& model, const std::vector<LabelledText>& examples) {
  std::size_t correct = 0;
  std::vector<std::pair<fasttext::real, std::string>> predictions;
  for (const auto& example : examples) {
    // The newline makes fastText add its end-of-sentence token, as it did to every training line.
    std::istringstream line(example.text + '\n');
    model.predictLine(line, predictions, 1, 0.0);
    if (!predictions.empty() && predictions.front().second == example.label) ++correct;
  }
  return static_cast<double>(correct) / static_cast<double>(examples.size());
}

fasttext::Args training_args(const SentimentVersion& config, const std::filesystem::path& input) {
  // fasttext::Args starts with the word-vector defaults; model to maxn are `fasttext supervised`'s.
  fasttext::Args args;
  args.input = input.string();
  args.model = fasttext::model_name::sup;
  args.loss = fasttext::loss_name::softmax;
  args.minCount = 1;
  args.minn = 0;
  args.maxn = 0;
  args.lr = 0.5;  // the data set is small: 0.1 needs many more epochs
  args.dim = config.dim;
  args.epoch = config.epoch;
  args.wordNgrams = config.word_ngrams;
  args.bucket = config.bucket;
  args.thread = 1;  // with one thread fastText's training is reproducible
  args.seed = 1;
  args.verbose = 0;
  return args;
}

std::string model_yaml(const SentimentVersion& config, double held_out_accuracy) {
  return fmt::format(R"yaml(runtime: fasttext
artifact: model.bin
description: "{}"
inputs:
  - {{name: text, datatype: BYTES, shape: [-1]}}
outputs:
  - {{name: label, datatype: BYTES, shape: [-1, 2]}}
  - {{name: probability, datatype: FP32, shape: [-1, 2]}}
labels: [negative, positive]
parameters: {{top_k: 2}}
preprocessing: {{lowercase: true, separate_punctuation: true}}
instances: 4  # fastText predicts safely from several threads: I/O threads run calls side by side
metrics: {{accuracy: {:.4f}}}
)yaml",
                     config.description, held_out_accuracy);
}

}  // namespace

std::vector<BuiltVersion> build_sentiment_models(const std::filesystem::path& data_dir,
                                                 const std::filesystem::path& repo) {
  std::vector<LabelledText> train;
  std::vector<LabelledText> held_out;
  read_sentiment_file(data_dir / "sentiment.txt", train, held_out);

  const std::filesystem::path model_dir = repo / "sentiment";
  std::filesystem::create_directories(model_dir);
  // fastText trains only from a file; it holds the preprocessed training split.
  const std::filesystem::path training_file = model_dir / ".train.txt";
  write_training_file(training_file, train);

  std::vector<BuiltVersion> built;
  for (const auto& config : kVersions) {
    fasttext::FastText model;
    model.train(training_args(config, training_file));
    const double held_out_accuracy = accuracy(model, held_out);
    write_model_version(model_dir, config.version, [&](const std::filesystem::path& dir) {
      model.saveModel((dir / "model.bin").string());
      write_text_file(dir / "model.yaml", model_yaml(config, held_out_accuracy));
    });
    built.push_back({"sentiment", config.version, held_out_accuracy, held_out.size()});
  }
  std::filesystem::remove(training_file);
  return built;
}

}  // namespace seraph::demo
