#include "api/predict_adapter.h"
#include "models/input_validation.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <rapidjson/document.h>

#include <array>

namespace seraph {
namespace {

using ::testing::HasSubstr;

std::vector<float> floats(const Tensor& t) { return {t.values<float>().begin(), t.values<float>().end()}; }

rapidjson::Document json(const std::string& text) {
  rapidjson::Document doc;
  doc.Parse(text.c_str(), text.size());
  return doc;
}

// --- parse_predict_body -------------------------------------------------------------------------

TEST(ParsePredictBody, TextBecomesOneUnnamedBytesRow) {
  PredictRequest out;
  ASSERT_TRUE(parse_predict_body(R"({"text": "great phone"})", out).is_ok());
  EXPECT_FALSE(out.many);
  ASSERT_EQ(out.request.inputs.size(), 1u);
  const Tensor& input = out.request.inputs[0];
  EXPECT_EQ(input.name, "");
  EXPECT_EQ(input.datatype, DataType::kBytes);
  EXPECT_EQ(input.shape, (Shape{1}));
  EXPECT_EQ(input.strings, (std::vector<std::string>{"great phone"}));
}

TEST(ParsePredictBody, FeaturesBecomeOneFp32Row) {
  PredictRequest out;
  ASSERT_TRUE(parse_predict_body(R"({"features": [5.1, 3.5, 1.4, 0.2]})", out).is_ok());
  EXPECT_FALSE(out.many);
  const Tensor& input = out.request.inputs[0];
  EXPECT_EQ(input.datatype, DataType::kFp32);
  EXPECT_EQ(input.shape, (Shape{1, 4}));
  EXPECT_EQ(floats(input), (std::vector<float>{5.1F, 3.5F, 1.4F, 0.2F}));
}

TEST(ParsePredictBody, InstancesBecomeManyFp32Rows) {
  PredictRequest out;
  ASSERT_TRUE(parse_predict_body(R"({"instances": [[1, 2], [3, 4], [5, 6]]})", out).is_ok());
  EXPECT_TRUE(out.many);
  const Tensor& input = out.request.inputs[0];
  EXPECT_EQ(input.shape, (Shape{3, 2}));
  EXPECT_EQ(floats(input), (std::vector<float>{1, 2, 3, 4, 5, 6}));
}

TEST(ParsePredictBody, RejectsABodyWithNoKnownKey) {
  PredictRequest out;
  Status s = parse_predict_body(R"({"input": "hello"})", out);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("the body needs one of"));
}

TEST(ParsePredictBody, RejectsABodyThatIsNotAnObject) {
  PredictRequest out;
  EXPECT_THAT(parse_predict_body(R"(["hello"])", out).message(), HasSubstr("the body needs one of"));
}

TEST(ParsePredictBody, RejectsEmptyFeatures) {
  PredictRequest out;
  EXPECT_EQ(parse_predict_body(R"({"features": []})", out).message(), "features must be a non-empty array");
}

TEST(ParsePredictBody, RejectsRaggedInstances) {
  PredictRequest out;
  Status s = parse_predict_body(R"({"instances": [[1, 2], [3]]})", out);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(s.message(), "instances[1] has 1 features, earlier rows have 2");
}

TEST(ParsePredictBody, RejectsAnInstanceThatIsNotAList) {
  PredictRequest out;
  EXPECT_THAT(parse_predict_body(R"({"instances": [[1, 2], 3]})", out).message(),
              HasSubstr("instances[1] must be a non-empty array of numbers"));
}

TEST(ParsePredictBody, RejectsNonNumberFeatures) {
  PredictRequest out;
  Status s = parse_predict_body(R"({"features": [1, "two", 3]})", out);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(s.message(), "features: every feature must be a finite number within FP32 range");
}

TEST(ParsePredictBody, RejectsTextThatIsNotAString) {
  PredictRequest out;
  EXPECT_EQ(parse_predict_body(R"({"text": ["a", "b"]})", out).message(), "text must be a string");
}

TEST(ParsePredictBody, RejectsMalformedJson) {
  PredictRequest out;
  EXPECT_THAT(parse_predict_body(R"({"text": )", out).message(), HasSubstr("malformed JSON"));
}

// --- parse_predict_batch_body -------------------------------------------------------------------

TEST(ParsePredictBatchBody, TextItemsBecomeOneBytesBatch) {
  PredictRequest out;
  ASSERT_TRUE(parse_predict_batch_body(R"([{"text": "a"}, {"text": "b"}, {"text": "c"}])", out).is_ok());
  EXPECT_TRUE(out.many);
  const Tensor& input = out.request.inputs[0];
  EXPECT_EQ(input.datatype, DataType::kBytes);
  EXPECT_EQ(input.shape, (Shape{3}));
  EXPECT_EQ(input.strings, (std::vector<std::string>{"a", "b", "c"}));
}

TEST(ParsePredictBatchBody, FeatureItemsBecomeRowsOfOneFp32Batch) {
  PredictRequest out;
  ASSERT_TRUE(parse_predict_batch_body(R"([{"features": [1, 2]}, {"features": [3, 4]}])", out).is_ok());
  const Tensor& input = out.request.inputs[0];
  EXPECT_EQ(input.shape, (Shape{2, 2}));
  EXPECT_EQ(floats(input), (std::vector<float>{1, 2, 3, 4}));
}

TEST(ParsePredictBatchBody, RejectsAnEmptyBatch) {
  PredictRequest out;
  Status s = parse_predict_batch_body("[]", out);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("empty batch"));
}

TEST(ParsePredictBatchBody, RejectsMixedKinds) {
  PredictRequest out;
  Status s = parse_predict_batch_body(R"([{"text": "a"}, {"features": [1]}])", out);
  EXPECT_EQ(s.message(), "[1]: every item must be of the same kind as item 0");
}

TEST(ParsePredictBatchBody, RejectsRaggedFeatureItems) {
  PredictRequest out;
  Status s = parse_predict_batch_body(R"([{"features": [1, 2]}, {"features": [3]}])", out);
  EXPECT_EQ(s.message(), "[1].features has 1 features, earlier rows have 2");
}

TEST(ParsePredictBatchBody, RejectsInstancesItems) {
  PredictRequest out;
  Status s = parse_predict_batch_body(R"([{"instances": [[1]]}])", out);
  EXPECT_EQ(s.message(), "[0]: use features, not instances, in a batch");
}

TEST(ParsePredictBatchBody, RejectsAnItemOfNoKnownKind) {
  PredictRequest out;
  EXPECT_THAT(parse_predict_batch_body(R"([{"text": "a"}, 5])", out).message(), HasSubstr("[1]: the body needs"));
}

TEST(ParsePredictBatchBody, RejectsABodyThatIsNotAnArray) {
  PredictRequest out;
  EXPECT_THAT(parse_predict_batch_body(R"({"text": "a"})", out).message(),
              HasSubstr("the body must be a JSON array"));
}

// --- validating a positional input -------------------------------------------------------------------------

ModelConfig text_model() {
  ModelConfig config;
  config.inputs = {{"text", DataType::kBytes, {-1}}};
  config.outputs = {{"label", DataType::kBytes, {-1, 2}}, {"probability", DataType::kFp32, {-1, 2}}};
  return config;
}

ModelConfig numeric_model() {
  ModelConfig config;
  config.inputs = {{"features", DataType::kFp32, {-1, 4}}};
  config.outputs = {{"probabilities", DataType::kFp32, {-1, 3}}};
  config.labels = {"setosa", "versicolor", "virginica"};
  return config;
}

InferRequest parsed(const std::string& body) {
  PredictRequest out;
  out.request.model = "m";
  if (!parse_predict_body(body, out).is_ok()) throw std::logic_error("test body does not parse: " + body);
  return out.request;
}

Status bind_predict_input(const ModelConfig& config, const InferRequest& request) {
  auto shared = std::make_shared<const InferRequest>(request);
  return validate_request(config, shared);
}

TEST(BindPredictInput, TheUnnamedInputFeedsTheModelsSingleInput) {
  InferRequest request = parsed(R"({"text": "hello"})");
  EXPECT_TRUE(request.positional_inputs);
  EXPECT_TRUE(bind_predict_input(text_model(), request).is_ok());
}

TEST(BindPredictInput, RejectsMultiInputModels) {
  ModelConfig config = numeric_model();
  config.inputs.push_back({"mask", DataType::kBool, {-1, 4}});
  InferRequest request = parsed(R"({"features": [1, 2, 3, 4]})");
  Status s = bind_predict_input(config, request);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("model 'm' takes 2 inputs; /predict serves single-input models"));
}

TEST(BindPredictInput, RejectsTextForANumericModel) {
  InferRequest request = parsed(R"({"text": "hello"})");
  Status s = bind_predict_input(numeric_model(), request);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("model 'm' takes numeric features"));
}

TEST(BindPredictInput, RejectsFeaturesForATextModel) {
  InferRequest request = parsed(R"({"features": [1]})");
  EXPECT_THAT(bind_predict_input(text_model(), request).message(), HasSubstr("model 'm' takes text"));
}

// --- render_predict_response --------------------------------------------------------------------

InferResponse response_with(std::vector<Tensor> outputs) {
  InferResponse response;
  response.model = "m";
  response.version = 2;
  response.outputs = std::move(outputs);
  return response;
}

Tensor fp32(std::string name, Shape shape, std::vector<float> values) {
  return Tensor::of<float>(std::move(name), DataType::kFp32, std::move(shape), std::span<const float>(values));
}

TEST(RenderPredictResponse, FastTextAnswerPairsLabelsWithProbabilitiesBestFirst) {
  InferResponse response = response_with({Tensor{"label", DataType::kBytes, {1, 2}, {}, {"positive", "negative"}},
                                          fp32("probability", {1, 2}, {0.875F, 0.125F})});
  rapidjson::Document doc = json(render_predict_response(response, text_model(), {}));
  ASSERT_FALSE(doc.HasParseError());
  EXPECT_STREQ(doc["label"].GetString(), "positive");
  EXPECT_EQ(doc["scores"]["positive"].GetDouble(), 0.875);
  EXPECT_EQ(doc["scores"]["negative"].GetDouble(), 0.125);
}

TEST(RenderPredictResponse, ClassifierUsesConfigLabelsAndPicksTheArgmax) {
  InferResponse response = response_with({fp32("probabilities", {1, 3}, {0.125F, 0.75F, 0.125F})});
  rapidjson::Document doc = json(render_predict_response(response, numeric_model(), {}));
  EXPECT_STREQ(doc["label"].GetString(), "versicolor");
  EXPECT_EQ(doc["scores"]["setosa"].GetDouble(), 0.125);
  EXPECT_EQ(doc["scores"]["versicolor"].GetDouble(), 0.75);
  EXPECT_EQ(doc["scores"]["virginica"].GetDouble(), 0.125);
}

TEST(RenderPredictResponse, RegressionWithOneColumnAnswersAValue) {
  ModelConfig config = numeric_model();
  config.labels.clear();
  InferResponse response = response_with({fp32("price", {1, 1}, {42.5F})});
  rapidjson::Document doc = json(render_predict_response(response, config, {}));
  EXPECT_EQ(doc["value"].GetDouble(), 42.5);
  EXPECT_FALSE(doc.HasMember("label"));
  EXPECT_FALSE(doc.HasMember("scores"));
}

TEST(RenderPredictResponse, UnlabelledColumnsAnswerAScoresList) {
  ModelConfig config = numeric_model();
  config.labels.clear();
  InferResponse response = response_with({fp32("scores", {1, 3}, {1, 2, 3})});
  rapidjson::Document doc = json(render_predict_response(response, config, {}));
  ASSERT_TRUE(doc["scores"].IsArray());
  EXPECT_EQ(doc["scores"].Size(), 3u);
  EXPECT_EQ(doc["scores"][2].GetDouble(), 3.0);
}

TEST(RenderPredictResponse, ManyAnswersAPredictionsListWithOneEntryPerRow) {
  InferResponse response =
      response_with({fp32("probabilities", {2, 3}, {0.75F, 0.125F, 0.125F, 0.0F, 0.25F, 0.75F})});
  PredictAnswerContext context;
  context.many = true;
  rapidjson::Document doc = json(render_predict_response(response, numeric_model(), context));
  ASSERT_TRUE(doc["predictions"].IsArray());
  ASSERT_EQ(doc["predictions"].Size(), 2u);
  EXPECT_STREQ(doc["predictions"][0]["label"].GetString(), "setosa");
  EXPECT_STREQ(doc["predictions"][1]["label"].GetString(), "virginica");
  EXPECT_FALSE(doc.HasMember("label"));
}

TEST(RenderPredictResponse, CarriesModelVersionRequestIdAndLatency) {
  InferResponse response = response_with({fp32("probabilities", {1, 3}, {0.125F, 0.75F, 0.125F})});
  PredictAnswerContext context;
  context.request_id = "abc123";
  context.latency_ms = 12.34567;
  rapidjson::Document doc = json(render_predict_response(response, numeric_model(), context));
  EXPECT_STREQ(doc["model"].GetString(), "m");
  ASSERT_TRUE(doc["model_version"].IsInt64());
  EXPECT_EQ(doc["model_version"].GetInt64(), 2);
  EXPECT_STREQ(doc["request_id"].GetString(), "abc123");
  EXPECT_DOUBLE_EQ(doc["latency_ms"].GetDouble(), 12.346);  // rounded to the microsecond
}

}  // namespace
}  // namespace seraph
