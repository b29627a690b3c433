#include "api/v2_adapter.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <rapidjson/document.h>

#include <array>
#include <bit>
#include <cstdlib>
#include <limits>

namespace seraph {
namespace {

using ::testing::HasSubstr;

Status parse(const std::string& body, InferRequest& request) { return parse_v2_infer_request(body, request); }
Status parse(const std::string& body) {
  InferRequest request;
  return parse(body, request);
}

rapidjson::Document json(const std::string& text) {
  rapidjson::Document doc;
  doc.Parse(text.c_str(), text.size());
  return doc;
}

constexpr const char* kFullRequest = R"({
  "id": "req-7",
  "parameters": {"verbose": true, "top_k": 3, "temperature": 0.5, "mode": "fast"},
  "inputs": [
    {"name": "features", "datatype": "FP32", "shape": [2, 2], "data": [[1, 2], [3, 4.5]]},
    {"name": "text", "datatype": "BYTES", "shape": [1], "data": ["hello"]}
  ],
  "outputs": [{"name": "probabilities"}, {"name": "label", "parameters": {"binary_data": false}}]
})";

TEST(ParseV2InferRequest, ReadsIdParametersInputsAndRequestedOutputs) {
  InferRequest request;
  ASSERT_TRUE(parse(kFullRequest, request).is_ok());
  EXPECT_EQ(request.id, "req-7");

  ASSERT_EQ(request.parameters.size(), 4u);
  EXPECT_EQ(request.parameters[0], (std::pair<std::string, ParameterValue>{"verbose", true}));
  EXPECT_EQ(request.parameters[1], (std::pair<std::string, ParameterValue>{"top_k", int64_t{3}}));
  EXPECT_EQ(request.parameters[2], (std::pair<std::string, ParameterValue>{"temperature", 0.5}));
  EXPECT_EQ(request.parameters[3], (std::pair<std::string, ParameterValue>{"mode", std::string("fast")}));

  ASSERT_EQ(request.inputs.size(), 2u);
  const Tensor& features = request.inputs[0];
  EXPECT_EQ(features.name, "features");
  EXPECT_EQ(features.datatype, DataType::kFp32);
  EXPECT_EQ(features.shape, (Shape{2, 2}));
  ASSERT_EQ(features.values<float>().size(), 4u);
  EXPECT_EQ(features.values<float>()[3], 4.5F);
  const Tensor& text = request.inputs[1];
  EXPECT_EQ(text.datatype, DataType::kBytes);
  EXPECT_EQ(text.strings, (std::vector<std::string>{"hello"}));

  EXPECT_EQ(request.requested_outputs, (std::vector<std::string>{"probabilities", "label"}));
}

TEST(ParseV2InferRequest, LeavesModelAndVersionFromTheUrlUntouched) {
  InferRequest request;
  request.model = "sentiment";
  request.version = 2;
  ASSERT_TRUE(parse(kFullRequest, request).is_ok());
  EXPECT_EQ(request.model, "sentiment");
  EXPECT_EQ(request.version, 2);
}

TEST(ParseV2InferRequest, IdAndOutputsAreOptional) {
  InferRequest request;
  ASSERT_TRUE(parse(R"({"inputs": [{"name": "x", "datatype": "INT32", "shape": [1], "data": [7]}]})", request).is_ok());
  EXPECT_EQ(request.id, "");
  EXPECT_TRUE(request.requested_outputs.empty());
}

TEST(ParseV2InferRequest, RejectsMissingInputs) {
  EXPECT_EQ(parse(R"({"id": "a"})").message(), "inputs must be an array");
}

TEST(ParseV2InferRequest, RejectsInputsThatAreNotAnArray) {
  EXPECT_EQ(parse(R"({"inputs": {"name": "x"}})").message(), "inputs must be an array");
}

TEST(ParseV2InferRequest, RejectsEmptyInputs) {
  Status s = parse(R"({"inputs": []})");
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(s.message(), "inputs must not be empty");
}

TEST(ParseV2InferRequest, RejectsDuplicateInputNames) {
  Status s = parse(R"({"inputs": [
    {"name": "x", "datatype": "FP32", "shape": [1], "data": [1]},
    {"name": "x", "datatype": "FP32", "shape": [1], "data": [2]}]})");
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(s.message(), "input 'x' appears twice");
}

TEST(ParseV2InferRequest, RejectsHalfFloatInputsWithAHint) {
  Status s = parse(R"({"inputs": [{"name": "x", "datatype": "FP16", "shape": [1], "data": [1]}]})");
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(s.message(), "input 'x': datatype FP16 is not supported in JSON requests; send FP32");
}

TEST(ParseV2InferRequest, RejectsUnknownDatatype) {
  Status s = parse(R"({"inputs": [{"name": "x", "datatype": "FLOAT", "shape": [1], "data": [1]}]})");
  EXPECT_EQ(s.message(), "input 'x': unknown datatype 'FLOAT'");
}

TEST(ParseV2InferRequest, RejectsNegativeShape) {
  Status s = parse(R"({"inputs": [{"name": "x", "datatype": "FP32", "shape": [-1, 2], "data": [1, 2]}]})");
  EXPECT_EQ(s.message(), "input 'x': shape must hold non-negative integers");
}

TEST(ParseV2InferRequest, RejectsShapeWhoseElementCountOverflows) {
  Status s = parse(R"({"inputs": [{"name": "x", "datatype": "FP32",
    "shape": [9223372036854775807, 2], "data": [1]}]})");
  EXPECT_THAT(s.message(), HasSubstr("is too large"));
}

TEST(ParseV2InferRequest, RejectsMissingData) {
  Status s = parse(R"({"inputs": [{"name": "x", "datatype": "FP32", "shape": [1]}]})");
  EXPECT_EQ(s.message(), "input 'x': data is required");
}

TEST(ParseV2InferRequest, RejectsDataThatDoesNotFillTheShape) {
  Status s = parse(R"({"inputs": [{"name": "x", "datatype": "FP32", "shape": [3], "data": [1, 2]}]})");
  EXPECT_THAT(s.message(), HasSubstr("input 'x': data has 2 elements, shape [3] needs 3"));
}

TEST(ParseV2InferRequest, RejectsMissingInputName) {
  Status s = parse(R"({"inputs": [{"datatype": "FP32", "shape": [1], "data": [1]}]})");
  EXPECT_EQ(s.message(), "inputs[0].name must be a string");
}

TEST(ParseV2InferRequest, RejectsIdThatIsNotAString) {
  EXPECT_EQ(parse(R"({"id": 5, "inputs": []})").message(), "id must be a string");
}

TEST(ParseV2InferRequest, RejectsParametersOfUnsupportedType) {
  Status s = parse(R"({"parameters": {"tags": ["a"]}, "inputs": [
    {"name": "x", "datatype": "FP32", "shape": [1], "data": [1]}]})");
  EXPECT_EQ(s.message(), "parameters.tags must be a boolean, number or string");
}

TEST(ParseV2InferRequest, RejectsBodyThatIsNotAnObject) {
  EXPECT_EQ(parse("[1, 2]").message(), "the request body must be a JSON object");
  EXPECT_THAT(parse("{").message(), HasSubstr("malformed JSON"));
}

TEST(ParseV2InferRequest, RejectsRequestedOutputWithoutName) {
  Status s = parse(R"({"inputs": [{"name": "x", "datatype": "FP32", "shape": [1], "data": [1]}],
    "outputs": [{"label": "y"}]})");
  EXPECT_EQ(s.message(), "outputs[0].name must be a string");
}

InferResponse sample_response() {
  InferResponse response;
  response.model = "iris";
  response.version = 3;
  response.id = "req-9";
  const std::array<float, 4> scores{0.25F, 0.75F, 1.0F, 0.0F};
  response.outputs.push_back(Tensor::of<float>("probabilities", DataType::kFp32, {2, 2}, scores));
  response.outputs.push_back(Tensor{"label", DataType::kBytes, {2}, {}, {"versicolor", "setosa"}});
  return response;
}

TEST(RenderV2InferResponse, ProducesValidJsonWithModelNameAndStringVersion) {
  rapidjson::Document doc = json(render_v2_infer_response(sample_response()));
  ASSERT_FALSE(doc.HasParseError());
  EXPECT_STREQ(doc["model_name"].GetString(), "iris");
  ASSERT_TRUE(doc["model_version"].IsString());
  EXPECT_STREQ(doc["model_version"].GetString(), "3");
}

TEST(RenderV2InferResponse, EchoesTheIdWhenSet) {
  rapidjson::Document doc = json(render_v2_infer_response(sample_response()));
  ASSERT_TRUE(doc.HasMember("id"));
  EXPECT_STREQ(doc["id"].GetString(), "req-9");
}

TEST(RenderV2InferResponse, OmitsTheIdWhenNotSet) {
  InferResponse response = sample_response();
  response.id.clear();
  rapidjson::Document doc = json(render_v2_infer_response(response));
  ASSERT_FALSE(doc.HasParseError());
  EXPECT_FALSE(doc.HasMember("id"));
}

TEST(RenderV2InferResponse, SaysWhichDeploymentVariantServedInItsParameters) {
  EXPECT_FALSE(json(render_v2_infer_response(sample_response())).HasMember("parameters"));
  rapidjson::Document doc = json(render_v2_infer_response(sample_response(), {"iris", "staging", "candidate"}));
  EXPECT_STREQ(doc["parameters"]["deployment"].GetString(), "iris");
  EXPECT_STREQ(doc["parameters"]["environment"].GetString(), "staging");
  EXPECT_STREQ(doc["parameters"]["variant"].GetString(), "candidate");
}

TEST(RenderV2InferResponse, WritesOutputsWithNameDatatypeShapeAndFlatData) {
  rapidjson::Document doc = json(render_v2_infer_response(sample_response()));
  const auto& outputs = doc["outputs"];
  ASSERT_EQ(outputs.Size(), 2u);
  EXPECT_STREQ(outputs[0]["name"].GetString(), "probabilities");
  EXPECT_STREQ(outputs[0]["datatype"].GetString(), "FP32");
  ASSERT_EQ(outputs[0]["shape"].Size(), 2u);
  EXPECT_EQ(outputs[0]["shape"][0].GetInt64(), 2);
  EXPECT_EQ(outputs[0]["shape"][1].GetInt64(), 2);
  const auto& data = outputs[0]["data"];
  ASSERT_EQ(data.Size(), 4u);
  for (const auto& v : data.GetArray()) EXPECT_TRUE(v.IsNumber());
  EXPECT_EQ(data[1].GetDouble(), 0.75);
  EXPECT_STREQ(outputs[1]["datatype"].GetString(), "BYTES");
  EXPECT_STREQ(outputs[1]["data"][0].GetString(), "versicolor");
}

TEST(RenderV2InferResponse, WritesNonFiniteFloatsAsNullToStayValidJson) {
  InferResponse response;
  const std::array<float, 2> values{std::numeric_limits<float>::quiet_NaN(), std::numeric_limits<float>::infinity()};
  response.outputs.push_back(Tensor::of<float>("y", DataType::kFp32, {2}, values));
  rapidjson::Document doc = json(render_v2_infer_response(response));
  ASSERT_FALSE(doc.HasParseError());
  EXPECT_TRUE(doc["outputs"][0]["data"][0].IsNull());
  EXPECT_TRUE(doc["outputs"][0]["data"][1].IsNull());
}

// The text of the "data" array of the first output, split at commas.
std::vector<std::string> first_output_numbers(const std::string& body) {
  const std::string marker = "\"data\":[";
  const size_t start = body.find(marker) + marker.size();
  const size_t end = body.find(']', start);
  std::vector<std::string> numbers;
  size_t from = start;
  while (from < end) {
    size_t comma = std::min(body.find(',', from), end);
    numbers.push_back(body.substr(from, comma - from));
    from = comma + 1;
  }
  return numbers;
}

TEST(RenderV2InferResponse, Fp32ValuesRoundTripBitForBit) {
  const std::array<float, 10> values{0.1F,
                                     1.0F / 3.0F,
                                     -2.7182817F,
                                     16777217.0F,
                                     123456.789F,
                                     std::numeric_limits<float>::max(),
                                     std::numeric_limits<float>::min(),
                                     std::numeric_limits<float>::denorm_min(),
                                     -0.0F,
                                     1e-7F};
  InferResponse response;
  response.outputs.push_back(Tensor::of<float>("y", DataType::kFp32, {10}, values));
  const std::string body = render_v2_infer_response(response);
  ASSERT_FALSE(json(body).HasParseError()) << body;
  const std::vector<std::string> numbers = first_output_numbers(body);
  ASSERT_EQ(numbers.size(), values.size()) << body;
  for (size_t i = 0; i < values.size(); ++i) {
    const float parsed = std::strtof(numbers[i].c_str(), nullptr);
    EXPECT_EQ(std::bit_cast<uint32_t>(parsed), std::bit_cast<uint32_t>(values[i]))
        << "rendered " << numbers[i] << " for value " << values[i];
  }
}

TEST(RenderV2ModelMetadata, ListsNameVersionsAsStringsPlatformAndTensors) {
  ModelConfig config;
  config.runtime = "xgboost";
  config.inputs = {{"features", DataType::kFp32, {-1, 30}}};
  config.outputs = {{"probabilities", DataType::kFp32, {-1, 2}}};
  rapidjson::Document doc = json(render_v2_model_metadata("cancer", {1, 2}, config));
  ASSERT_FALSE(doc.HasParseError());
  EXPECT_STREQ(doc["name"].GetString(), "cancer");
  ASSERT_EQ(doc["versions"].Size(), 2u);
  EXPECT_STREQ(doc["versions"][0].GetString(), "1");
  EXPECT_STREQ(doc["versions"][1].GetString(), "2");
  EXPECT_STREQ(doc["platform"].GetString(), "xgboost");
  const auto& input = doc["inputs"][0];
  EXPECT_STREQ(input["name"].GetString(), "features");
  EXPECT_STREQ(input["datatype"].GetString(), "FP32");
  EXPECT_EQ(input["shape"][0].GetInt64(), -1);
  EXPECT_EQ(input["shape"][1].GetInt64(), 30);
  EXPECT_STREQ(doc["outputs"][0]["name"].GetString(), "probabilities");
  EXPECT_EQ(doc["outputs"][0]["shape"][1].GetInt64(), 2);
}

TEST(RenderV2ServerMetadata, NamesSeraphItsVersionAndExtensions) {
  rapidjson::Document doc = json(render_v2_server_metadata());
  ASSERT_FALSE(doc.HasParseError());
  EXPECT_STREQ(doc["name"].GetString(), "seraph");
  EXPECT_STREQ(doc["version"].GetString(), SERAPH_VERSION);
  ASSERT_TRUE(doc["extensions"].IsArray());
}

}  // namespace
}  // namespace seraph
