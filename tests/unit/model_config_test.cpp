#include "models/model_config.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

#include "test_support.h"

namespace seraph {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

constexpr const char* kFullConfig = R"(
runtime: fasttext
artifact: model.bin
description: "Sentiment of reviews"
inputs:
  - {name: text, datatype: BYTES, shape: [-1]}
outputs:
  - {name: label, datatype: BYTES, shape: [-1, 2]}
  - {name: probability, datatype: FP32, shape: [-1, 2]}
labels: [negative, positive]
parameters: {top_k: 2, mode: fast}
preprocessing: {lowercase: true, separate_punctuation: true}
metrics: {accuracy: 0.85}
instances: 3
)";

// Minimal valid config with one line replaced, to check one error at a time.
constexpr const char* kMinimalTemplate = R"(
runtime: xgboost
artifact: model.json
inputs:
  - {name: features, datatype: FP32, shape: [-1, 30]}
outputs:
  - {name: probabilities, datatype: FP32, shape: [-1, 2]}
)";

class ModelConfigTest : public ::testing::Test {
 protected:
  Status load(const std::string& yaml) {
    testing::write_file(file_, yaml);
    return load_model_config(file_, config_);
  }
  // kMinimalTemplate with the first occurrence of `from` replaced by `to`.
  Status load_minimal_with(const std::string& from, const std::string& to) {
    std::string yaml = kMinimalTemplate;
    const auto at = yaml.find(from);
    if (at == std::string::npos) throw std::logic_error("template has no " + from);
    yaml.replace(at, from.size(), to);
    return load(yaml);
  }

  testing::TempDir dir_;
  std::filesystem::path file_ = dir_ / "model.yaml";
  ModelConfig config_;
};

TEST_F(ModelConfigTest, LoadsEveryFieldOfAFullFile) {
  ASSERT_TRUE(load(kFullConfig).is_ok());
  EXPECT_EQ(config_.runtime, "fasttext");
  EXPECT_EQ(config_.artifact, "model.bin");
  EXPECT_EQ(config_.description, "Sentiment of reviews");
  ASSERT_EQ(config_.inputs.size(), 1u);
  EXPECT_EQ(config_.inputs[0].name, "text");
  EXPECT_EQ(config_.inputs[0].datatype, DataType::kBytes);
  EXPECT_EQ(config_.inputs[0].shape, (Shape{-1}));
  ASSERT_EQ(config_.outputs.size(), 2u);
  EXPECT_EQ(config_.outputs[1].name, "probability");
  EXPECT_EQ(config_.outputs[1].datatype, DataType::kFp32);
  EXPECT_EQ(config_.outputs[1].shape, (Shape{-1, 2}));
  EXPECT_EQ(config_.labels, (std::vector<std::string>{"negative", "positive"}));
  EXPECT_EQ(config_.parameters.at("top_k"), "2");
  EXPECT_EQ(config_.parameters.at("mode"), "fast");
  EXPECT_TRUE(config_.preprocessing.lowercase);
  EXPECT_TRUE(config_.preprocessing.separate_punctuation);
  EXPECT_DOUBLE_EQ(config_.metrics.at("accuracy"), 0.85);
  EXPECT_EQ(config_.instances, 3);
}

TEST_F(ModelConfigTest, OptionalFieldsDefaultWhenAbsent) {
  ASSERT_TRUE(load(kMinimalTemplate).is_ok());
  EXPECT_EQ(config_.instances, 1);
  EXPECT_TRUE(config_.labels.empty());
  EXPECT_FALSE(config_.preprocessing.lowercase);
  EXPECT_FALSE(config_.preprocessing.separate_punctuation);
}

TEST_F(ModelConfigTest, FindsTensorSpecsByName) {
  ASSERT_TRUE(load(kFullConfig).is_ok());
  ASSERT_NE(config_.find_input("text"), nullptr);
  EXPECT_EQ(config_.find_input("text")->datatype, DataType::kBytes);
  EXPECT_EQ(config_.find_input("label"), nullptr);
  ASSERT_NE(config_.find_output("label"), nullptr);
  EXPECT_EQ(config_.find_output("text"), nullptr);
}

TEST_F(ModelConfigTest, ParameterIntFallsBackOnlyWhenMissing) {
  ASSERT_TRUE(load(kFullConfig).is_ok());
  int value = 0;
  ASSERT_TRUE(config_.parameter_int("top_k", 9, value).is_ok());
  EXPECT_EQ(value, 2);
  ASSERT_TRUE(config_.parameter_int("absent", 9, value).is_ok());
  EXPECT_EQ(value, 9);
  Status s = config_.parameter_int("mode", 9, value);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("parameters.mode: must be an integer, got 'fast'"));
}

// "3x" is a typo, not 3: a number with trailing characters is an error naming its key path.
TEST_F(ModelConfigTest, NumbersWithTrailingCharactersAreRejectedNamingTheirKeyPath) {
  ASSERT_TRUE(load(std::string(kMinimalTemplate) + "parameters: {top_k: 3x}\n").is_ok());
  int top_k = 0;
  Status s = config_.parameter_int("top_k", 1, top_k);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("parameters.top_k: must be an integer, got '3x'"));

  for (const auto& [yaml, path] : std::vector<std::pair<std::string, std::string>>{
           {"batching: {max_batch_size: 8abc}\n", ": batching.max_batch_size: must be an integer, got '8abc'"},
           {"batching: {max_queue_delay_us: 100us}\n",
            ": batching.max_queue_delay_us: must be an integer, got '100us'"},
           {"instances: 3x\n", ": instances: must be an integer, got '3x'"},
           {"memory_bytes: 100MB\n", ": memory_bytes: must be an integer, got '100MB'"},
           {"max_queue_size: 8abc\n", ": max_queue_size: must be an integer, got '8abc'"},
       }) {
    Status bad = load(std::string(kMinimalTemplate) + yaml);
    EXPECT_EQ(bad.code(), StatusCode::kInvalidArgument) << yaml;
    EXPECT_THAT(bad.message(), HasSubstr(path)) << yaml;
  }
  Status dim = load_minimal_with("shape: [-1, 30]", "shape: [-1, 30x]");
  EXPECT_THAT(dim.message(), HasSubstr(": inputs[0].shape[1]: must be an integer"));
}

TEST_F(ModelConfigTest, ErrorStartsWithTheFileName) {
  Status s = load_minimal_with("runtime: xgboost\n", "");
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), StartsWith(file_.string() + ": "));
}

TEST_F(ModelConfigTest, MissingRuntimeIsNamed) {
  EXPECT_THAT(load_minimal_with("runtime: xgboost\n", "").message(), HasSubstr(": runtime: is required"));
}

TEST_F(ModelConfigTest, MissingOutputsAreNamed) {
  Status s = load("runtime: x\nartifact: a\ninputs:\n  - {name: a, datatype: FP32, shape: [-1]}\n");
  EXPECT_THAT(s.message(), HasSubstr(": outputs: is required"));
}

TEST_F(ModelConfigTest, EmptyInputListIsRejected) {
  Status s = load_minimal_with("inputs:\n  - {name: features, datatype: FP32, shape: [-1, 30]}", "inputs: []");
  EXPECT_THAT(s.message(), HasSubstr(": inputs: must be a non-empty list"));
}

TEST_F(ModelConfigTest, UnknownDatatypeNamesItsKeyPath) {
  Status s = load_minimal_with("datatype: FP32, shape: [-1, 30]", "datatype: FLOAT, shape: [-1, 30]");
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("inputs[0].datatype: unknown datatype 'FLOAT'"));
}

TEST_F(ModelConfigTest, MissingTensorNameNamesItsKeyPath) {
  Status s = load_minimal_with("{name: probabilities, ", "{");
  EXPECT_THAT(s.message(), HasSubstr("outputs[0].name: is required"));
}

TEST_F(ModelConfigTest, ZeroDimensionIsRejected) {
  Status s = load_minimal_with("shape: [-1, 30]", "shape: [-1, 0]");
  EXPECT_THAT(s.message(), HasSubstr("inputs[0].shape[1]: must be -1 or positive"));
}

TEST_F(ModelConfigTest, NonIntegerDimensionIsRejected) {
  Status s = load_minimal_with("shape: [-1, 30]", "shape: [-1, wide]");
  EXPECT_THAT(s.message(), HasSubstr("inputs[0].shape[1]: must be an integer"));
}

TEST_F(ModelConfigTest, EmptyShapeIsRejected) {
  Status s = load_minimal_with("shape: [-1, 2]", "shape: []");
  EXPECT_THAT(s.message(), HasSubstr("outputs[0].shape: must be a non-empty list"));
}

TEST_F(ModelConfigTest, BatchDimensionMustBeMinusOne) {
  Status s = load_minimal_with("shape: [-1, 30]", "shape: [8, 30]");
  EXPECT_THAT(s.message(), HasSubstr("inputs[0].shape[0]: is the batch dimension and must be -1"));
}

TEST_F(ModelConfigTest, ArtifactMustBeAFileNameInsideTheVersionDirectory) {
  for (const char* artifact : {"../other/model.json", "sub/model.json", "/etc/passwd", ".."}) {
    Status s = load_minimal_with("artifact: model.json", std::string("artifact: \"") + artifact + "\"");
    EXPECT_THAT(s.message(), HasSubstr(": artifact: must be a file name inside the version directory")) << artifact;
  }
}

TEST_F(ModelConfigTest, HalfFloatOutputsAreRejected) {
  for (const char* type : {"FP16", "BF16"}) {
    Status s = load_minimal_with("datatype: FP32, shape: [-1, 2]", std::string("datatype: ") + type + ", shape: [-1, 2]");
    EXPECT_THAT(s.message(), HasSubstr("outputs[0].datatype: FP16 and BF16 outputs cannot be answered in JSON"))
        << type;
  }
}

TEST_F(ModelConfigTest, HalfFloatInputsAreAllowed) {
  EXPECT_TRUE(load_minimal_with("datatype: FP32, shape: [-1, 30]", "datatype: FP16, shape: [-1, 30]").is_ok());
}

TEST_F(ModelConfigTest, InstancesMustBeBetweenOneAnd64) {
  EXPECT_THAT(load(std::string(kMinimalTemplate) + "instances: 0\n").message(),
              HasSubstr(": instances: must be between 1 and 64"));
  EXPECT_THAT(load(std::string(kMinimalTemplate) + "instances: 65\n").message(),
              HasSubstr(": instances: must be between 1 and 64"));
  EXPECT_TRUE(load(std::string(kMinimalTemplate) + "instances: 64\n").is_ok());
}

// A value of the wrong type is reported with its key path, like every other mistake.
TEST_F(ModelConfigTest, NonIntegerInstancesNamesItsKeyPath) {
  Status s = load(std::string(kMinimalTemplate) + "instances: many\n");
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr(": instances: "));
}

// A typo in a preprocessing flag must not silently change how text is prepared.
TEST_F(ModelConfigTest, NonBooleanPreprocessingFlagIsAnError) {
  Status s = load(std::string(kMinimalTemplate) + "preprocessing: {lowercase: ture}\n");
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("preprocessing.lowercase"));
}

TEST_F(ModelConfigTest, WarmupSamplesBecomeOneRowTensorsOfEachInput) {
  std::string row = "[";
  for (int i = 0; i < 30; ++i) row += (i ? ", " : "") + std::to_string(i);
  row += "]";
  ASSERT_TRUE(load(std::string(kMinimalTemplate) + "warmup:\n  - {features: " + row + "}\n").is_ok());
  ASSERT_EQ(config_.warmup.size(), 1u);
  EXPECT_EQ(config_.warmup[0][0].shape, (Shape{1, 30}));
  EXPECT_EQ(config_.warmup[0][0].values<float>()[29], 29.0f);
}

TEST_F(ModelConfigTest, AWarmupSampleOfTheWrongSizeNamesItsPath) {
  Status s = load(std::string(kMinimalTemplate) + "warmup:\n  - {features: [1, 2]}\n");
  EXPECT_THAT(s.message(), HasSubstr("warmup[0].features: has 2 values, the input takes 30"));
  EXPECT_THAT(load(std::string(kMinimalTemplate) + "warmup:\n  - {other: [1]}\n").message(),
              HasSubstr("warmup[0].features: must be a list"));
}

TEST_F(ModelConfigTest, MalformedYamlIsAnInvalidArgumentNamingTheFile) {
  Status s = load("runtime: [unclosed\n");
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), StartsWith(file_.string() + ": "));
}

TEST_F(ModelConfigTest, TopLevelMustBeAMapping) {
  Status s = load("- runtime\n- artifact\n");
  EXPECT_THAT(s.message(), HasSubstr(": must be a mapping"));
}

TEST_F(ModelConfigTest, MissingFileIsAnError) {
  Status s = load_model_config(dir_ / "absent.yaml", config_);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("absent.yaml"));
}

// --- validation rules -----------------------------------------------------------------------------

TEST_F(ModelConfigTest, ReadsEachInputsValidationRulesAndTheRequestBatchLimit) {
  ASSERT_TRUE(load(R"(
runtime: torchscript
artifact: model.pt
inputs:
  - {name: age, datatype: INT32, shape: [-1, 1], min: 0, max: 150}
  - {name: note, datatype: BYTES, shape: [-1, 1], max_length: 4096, required: false}
outputs:
  - {name: score, datatype: FP32, shape: [-1, 1]}
max_request_batch: 64
batching: {max_batch_size: 32}
)")
                  .is_ok());
  const TensorSpec& age = config_.inputs[0];
  EXPECT_EQ(age.min, 0.0);
  EXPECT_EQ(age.max, 150.0);
  EXPECT_FALSE(age.max_length);
  EXPECT_TRUE(age.required);
  const TensorSpec& note = config_.inputs[1];
  EXPECT_EQ(note.max_length, 4096);
  EXPECT_FALSE(note.required);
  EXPECT_EQ(config_.max_request_batch, 64);
  EXPECT_EQ(config_.max_batch_size, 32) << "the batcher's limit is another key";
}

TEST_F(ModelConfigTest, WithoutValidationKeysInputsAreRequiredAndUnbounded) {
  ASSERT_TRUE(load(kMinimalTemplate).is_ok());
  EXPECT_TRUE(config_.inputs[0].required);
  EXPECT_FALSE(config_.inputs[0].has_value_rules());
  EXPECT_EQ(config_.max_request_batch, 0);
}

TEST_F(ModelConfigTest, BadValidationValuesAreRefusedNamingTheKey) {
  for (const auto& [to, error] : std::vector<std::pair<std::string, std::string>>{
           {"min: 5, max: 3}", ": inputs[0].min: 5 is above max 3"},
           {"max: 150x}", ": inputs[0].max: must be a number, got '150x'"},
           {"min: abc}", ": inputs[0].min: must be a number, got 'abc'"},
           {"max: .inf}", ": inputs[0].max: must be a finite number, got '.inf'"},
           {"min: .nan}", ": inputs[0].min: must be a finite number, got '.nan'"},
           {"max_length: 10}", ": inputs[0].max_length: applies to BYTES inputs only"},
           {"required: maybe}", ": inputs[0].required: must be true or false, got 'maybe'"},
           {"required: false}", ": inputs[0].required: the first input carries the batch and must be required"},
       }) {
    Status s = load_minimal_with("shape: [-1, 30]}", "shape: [-1, 30], " + to);
    EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << to;
    EXPECT_THAT(s.message(), HasSubstr(error)) << to;
  }
}

TEST_F(ModelConfigTest, BadTextLengthsAreRefusedNamingTheKey) {
  const std::string text_model = "inputs:\n  - {name: text, datatype: BYTES, shape: [-1], max_length: ";
  for (const auto& [value, error] : std::vector<std::pair<std::string, std::string>>{
           {"-1", ": inputs[0].max_length: must not be negative"},
           {"4096x", ": inputs[0].max_length: must be an integer, got '4096x'"},
       }) {
    Status s = load_minimal_with("inputs:\n  - {name: features, datatype: FP32, shape: [-1, 30]}",
                                 text_model + value + "}");
    EXPECT_THAT(s.message(), HasSubstr(error)) << value;
  }
  Status bounds = load_minimal_with("inputs:\n  - {name: features, datatype: FP32, shape: [-1, 30]}",
                                    "inputs:\n  - {name: text, datatype: BYTES, shape: [-1], max: 3}");
  EXPECT_THAT(bounds.message(), HasSubstr(": inputs[0].max: applies to integer, FP32 and FP64 inputs, not BYTES"));
}

TEST_F(ModelConfigTest, ValidationKeysOnAnOutputAreRefused) {
  Status s = load_minimal_with("shape: [-1, 2]}", "shape: [-1, 2], max: 1}");
  EXPECT_THAT(s.message(), HasSubstr(": outputs[0].max: applies to inputs only"));
}

TEST_F(ModelConfigTest, ARequiredInputAfterAnOptionalOneIsRefused) {
  Status s = load_minimal_with("inputs:\n  - {name: features, datatype: FP32, shape: [-1, 30]}",
                               "inputs:\n  - {name: a, datatype: FP32, shape: [-1, 3]}\n"
                               "  - {name: b, datatype: FP32, shape: [-1, 3], required: false}\n"
                               "  - {name: c, datatype: FP32, shape: [-1, 3]}");
  EXPECT_THAT(s.message(), HasSubstr(": inputs[2]: a required input cannot follow an optional one"));
}

TEST_F(ModelConfigTest, MaxRequestBatchMustBeAPositiveInteger) {
  EXPECT_THAT(load(std::string(kMinimalTemplate) + "max_request_batch: 0\n").message(),
              HasSubstr(": max_request_batch: must be at least 1"));
  EXPECT_THAT(load(std::string(kMinimalTemplate) + "max_request_batch: 8x\n").message(),
              HasSubstr(": max_request_batch: must be an integer, got '8x'"));
}

}  // namespace
}  // namespace seraph
