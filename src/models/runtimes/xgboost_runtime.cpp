// XGBoost through its C API: FP32 feature rows in, class probabilities (or a regression value) out.
#include <xgboost/c_api.h>

#include <stdexcept>
#include <string>

#include <fmt/format.h>

#include "models/runtime.h"

namespace seraph {
namespace {

// XGBoost's message without the stack trace it appends.
std::string last_error() {
  std::string message = XGBGetLastError();
  return message.substr(0, message.find("\nStack trace"));
}

void check(int rc, const char* what) {
  if (rc != 0) throw std::runtime_error(std::string(what) + ": " + last_error());
}

class XGBoostRuntime final : public Runtime {
 public:
  XGBoostRuntime(const ModelConfig& config, const std::filesystem::path& version_dir) {
    if (config.inputs.size() != 1 || config.inputs[0].datatype != DataType::kFp32 ||
        config.inputs[0].shape.size() != 2 || config.inputs[0].shape[1] < 1) {
      throw std::runtime_error("xgboost models take one FP32 input of shape [-1, features]");
    }
    if (config.outputs.size() != 1 || config.outputs[0].datatype != DataType::kFp32 ||
        config.outputs[0].shape.size() != 2 || config.outputs[0].shape[1] < 1) {
      throw std::runtime_error("xgboost models have one FP32 output of shape [-1, columns]");
    }
    features_ = config.inputs[0].shape[1];
    columns_ = config.outputs[0].shape[1];
    output_ = config.outputs[0].name;
    check(XGBoosterCreate(nullptr, 0, &booster_), "XGBoosterCreate");
    // One thread per call: requests are small and parallelism comes from execution instances.
    check(XGBoosterSetParam(booster_, "nthread", "1"), "XGBoosterSetParam");
    const std::string artifact = (version_dir / config.artifact).string();
    if (XGBoosterLoadModel(booster_, artifact.c_str()) != 0) {
      std::string reason = last_error();
      XGBoosterFree(booster_);
      throw std::runtime_error("cannot load XGBoost model: " + reason);
    }
    bst_ulong model_features = 0;
    check(XGBoosterGetNumFeature(booster_, &model_features), "XGBoosterGetNumFeature");
    if (static_cast<int64_t>(model_features) != features_) {
      XGBoosterFree(booster_);
      throw std::runtime_error(fmt::format("model.yaml declares {} features, the model has {}", features_,
                                           model_features));
    }
  }
  ~XGBoostRuntime() override { XGBoosterFree(booster_); }

  Status execute(std::span<const Tensor> inputs, std::vector<Tensor>& outputs) override {
    const Tensor& rows = inputs[0];
    const int64_t n = rows.shape[0];
    const std::string array = fmt::format(
        R"({{"data": [{}, true], "shape": [{}, {}], "typestr": "<f4", "version": 3}})",
        reinterpret_cast<uintptr_t>(rows.bytes.data()), n, features_);
    static const char* kConfig =
        R"({"type": 0, "training": false, "iteration_begin": 0, "iteration_end": 0, "strict_shape": true, "missing": NaN, "cache_id": 0})";
    const bst_ulong* shape = nullptr;
    bst_ulong dims = 0;
    const float* result = nullptr;
    if (XGBoosterPredictFromDense(booster_, array.c_str(), kConfig, nullptr, &shape, &dims, &result) != 0) {
      return internal_error(std::string("XGBoost prediction failed: ") + last_error());
    }
    const int64_t produced = dims == 2 ? static_cast<int64_t>(shape[1]) : 1;
    Tensor out{output_, DataType::kFp32, {n, columns_}, {}, {}};
    out.bytes.resize(n * columns_ * sizeof(float));
    auto values = out.mutable_values<float>();
    for (int64_t i = 0; i < n; ++i) {
      if (produced == columns_) {
        for (int64_t c = 0; c < columns_; ++c) values[i * columns_ + c] = result[i * produced + c];
      } else if (produced == 1 && columns_ == 2) {
        // binary:logistic yields P(class 1); serve both class probabilities.
        values[i * 2] = 1.0F - result[i];
        values[i * 2 + 1] = result[i];
      } else {
        return internal_error(fmt::format("XGBoost produced {} columns, model.yaml declares {}", produced, columns_));
      }
    }
    outputs.push_back(std::move(out));
    return {};
  }

 private:
  BoosterHandle booster_ = nullptr;
  int64_t features_ = 0;
  int64_t columns_ = 0;
  std::string output_;
};

}  // namespace

std::unique_ptr<Runtime> make_xgboost_runtime(const ModelConfig& config, const std::filesystem::path& dir) {
  return std::make_unique<XGBoostRuntime>(config, dir);
}

}  // namespace seraph
