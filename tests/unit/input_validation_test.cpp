#include "models/input_validation.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <limits>

namespace seraph {
namespace {

using ::testing::HasSubstr;

// A two-input model: FP32 rows of exactly 3 features, and INT64 token ids of any length.
ModelConfig two_input_model() {
  ModelConfig config;
  config.runtime = "torchscript";
  config.inputs = {{"features", DataType::kFp32, {-1, 3}}, {"tokens", DataType::kInt64, {-1, -1}}};
  config.outputs = {{"scores", DataType::kFp32, {-1, 2}}, {"embedding", DataType::kFp32, {-1, 8}}};
  return config;
}

Tensor tensor(std::string name, DataType type, Shape shape) {
  Tensor t{std::move(name), type, std::move(shape), {}, {}};
  t.bytes.resize(static_cast<size_t>(*element_count(t.shape)) * datatype_size(type));
  return t;
}

InferRequest request_with(std::vector<Tensor> inputs) {
  InferRequest request;
  request.model = "ranker";
  request.inputs = std::move(inputs);
  return request;
}

// Validates `request` as the validation guard does, keeping the (possibly reordered) result.
Status validate(const ModelConfig& config, InferRequest& request) {
  auto shared = std::make_shared<const InferRequest>(request);
  Status status = validate_request(config, shared);
  request = *shared;
  return status;
}

InferRequest valid_request() {
  return request_with({tensor("features", DataType::kFp32, {2, 3}), tensor("tokens", DataType::kInt64, {2, 5})});
}

TEST(ValidateRequest, AcceptsARequestThatMatchesTheContract) {
  InferRequest request = valid_request();
  EXPECT_TRUE(validate(two_input_model(), request).is_ok());
}

TEST(ValidateRequest, AcceptsAnySizeWhereTheConfigSaysMinusOne) {
  InferRequest request =
      request_with({tensor("features", DataType::kFp32, {1, 3}), tensor("tokens", DataType::kInt64, {1, 117})});
  EXPECT_TRUE(validate(two_input_model(), request).is_ok());
}

TEST(ValidateRequest, RejectsWrongNumberOfInputs) {
  InferRequest request = request_with({tensor("features", DataType::kFp32, {2, 3})});
  Status s = validate(two_input_model(), request);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(s.message(), "model 'ranker' expects 2 input(s), got 1");
}

TEST(ValidateRequest, RejectsAMissingInputByName) {
  InferRequest request =
      request_with({tensor("features", DataType::kFp32, {2, 3}), tensor("token_ids", DataType::kInt64, {2, 5})});
  Status s = validate(two_input_model(), request);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(s.message(), "missing input 'tokens' for model 'ranker'");
}

TEST(ValidateRequest, RejectsWrongDatatype) {
  InferRequest request =
      request_with({tensor("features", DataType::kFp64, {2, 3}), tensor("tokens", DataType::kInt64, {2, 5})});
  Status s = validate(two_input_model(), request);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(s.message(), "input 'features' has datatype FP64, model 'ranker' expects FP32");
}

TEST(ValidateRequest, RejectsWrongRank) {
  InferRequest request =
      request_with({tensor("features", DataType::kFp32, {6}), tensor("tokens", DataType::kInt64, {2, 5})});
  Status s = validate(two_input_model(), request);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(s.message(), "input 'features' has shape [6], model 'ranker' expects [-1, 3]");
}

TEST(ValidateRequest, RejectsWrongFixedDimension) {
  InferRequest request =
      request_with({tensor("features", DataType::kFp32, {2, 4}), tensor("tokens", DataType::kInt64, {2, 5})});
  Status s = validate(two_input_model(), request);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(s.message(), "input 'features' has shape [2, 4], model 'ranker' expects [-1, 3]");
}

TEST(ValidateRequest, RejectsAnEmptyBatch) {
  InferRequest request =
      request_with({tensor("features", DataType::kFp32, {0, 3}), tensor("tokens", DataType::kInt64, {0, 5})});
  Status s = validate(two_input_model(), request);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(s.message(), "input 'features' is an empty batch");
}

TEST(ValidateRequest, RejectsInputsThatDisagreeOnTheBatchSize) {
  InferRequest request =
      request_with({tensor("features", DataType::kFp32, {2, 3}), tensor("tokens", DataType::kInt64, {3, 5})});
  Status s = validate(two_input_model(), request);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(s.message(), "inputs disagree on the batch size (2 and 3)");
}

TEST(ValidateRequest, RejectsAnUnknownRequestedOutput) {
  InferRequest request = valid_request();
  request.requested_outputs = {"scores", "logits"};
  Status s = validate(two_input_model(), request);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(s.message(), "model 'ranker' has no output 'logits'");
}

TEST(ValidateRequest, AcceptsKnownRequestedOutputs) {
  InferRequest request = valid_request();
  request.requested_outputs = {"embedding"};
  EXPECT_TRUE(validate(two_input_model(), request).is_ok());
}

TEST(ValidateRequest, PutsInputsInTheConfigsOrder) {
  Tensor tokens = tensor("tokens", DataType::kInt64, {2, 5});
  tokens.mutable_values<int64_t>()[0] = 42;
  InferRequest request = request_with({std::move(tokens), tensor("features", DataType::kFp32, {2, 3})});
  ASSERT_TRUE(validate(two_input_model(), request).is_ok());
  ASSERT_EQ(request.inputs.size(), 2u);
  EXPECT_EQ(request.inputs[0].name, "features");
  EXPECT_EQ(request.inputs[1].name, "tokens");
  EXPECT_EQ(request.inputs[1].shape, (Shape{2, 5}));
  EXPECT_EQ(request.inputs[1].values<int64_t>()[0], 42);
}

// --- the model's own rules (model.yaml: min, max, max_length, required, max_request_batch) --------

// One INT32 "age" per row, between 0 and 150.
ModelConfig age_model() {
  ModelConfig config;
  config.runtime = "torchscript";
  config.inputs = {{"age", DataType::kInt32, {-1, 1}}};
  config.inputs[0].min = 0;
  config.inputs[0].max = 150;
  config.outputs = {{"score", DataType::kFp32, {-1, 1}}};
  return config;
}

InferRequest ages(std::vector<int32_t> values) {
  const auto rows = static_cast<int64_t>(values.size());
  return request_with({Tensor::of<int32_t>("age", DataType::kInt32, {rows, 1}, values)});
}

TEST(ValidateRequest, ANumberAboveTheMaximumIsRefusedNamingTheInputValueAndIndex) {
  InferRequest request = ages({30, 40, 50, 212});
  Status s = validate(age_model(), request);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(s.message(), "input 'age': value 212 at index 3 is above the maximum 150");
}

TEST(ValidateRequest, ANumberBelowTheMinimumIsRefused) {
  InferRequest request = ages({-1});
  EXPECT_EQ(validate(age_model(), request).message(), "input 'age': value -1 at index 0 is below the minimum 0");
}

TEST(ValidateRequest, NumbersExactlyAtTheBoundsPass) {
  InferRequest request = ages({0, 150});
  EXPECT_TRUE(validate(age_model(), request).is_ok());
}

TEST(ValidateRequest, FloatBoundsRefuseNaNAndInfinity) {
  ModelConfig config = two_input_model();
  config.inputs[0].max = 1.5;
  for (float bad : {std::numeric_limits<float>::quiet_NaN(), std::numeric_limits<float>::infinity(),
                    -std::numeric_limits<float>::infinity()}) {
    const std::vector<float> row{0.5f, bad, 1.5f};
    InferRequest request = request_with({Tensor::of<float>("features", DataType::kFp32, {1, 3}, row),
                                         tensor("tokens", DataType::kInt64, {1, 2})});
    Status s = validate(config, request);
    EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
    EXPECT_THAT(s.message(), HasSubstr("input 'features': value")) << bad;
    EXPECT_THAT(s.message(), HasSubstr("at index 1 is not a finite number")) << bad;
  }
  const std::vector<float> at_max{0.5f, 1.5f, -3.0f};
  InferRequest fine = request_with({Tensor::of<float>("features", DataType::kFp32, {1, 3}, at_max),
                                    tensor("tokens", DataType::kInt64, {1, 2})});
  EXPECT_TRUE(validate(config, fine).is_ok());
}

TEST(ValidateRequest, WithoutBoundsNaNIsTheModelsBusiness) {
  const std::vector<float> row{std::numeric_limits<float>::quiet_NaN(), 0, 0};
  InferRequest request = request_with({Tensor::of<float>("features", DataType::kFp32, {1, 3}, row),
                                       tensor("tokens", DataType::kInt64, {1, 2})});
  EXPECT_TRUE(validate(two_input_model(), request).is_ok());
}

TEST(ValidateRequest, Int64BoundsAreExactBeyondWhatADoubleHolds) {
  ModelConfig config = two_input_model();
  config.inputs[1].max = 9007199254740992.0;  // 2^53
  Tensor tokens = tensor("tokens", DataType::kInt64, {1, 1});
  tokens.mutable_values<int64_t>()[0] = 9007199254740993;  // 2^53 + 1: equal to the bound as a double
  InferRequest request = request_with({tensor("features", DataType::kFp32, {1, 3}), tokens});
  EXPECT_THAT(validate(config, request).message(), HasSubstr("value 9007199254740993 at index 0 is above the maximum"));
}

ModelConfig text_model(int64_t max_length) {
  ModelConfig config;
  config.runtime = "fasttext";
  config.inputs = {{"text", DataType::kBytes, {-1}}};
  config.inputs[0].max_length = max_length;
  config.outputs = {{"label", DataType::kBytes, {-1, 1}}};
  return config;
}

TEST(ValidateRequest, ATextLongerThanMaxLengthIsRefusedNamingTheElementAndItsSize) {
  InferRequest request =
      request_with({Tensor{"text", DataType::kBytes, {2}, {}, {"short", std::string(9000, 'x')}}});
  Status s = validate(text_model(4096), request);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(s.message(), "input 'text': element 1 is 9000 bytes, above max_length 4096");
}

TEST(ValidateRequest, ATextOfExactlyMaxLengthBytesPasses) {
  InferRequest request = request_with({Tensor{"text", DataType::kBytes, {1}, {}, {std::string(4096, 'x')}}});
  EXPECT_TRUE(validate(text_model(4096), request).is_ok());
}

TEST(ValidateRequest, MaxLengthCountsBytesNotCharacters) {
  InferRequest request = request_with({Tensor{"text", DataType::kBytes, {1}, {}, {"\xC3\xA9\xC3\xA9"}}});  // "éé"
  EXPECT_THAT(validate(text_model(3), request).message(), HasSubstr("element 0 is 4 bytes, above max_length 3"));
}

TEST(ValidateRequest, MaxLengthAppliesToPositionalPredictRequestsToo) {
  InferRequest request = request_with({Tensor{"", DataType::kBytes, {1}, {}, {std::string(10, 'x')}}});
  request.positional_inputs = true;
  EXPECT_THAT(validate(text_model(5), request).message(), HasSubstr("above max_length 5"));
}

TEST(ValidateRequest, MoreRowsThanMaxRequestBatchAreRefused) {
  ModelConfig config = age_model();
  config.max_request_batch = 3;
  InferRequest at_limit = ages({1, 2, 3});
  EXPECT_TRUE(validate(config, at_limit).is_ok());
  InferRequest over = ages({1, 2, 3, 4});
  Status s = validate(config, over);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(s.message(), "model 'ranker' takes at most 3 rows per request (max_request_batch), got 4");
}

// "features" required; "tokens" and "mask" optional, in that order.
ModelConfig optional_tail_model() {
  ModelConfig config = two_input_model();
  config.inputs.push_back({"mask", DataType::kBool, {-1, -1}});
  config.inputs[1].required = false;
  config.inputs[2].required = false;
  return config;
}

TEST(ValidateRequest, InputsAreRequiredUnlessTheConfigSaysOtherwise) {
  InferRequest request = request_with({tensor("features", DataType::kFp32, {2, 3})});
  EXPECT_EQ(validate(two_input_model(), request).message(), "model 'ranker' expects 2 input(s), got 1");
}

TEST(ValidateRequest, OptionalInputsMayBeLeftOutAndTheRuntimeGetsThoseSent) {
  InferRequest only_required = request_with({tensor("features", DataType::kFp32, {2, 3})});
  ASSERT_TRUE(validate(optional_tail_model(), only_required).is_ok());
  EXPECT_EQ(only_required.inputs.size(), 1u);
  InferRequest two = request_with({tensor("tokens", DataType::kInt64, {2, 5}), tensor("features", DataType::kFp32, {2, 3})});
  ASSERT_TRUE(validate(optional_tail_model(), two).is_ok());
  ASSERT_EQ(two.inputs.size(), 2u);
  EXPECT_EQ(two.inputs[0].name, "features");
  EXPECT_EQ(two.inputs[1].name, "tokens");
}

TEST(ValidateRequest, ARequiredInputIsStillRequiredBesideOptionalOnes) {
  InferRequest request = request_with({tensor("tokens", DataType::kInt64, {2, 5})});
  EXPECT_EQ(validate(optional_tail_model(), request).message(), "missing input 'features' for model 'ranker'");
  InferRequest none = request_with({});
  EXPECT_EQ(validate(optional_tail_model(), none).message(), "model 'ranker' expects 1 to 3 inputs, got 0");
}

TEST(ValidateRequest, AnOptionalInputSentWithoutTheOptionalOnesBeforeItIsRefused) {
  InferRequest request = request_with({tensor("features", DataType::kFp32, {2, 3}), tensor("mask", DataType::kBool, {2, 5})});
  EXPECT_EQ(validate(optional_tail_model(), request).message(),
            "input 'mask' is sent without optional input 'tokens' before it; runtimes take inputs by position");
}

TEST(ValidateRequest, AnUnknownOrRepeatedInputBesideOptionalOnesIsRefused) {
  InferRequest unknown = request_with({tensor("features", DataType::kFp32, {2, 3}), tensor("extra", DataType::kFp32, {2, 3})});
  EXPECT_EQ(validate(optional_tail_model(), unknown).message(), "model 'ranker' has no input 'extra'");
  InferRequest twice = request_with({tensor("features", DataType::kFp32, {2, 3}), tensor("features", DataType::kFp32, {2, 3})});
  EXPECT_EQ(validate(optional_tail_model(), twice).message(), "input 'features' is sent more than once");
}

}  // namespace
}  // namespace seraph
