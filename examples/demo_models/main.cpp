// seraph-demo-models: trains the demo models from the data kept in examples/data and writes them as a
// model repository that `seraph` can serve.
#include <fmt/core.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <exception>
#include <string>

#include "demo_models.h"

namespace {
void report(const seraph::demo::BuiltVersion& built) {
  fmt::print("{} v{}: held-out accuracy {:.3f} (n={})\n", built.model, built.version, built.held_out_accuracy,
             built.held_out_examples);
  std::fflush(stdout);  // progress shows while the next model trains
}
}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Trains Seraph's demo models (sentiment, cancer, mlp, dense) and writes a model repository."};
  std::string data_dir;
  std::string repo;
  app.add_option("--data", data_dir, "directory with sentiment.txt, breast_cancer.csv and iris.csv")
      ->required()
      ->check(CLI::ExistingDirectory);
  app.add_option("--out", repo, "model repository to write; existing versions of these models are replaced")
      ->required();
  CLI11_PARSE(app, argc, argv);

  try {
    for (const auto& built : seraph::demo::build_sentiment_models(data_dir, repo)) report(built);
    report(seraph::demo::build_cancer_model(data_dir, repo));
    report(seraph::demo::build_iris_mlp_model(data_dir, repo));
    seraph::demo::build_dense_benchmark_model(repo);
    fmt::print("dense v1: synthetic batching benchmark model (no data set)\n");
  } catch (const std::exception& error) {
    fmt::print(stderr, "seraph-demo-models: {}\n", error.what());
    return 1;
  }
  return 0;
}
