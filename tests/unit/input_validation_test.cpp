#include "models/input_validation.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

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

}  // namespace
}  // namespace seraph
