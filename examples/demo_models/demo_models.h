#pragma once
// The demo models: each builder trains on its data set in examples/data, writes its versions into the
// model repository and reports how each did on the held-out examples.
#include <cstddef>
#include <filesystem>
#include <string>
#include <vector>

namespace seraph::demo {

struct BuiltVersion {
  std::string model;
  int version = 0;
  double held_out_accuracy = 0.0;
  std::size_t held_out_examples = 0;
};

// fastText sentiment classifiers from sentiment.txt: v1 on words alone, v2 also on word bigrams.
std::vector<BuiltVersion> build_sentiment_models(const std::filesystem::path& data_dir,
                                                 const std::filesystem::path& repo);

// XGBoost malignant/benign classifier from breast_cancer.csv.
BuiltVersion build_cancer_model(const std::filesystem::path& data_dir, const std::filesystem::path& repo);

// TorchScript MLP over the iris species from iris.csv.
BuiltVersion build_iris_mlp_model(const std::filesystem::path& data_dir, const std::filesystem::path& repo);

// A synthetic dense TorchScript network (512 inputs, four 1024-wide layers, seeded random weights)
// with dynamic batching on,
// for the batching benchmark; it has no data set and no accuracy.
void build_dense_benchmark_model(const std::filesystem::path& repo);

}  // namespace seraph::demo
