// The tabular demo: an XGBoost classifier of breast-cancer biopsies, trained through XGBoost's C API
// (the API the server's runtime uses too).
#include <fmt/core.h>
#include <xgboost/c_api.h>

#include <cmath>
#include <memory>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "demo_models.h"
#include "labelled_table.h"
#include "model_version_writer.h"

namespace seraph::demo {
namespace {

constexpr int kRounds = 50;

void check(int status, const char* call) {
  if (status != 0) throw std::runtime_error(fmt::format("XGBoost {}: {}", call, XGBGetLastError()));
}

using DMatrix = std::unique_ptr<void, int (*)(DMatrixHandle)>;
using Booster = std::unique_ptr<void, int (*)(BoosterHandle)>;

DMatrix make_dmatrix(const LabelledTable& table) {
  DMatrixHandle handle = nullptr;
  check(XGDMatrixCreateFromMat(table.features.data(), table.rows(), table.n_features, NAN, &handle),
        "XGDMatrixCreateFromMat");
  DMatrix matrix(handle, XGDMatrixFree);
  const std::vector<float> labels(table.targets.begin(), table.targets.end());
  check(XGDMatrixSetFloatInfo(handle, "label", labels.data(), labels.size()), "XGDMatrixSetFloatInfo");
  return matrix;
}

// `cached` are the matrices the booster will train on (none for a booster that only predicts).
Booster make_booster(const DMatrixHandle* cached, bst_ulong count) {
  BoosterHandle handle = nullptr;
  check(XGBoosterCreate(cached, count, &handle), "XGBoosterCreate");
  return Booster(handle, XGBoosterFree);
}

Booster train(const LabelledTable& table) {
  const DMatrix dtrain = make_dmatrix(table);
  const DMatrixHandle cached[] = {dtrain.get()};
  Booster booster = make_booster(cached, 1);
  const std::pair<const char*, const char*> params[] = {
      {"objective", "binary:logistic"},
      {"max_depth", "3"},
      {"eta", "0.3"},
      {"nthread", "1"},  // reproducible, and leaves the other core to whatever else builds
      {"seed", "7"},
  };
  for (const auto& [name, value] : params)
    check(XGBoosterSetParam(booster.get(), name, value), "XGBoosterSetParam");
  for (int round = 0; round < kRounds; ++round) {
    check(XGBoosterUpdateOneIter(booster.get(), round, dtrain.get()), "XGBoosterUpdateOneIter");
  }
  return booster;
}

// Accuracy of the saved artifact itself, the file the server will load.
double accuracy(const std::filesystem::path& model_file, const LabelledTable& table) {
  Booster booster = make_booster(nullptr, 0);
  check(XGBoosterLoadModel(booster.get(), model_file.c_str()), "XGBoosterLoadModel");
  const DMatrix dtest = make_dmatrix(table);
  const char* config =
      R"({"type": 0, "training": false, "iteration_begin": 0, "iteration_end": 0, "strict_shape": false})";
  const bst_ulong* shape = nullptr;
  bst_ulong dims = 0;
  const float* probabilities = nullptr;
  check(XGBoosterPredictFromDMatrix(booster.get(), dtest.get(), config, &shape, &dims, &probabilities),
        "XGBoosterPredictFromDMatrix");
  if (dims != 1 || shape[0] != table.rows())
    throw std::runtime_error("XGBoost returned an unexpected prediction shape");
  std::size_t correct = 0;
  for (std::size_t row = 0; row < table.rows(); ++row) {
    if ((probabilities[row] >= 0.5F ? 1 : 0) == table.targets[row]) ++correct;
  }
  return static_cast<double>(correct) / static_cast<double>(table.rows());
}

std::string model_yaml(double held_out_accuracy) {
  return fmt::format(R"yaml(runtime: xgboost
artifact: model.json
description: "Breast cancer biopsy (Wisconsin diagnostic): malignant or benign from 30 features (XGBoost)"
inputs:
  - {{name: features, datatype: FP32, shape: [-1, 30]}}
outputs:
  - {{name: probabilities, datatype: FP32, shape: [-1, 2]}}
labels: [malignant, benign]
metrics: {{accuracy: {:.4f}}}
)yaml",
                     held_out_accuracy);
}

}  // namespace

BuiltVersion build_cancer_model(const std::filesystem::path& data_dir, const std::filesystem::path& repo) {
  const auto [train_rows, held_out_rows] =
      split_held_out(read_labelled_table(data_dir / "breast_cancer.csv"));
  const Booster booster = train(train_rows);
  double held_out_accuracy = 0.0;
  write_model_version(repo / "cancer", 1, [&](const std::filesystem::path& dir) {
    const std::filesystem::path model_file = dir / "model.json";  // the extension selects the JSON format
    check(XGBoosterSaveModel(booster.get(), model_file.c_str()), "XGBoosterSaveModel");
    held_out_accuracy = accuracy(model_file, held_out_rows);
    write_text_file(dir / "model.yaml", model_yaml(held_out_accuracy));
  });
  return {"cancer", 1, held_out_accuracy, held_out_rows.rows()};
}

}  // namespace seraph::demo
