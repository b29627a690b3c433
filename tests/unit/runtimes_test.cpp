// The three in-process runtimes, on the demo models that the build trains into SERAPH_TEST_MODELS.
#include "models/runtime.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fasttext/fasttext.h>

#include <algorithm>
#include <numeric>
#include <sstream>
#include <stdexcept>
#include <tuple>

#include "models/text_preprocess.h"
#include "fasttext_training.h"
#include "test_support.h"

namespace seraph {
namespace {

using ::testing::HasSubstr;

ModelConfig load_config(const std::filesystem::path& version_dir) {
  ModelConfig config;
  Status s = load_model_config(version_dir / "model.yaml", config);
  if (!s.is_ok()) throw std::runtime_error(s.message());
  return config;
}

struct Loaded {
  ModelConfig config;
  std::unique_ptr<Runtime> runtime;
};

Loaded load_demo(const std::string& model_and_version) {
  const auto dir = testing::demo_models() / model_and_version;
  ModelConfig config = load_config(dir);
  auto runtime = create_runtime(config, dir);
  return {std::move(config), std::move(runtime)};
}

Tensor text_batch(std::vector<std::string> texts) {
  const auto rows = static_cast<int64_t>(texts.size());
  return Tensor{"text", DataType::kBytes, {rows}, {}, std::move(texts)};
}

Tensor fp32_rows(std::string name, std::vector<std::vector<float>> rows) {
  Tensor t{std::move(name), DataType::kFp32, {static_cast<int64_t>(rows.size()), static_cast<int64_t>(rows[0].size())}, {}, {}};
  for (const auto& row : rows) {
    const auto* bytes = reinterpret_cast<const std::byte*>(row.data());
    t.bytes.insert(t.bytes.end(), bytes, bytes + row.size() * sizeof(float));
  }
  return t;
}

std::vector<Tensor> run(Runtime& runtime, Tensor input) {
  std::vector<Tensor> inputs{std::move(input)}, outputs;
  Status s = runtime.execute(inputs, outputs);
  if (!s.is_ok()) throw std::runtime_error(s.message());
  return outputs;
}

// Checks every row of an FP32 [rows, columns] tensor is a probability distribution.
void expect_probability_rows(const Tensor& t) {
  ASSERT_EQ(t.datatype, DataType::kFp32);
  ASSERT_EQ(t.shape.size(), 2u);
  const int64_t columns = t.shape[1];
  auto values = t.values<float>();
  ASSERT_EQ(static_cast<int64_t>(values.size()), t.shape[0] * columns);
  for (int64_t r = 0; r < t.shape[0]; ++r) {
    auto row = values.subspan(r * columns, columns);
    for (float p : row) {
      EXPECT_GE(p, 0.0F) << "row " << r;
      EXPECT_LE(p, 1.0F) << "row " << r;
    }
    EXPECT_NEAR(std::accumulate(row.begin(), row.end(), 0.0), 1.0, 1e-3) << "row " << r;
  }
}

int64_t argmax_of_row(const Tensor& t, int64_t row) {
  auto values = t.values<float>().subspan(row * t.shape[1], t.shape[1]);
  return std::max_element(values.begin(), values.end()) - values.begin();
}

// --- fastText -----------------------------------------------------------------------------------

TEST(FastTextRuntime, AnswersLabelsAndProbabilitiesForEachText) {
  Loaded m = load_demo("sentiment/2");
  std::vector<Tensor> out = run(*m.runtime, text_batch({"great phone", "awful, never again", "it is a chair"}));
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].name, "label");
  EXPECT_EQ(out[0].datatype, DataType::kBytes);
  EXPECT_EQ(out[0].shape, (Shape{3, 2}));
  EXPECT_EQ(out[1].name, "probability");
  EXPECT_EQ(out[1].shape, (Shape{3, 2}));
  expect_probability_rows(out[1]);
  for (int row = 0; row < 3; ++row) {
    std::vector<std::string> labels{out[0].strings[row * 2], out[0].strings[row * 2 + 1]};
    std::sort(labels.begin(), labels.end());
    EXPECT_EQ(labels, (std::vector<std::string>{"negative", "positive"})) << "row " << row;
  }
}

TEST(FastTextRuntime, ListsTheLikeliestLabelFirst) {
  Loaded m = load_demo("sentiment/2");
  std::vector<Tensor> out = run(*m.runtime, text_batch({"great excellent"}));
  auto p = out[1].values<float>();
  EXPECT_GE(p[0], p[1]);
}

TEST(FastTextRuntime, ReadsPositiveAndNegativeSentiment) {
  Loaded m = load_demo("sentiment/2");
  std::vector<Tensor> out = run(*m.runtime, text_batch({"great excellent", "terrible awful"}));
  EXPECT_EQ(out[0].strings[0], "positive");
  EXPECT_EQ(out[0].strings[2], "negative");
}

TEST(FastTextRuntime, AppliesTheConfiguredPreprocessing) {
  // The demo models lowercase and separate punctuation, so shouting and punctuation change nothing.
  Loaded m = load_demo("sentiment/2");
  std::vector<Tensor> out = run(*m.runtime, text_batch({"great excellent", "GREAT,EXCELLENT!"}));
  EXPECT_EQ(out[0].strings[0], out[0].strings[2]);
}

// The runtime reads words and takes the mean of their rows itself (keeping its buffers between
// calls); it must answer exactly what fastText's own predictLine answers for the model in `dir`.
void expect_agrees_with_predict_line(const std::filesystem::path& dir) {
  const ModelConfig config = load_config(dir);
  const auto runtime = create_runtime(config, dir);
  fasttext::FastText reference;
  reference.loadModel((dir / "model.bin").string());
  const std::vector<std::string> texts{"great phone",
                                       "awful, never again",
                                       "",
                                       "zzqx qqvv",
                                       "The battery life is great!",
                                       "not bad at all , really not bad",
                                       std::string(2000, 'a') + " terrible"};
  std::vector<Tensor> out = run(*runtime, text_batch(texts));
  auto probabilities = out[1].values<float>();
  for (size_t row = 0; row < texts.size(); ++row) {
    std::istringstream line(preprocess_text(texts[row], config.preprocessing) + "\n");
    std::vector<std::pair<fasttext::real, std::string>> expected;
    reference.predictLine(line, expected, 2, 0.0);
    ASSERT_EQ(expected.size(), 2u) << dir;
    for (size_t k = 0; k < 2; ++k) {
      EXPECT_EQ("__label__" + out[0].strings[row * 2 + k], expected[k].second) << dir << ", row " << row;
      EXPECT_EQ(probabilities[row * 2 + k], std::clamp(expected[k].first - 1e-5F, 0.0F, 1.0F))
          << dir << ", row " << row;
    }
  }
}

// A sentiment model trained here with `loss`, quantized or not, in a model directory of its own.
void write_trained_sentiment_model(const std::filesystem::path& dir, fasttext::loss_name loss, bool quantized) {
  fasttext::Args args = testing::small_classifier_args(dir);
  args.loss = loss;
  const auto model = testing::train_classifier(args);
  if (quantized) {
    fasttext::Args quantization;
    quantization.input = args.input;
    quantization.cutoff = 2000;
    quantization.dsub = 2;
    quantization.verbose = 0;
    model->quantize(quantization);
  }
  model->saveModel((dir / "model.bin").string());
  testing::write_file(dir / "model.yaml", testing::read_file(testing::demo_models() / "sentiment/1/model.yaml"));
}

TEST(FastTextRuntime, AgreesWithFastTextsOwnPredictLine) {
  expect_agrees_with_predict_line(testing::demo_models() / "sentiment/1");
  expect_agrees_with_predict_line(testing::demo_models() / "sentiment/2");
}

TEST(FastTextRuntime, AgreesWithPredictLineForEveryLossAndAQuantizedModel) {
  const testing::TempDir dir;
  for (const auto& [name, loss, quantized] :
       {std::tuple{"softmax", fasttext::loss_name::softmax, false}, std::tuple{"hs", fasttext::loss_name::hs, false},
        std::tuple{"ova", fasttext::loss_name::ova, false}, std::tuple{"ns", fasttext::loss_name::ns, false},
        std::tuple{"quantized", fasttext::loss_name::softmax, true}}) {
    write_trained_sentiment_model(dir / name, loss, quantized);
    expect_agrees_with_predict_line(dir / name);
  }
}

TEST(FastTextRuntime, EmptyTextStillGetsADistribution) {
  Loaded m = load_demo("sentiment/2");
  std::vector<Tensor> out = run(*m.runtime, text_batch({"", "zzqx qqvv"}));
  expect_probability_rows(out[1]);
  EXPECT_NE(out[0].strings[0], "");
}

// --- XGBoost ------------------------------------------------------------------------------------

// The first row of the Wisconsin breast cancer data: a malignant tumour.
const std::vector<float> kMalignantRow{17.99F, 10.38F, 122.8F,  1001,     0.1184F,  0.2776F,  0.3001F, 0.1471F,
                                       0.2419F, 0.07871F, 1.095F, 0.9053F, 8.589F,  153.4F,   0.006399F, 0.04904F,
                                       0.05373F, 0.01587F, 0.03003F, 0.006193F, 25.38F, 17.33F, 184.6F,   2019,
                                       0.1622F, 0.6656F, 0.7119F, 0.2654F, 0.4601F, 0.1189F};

TEST(XGBoostRuntime, AnswersTwoClassProbabilitiesForA30FeatureRow) {
  Loaded m = load_demo("cancer/1");
  std::vector<Tensor> out = run(*m.runtime, fp32_rows("features", {kMalignantRow}));
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].name, "probabilities");
  EXPECT_EQ(out[0].shape, (Shape{1, 2}));
  expect_probability_rows(out[0]);
}

TEST(XGBoostRuntime, ClassifiesAKnownMalignantRow) {
  Loaded m = load_demo("cancer/1");
  std::vector<Tensor> out = run(*m.runtime, fp32_rows("features", {kMalignantRow}));
  EXPECT_EQ(m.config.labels[argmax_of_row(out[0], 0)], "malignant");
}

TEST(XGBoostRuntime, RejectsAConfigWhoseFeatureCountDiffersFromTheModel) {
  const auto dir = testing::demo_models() / "cancer/1";
  ModelConfig config = load_config(dir);
  config.inputs[0].shape = {-1, 29};
  EXPECT_THROW(
      {
        try {
          create_runtime(config, dir);
        } catch (const std::runtime_error& e) {
          EXPECT_THAT(e.what(), HasSubstr("declares 29 features, the model has 30"));
          throw;
        }
      },
      std::runtime_error);
}

// --- TorchScript --------------------------------------------------------------------------------

TEST(TorchScriptRuntime, AnswersThreeProbabilitiesPerIrisRow) {
  Loaded m = load_demo("mlp/1");
  std::vector<Tensor> out =
      run(*m.runtime, fp32_rows("input", {{5.1F, 3.5F, 1.4F, 0.2F}, {6.4F, 3.2F, 4.5F, 1.5F}, {6.3F, 3.3F, 6.0F, 2.5F}}));
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].name, "probabilities");
  EXPECT_EQ(out[0].shape, (Shape{3, 3}));
  expect_probability_rows(out[0]);
}

TEST(TorchScriptRuntime, ClassifiesTypicalIrisRows) {
  Loaded m = load_demo("mlp/1");
  std::vector<Tensor> out =
      run(*m.runtime, fp32_rows("input", {{5.1F, 3.5F, 1.4F, 0.2F}, {6.4F, 3.2F, 4.5F, 1.5F}, {6.3F, 3.3F, 6.0F, 2.5F}}));
  EXPECT_EQ(m.config.labels[argmax_of_row(out[0], 0)], "setosa");
  EXPECT_EQ(m.config.labels[argmax_of_row(out[0], 1)], "versicolor");
  EXPECT_EQ(m.config.labels[argmax_of_row(out[0], 2)], "virginica");
}

// --- every runtime ------------------------------------------------------------------------------

class CorruptArtifact : public ::testing::TestWithParam<const char*> {};

TEST_P(CorruptArtifact, MakesCreateRuntimeThrow) {
  testing::TempDir dir;
  std::filesystem::copy(testing::demo_models() / GetParam(), dir.path(), std::filesystem::copy_options::recursive);
  ModelConfig config = load_config(dir.path());
  testing::write_file(dir / config.artifact, "this is not a model \x01\x02\x03\xff garbage garbage garbage");
  EXPECT_THROW(create_runtime(config, dir.path()), std::runtime_error);
}

TEST_P(CorruptArtifact, MissingArtifactMakesCreateRuntimeThrow) {
  testing::TempDir dir;
  std::filesystem::copy(testing::demo_models() / GetParam(), dir.path(), std::filesystem::copy_options::recursive);
  ModelConfig config = load_config(dir.path());
  std::filesystem::remove(dir / config.artifact);
  EXPECT_THROW(create_runtime(config, dir.path()), std::runtime_error);
}

INSTANTIATE_TEST_SUITE_P(EveryRuntime, CorruptArtifact, ::testing::Values("sentiment/1", "cancer/1", "mlp/1"),
                         [](const auto& info) {
                           std::string name = info.param;
                           return name.substr(0, name.find('/'));
                         });

TEST(CreateRuntime, UnknownRuntimeNameThrows) {
  ModelConfig config = load_config(testing::demo_models() / "cancer/1");
  config.runtime = "onnx";
  EXPECT_THROW(
      {
        try {
          create_runtime(config, testing::demo_models() / "cancer/1");
        } catch (const std::runtime_error& e) {
          EXPECT_STREQ(e.what(), "unknown runtime 'onnx'");
          throw;
        }
      },
      std::runtime_error);
}

TEST(IsKnownRuntime, KnowsExactlyTheRegisteredRuntimes) {
  EXPECT_TRUE(is_known_runtime("fasttext"));
  EXPECT_TRUE(is_known_runtime("xgboost"));
  EXPECT_TRUE(is_known_runtime("torchscript"));
  EXPECT_FALSE(is_known_runtime("onnx"));
  EXPECT_FALSE(is_known_runtime("XGBoost"));
}

}  // namespace
}  // namespace seraph
