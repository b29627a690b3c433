#include "wire/v2_infer.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <fmt/format.h>
#include <rapidjson/document.h>

#include <array>
#include <bit>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <optional>

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
  EXPECT_EQ(s.message(), "input 'x': datatype FP16 is not supported in JSON data; send FP32, or send it as binary data");
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


// --- Binary tensor data extension ---

// A body of `json` followed by `binary`, and the Inference-Header-Content-Length that goes with it.
struct Framed {
  std::string body;
  size_t header_length;
};
Framed framed(const std::string& json, const std::string& binary) { return {json + binary, json.size()}; }

std::string le32(uint32_t v) {
  std::string out(4, '\0');
  std::memcpy(out.data(), &v, 4);
  return out;
}

Status parse_framed(const Framed& f, InferRequest& request, V2ResponseOptions& options) {
  return parse_v2_infer_request(f.body, f.header_length, request, options);
}
Status parse_framed(const Framed& f) {
  InferRequest request;
  V2ResponseOptions options;
  return parse_framed(f, request, options);
}

// The example of Triton's binary tensor data extension document.
TEST(ParseV2BinaryRequest, ReadsInputsFromTheBytesAfterTheJsonHeader) {
  std::string uint32s;
  for (uint32_t v : {1u, 2u, 3u, 0xffffffffu}) uint32s += le32(v);
  const Framed f = framed(R"({"inputs": [
    {"name": "input0", "shape": [2, 2], "datatype": "UINT32", "parameters": {"binary_data_size": 16}},
    {"name": "input1", "shape": [3], "datatype": "BOOL", "parameters": {"binary_data_size": 3}}],
    "outputs": [{"name": "output0", "parameters": {"binary_data": true}}]})",
                          uint32s + std::string("\1\0\1", 3));
  InferRequest request;
  V2ResponseOptions options;
  ASSERT_TRUE(parse_framed(f, request, options).is_ok()) << parse_framed(f).message();
  ASSERT_EQ(request.inputs.size(), 2u);
  EXPECT_EQ(request.inputs[0].shape, (Shape{2, 2}));
  EXPECT_THAT(request.inputs[0].values<uint32_t>(), ::testing::ElementsAre(1u, 2u, 3u, 0xffffffffu));
  EXPECT_THAT(request.inputs[1].values<uint8_t>(), ::testing::ElementsAre(1, 0, 1));
  EXPECT_TRUE(options.binary("output0"));
}

TEST(ParseV2BinaryRequest, MixesJsonDataAndBinaryInputs) {
  const Framed f = framed(R"({"inputs": [
    {"name": "a", "shape": [2], "datatype": "INT32", "data": [5, 6]},
    {"name": "b", "shape": [1], "datatype": "INT32", "parameters": {"binary_data_size": 4}}]})",
                          le32(7));
  InferRequest request;
  V2ResponseOptions options;
  ASSERT_TRUE(parse_framed(f, request, options).is_ok());
  EXPECT_THAT(request.inputs[0].values<int32_t>(), ::testing::ElementsAre(5, 6));
  EXPECT_THAT(request.inputs[1].values<int32_t>(), ::testing::ElementsAre(7));
}

TEST(ParseV2BinaryRequest, ReadsBytesElementsAsLittleEndianLengthPrefixed) {
  const std::string data = le32(5) + "hello" + le32(0) + le32(2) + std::string("\0\xff", 2);
  const Framed f = framed(
      R"({"inputs": [{"name": "t", "shape": [3], "datatype": "BYTES", "parameters": {"binary_data_size": )" +
          std::to_string(data.size()) + "}}]}",
      data);
  InferRequest request;
  V2ResponseOptions options;
  ASSERT_TRUE(parse_framed(f, request, options).is_ok());
  EXPECT_EQ(request.inputs[0].strings, (std::vector<std::string>{"hello", "", std::string("\0\xff", 2)}));
}

TEST(ParseV2BinaryRequest, KeepsHalfFloatBytesAsSent) {
  const Framed f = framed(
      R"({"inputs": [{"name": "h", "shape": [2], "datatype": "FP16", "parameters": {"binary_data_size": 4}}]})",
      std::string("\x00\x3c\x00\xc0", 4));  // 1.0 and -2.0 in IEEE half precision
  InferRequest request;
  V2ResponseOptions options;
  ASSERT_TRUE(parse_framed(f, request, options).is_ok());
  EXPECT_THAT(request.inputs[0].values<uint16_t>(), ::testing::ElementsAre(0x3c00, 0xc000));
}

TEST(ParseV2BinaryRequest, WithoutBinaryPartTheWholeBodyIsJson) {
  const std::string body = R"({"inputs": [{"name": "x", "datatype": "INT8", "shape": [1], "data": [1]}]})";
  InferRequest request;
  V2ResponseOptions options;
  EXPECT_TRUE(parse_v2_infer_request(body, body.size(), request, options).is_ok());
}

// A request header whose one input, FP32 "x" of shape [elements], announces `size` bytes of binary data.
std::string one_binary_fp32(int elements, int size) {
  return fmt::format(
      R"({{"inputs": [{{"name": "x", "shape": [{}], "datatype": "FP32", "parameters": {{"binary_data_size": {}}}}}]}})",
      elements, size);
}

TEST(ParseV2BinaryRequest, RejectsASizeThatDoesNotMatchTheShape) {
  Status s = parse_framed(framed(one_binary_fp32(2, 4), std::string(4, '\0')));
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(s.message(), "input 'x': binary_data_size is 4 bytes but shape [2] needs 2 FP32 elements of 4 bytes");
}

TEST(ParseV2BinaryRequest, RejectsASizeRunningPastTheBody) {
  Status s = parse_framed(framed(one_binary_fp32(2, 8), std::string(5, '\0')));
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(s.message(), "input 'x': binary_data_size 8 runs past the end of the body (5 bytes left)");
}

TEST(ParseV2BinaryRequest, RejectsBytesLeftOverAfterTheLastBinaryInput) {
  Status s = parse_framed(framed(one_binary_fp32(1, 4), std::string(7, '\0')));
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(s.message(), "3 bytes of binary data follow the last binary tensor");
}

TEST(ParseV2BinaryRequest, RejectsAHeaderLengthLargerThanTheBody) {
  InferRequest request;
  V2ResponseOptions options;
  Status s = parse_v2_infer_request("{}", 10, request, options);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(s.message(), "Inference-Header-Content-Length is 10 but the body has only 2 bytes");
}

TEST(ParseV2BinaryRequest, RejectsBinaryInputsWhenTheBodyIsAllJson) {
  Status s = parse(one_binary_fp32(1, 4));
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("input 'x' has binary_data_size but the body has no binary data"));
}

TEST(ParseV2BinaryRequest, RejectsABytesElementLongerThanItsData) {
  const std::string data = le32(10) + "abc";
  Status s = parse_framed(framed(
      R"({"inputs": [{"name": "t", "shape": [1], "datatype": "BYTES", "parameters": {"binary_data_size": 7}}]})", data));
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(s.message(), "input 't': element 0 is 10 bytes long but only 3 bytes of its binary data are left");
}

TEST(ParseV2BinaryRequest, RejectsBytesDataCutInsideALength) {
  const std::string data = le32(1) + "a" + std::string("\x01\x00\x00", 3);
  Status s = parse_framed(framed(
      R"({"inputs": [{"name": "t", "shape": [2], "datatype": "BYTES", "parameters": {"binary_data_size": 8}}]})", data));
  EXPECT_EQ(s.message(), "input 't': binary data ends inside the length of element 1");
}

TEST(ParseV2BinaryRequest, RejectsBytesDataWithBytesAfterItsElements) {
  const std::string data = le32(1) + "a" + "zz";
  Status s = parse_framed(framed(
      R"({"inputs": [{"name": "t", "shape": [1], "datatype": "BYTES", "parameters": {"binary_data_size": 7}}]})", data));
  EXPECT_EQ(s.message(), "input 't': 2 bytes of binary data follow its 1 BYTES elements");
}

TEST(ParseV2BinaryRequest, RejectsMoreBytesElementsThanTheDataCouldHold) {
  Status s = parse_framed(framed(
      R"({"inputs": [{"name": "t", "shape": [1000000000000], "datatype": "BYTES", "parameters": {"binary_data_size": 4}}]})",
      le32(0)));
  EXPECT_THAT(s.message(), HasSubstr("cannot hold the 1000000000000 BYTES elements"));
}

TEST(ParseV2BinaryRequest, RejectsBoolBytesOtherThanZeroOrOne) {
  Status s = parse_framed(framed(
      R"({"inputs": [{"name": "b", "shape": [2], "datatype": "BOOL", "parameters": {"binary_data_size": 2}}]})",
      std::string("\1\2", 2)));
  EXPECT_EQ(s.message(), "input 'b': BOOL element 1 is byte 2; binary BOOL elements are 0 or 1");
}

TEST(ParseV2BinaryRequest, RejectsAnInputWithBothDataAndBinaryDataSize) {
  Status s = parse_framed(framed(
      R"({"inputs": [{"name": "x", "shape": [1], "datatype": "FP32", "data": [1], "parameters": {"binary_data_size": 4}}]})",
      std::string(4, '\0')));
  EXPECT_EQ(s.message(), "input 'x' has both data and binary_data_size; send one");
}

TEST(ParseV2BinaryRequest, RejectsANegativeBinaryDataSize) {
  Status s = parse_framed(framed(
      R"({"inputs": [{"name": "x", "shape": [1], "datatype": "FP32", "parameters": {"binary_data_size": -4}}]})", ""));
  EXPECT_EQ(s.message(), "input 'x': binary_data_size must be a non-negative integer");
}

TEST(ParseV2BinaryRequest, BinaryDataOutputSetsTheDefaultAndBinaryDataOverridesIt) {
  const std::string body = R"({"parameters": {"binary_data_output": true, "top_k": 2},
    "inputs": [{"name": "x", "datatype": "FP32", "shape": [1], "data": [1]}],
    "outputs": [{"name": "a"}, {"name": "b", "parameters": {"binary_data": false}}]})";
  InferRequest request;
  V2ResponseOptions options;
  ASSERT_TRUE(parse_v2_infer_request(body, std::nullopt, request, options).is_ok());
  EXPECT_TRUE(options.binary("a"));
  EXPECT_FALSE(options.binary("b"));
  EXPECT_TRUE(options.binary("not requested"));
  // The wire's own parameter is not passed on to the model.
  ASSERT_EQ(request.parameters.size(), 1u);
  EXPECT_EQ(request.parameters[0].first, "top_k");
}

TEST(ParseV2BinaryRequest, OutputsAreJsonUnlessAsked) {
  InferRequest request;
  V2ResponseOptions options;
  ASSERT_TRUE(parse_v2_infer_request(kFullRequest, std::nullopt, request, options).is_ok());
  EXPECT_FALSE(options.binary("probabilities"));
  EXPECT_FALSE(options.binary("label"));
}

TEST(ParseV2BinaryRequest, RejectsBinaryDataParametersThatAreNotBooleans) {
  InferRequest request;
  V2ResponseOptions options;
  Status s = parse_v2_infer_request(R"({"parameters": {"binary_data_output": 1}, "inputs": []})", std::nullopt,
                                    request, options);
  EXPECT_EQ(s.message(), "parameters.binary_data_output must be a boolean");
  s = parse_v2_infer_request(R"({"inputs": [{"name": "x", "datatype": "FP32", "shape": [1], "data": [1]}],
    "outputs": [{"name": "y", "parameters": {"binary_data": "yes"}}]})",
                             std::nullopt, request, options);
  EXPECT_EQ(s.message(), "outputs[0].parameters.binary_data must be a boolean");
}

TEST(ParseJsonHeaderLength, AbsentHeaderMeansAllJson) {
  std::optional<size_t> length = 5;
  ASSERT_TRUE(parse_json_header_length("", length).is_ok());
  EXPECT_FALSE(length);
}

TEST(ParseJsonHeaderLength, ReadsADecimalNumber) {
  std::optional<size_t> length;
  ASSERT_TRUE(parse_json_header_length("123", length).is_ok());
  EXPECT_EQ(length, 123u);
}

TEST(ParseJsonHeaderLength, RejectsAnythingElse) {
  std::optional<size_t> length;
  for (std::string_view bad : {"-1", "12a", " 12", "0x10", "99999999999999999999999"}) {
    Status s = parse_json_header_length(bad, length);
    EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << bad;
    EXPECT_THAT(s.message(), HasSubstr("Inference-Header-Content-Length must be a whole number")) << bad;
  }
}

TEST(RenderV2BinaryResponse, BinaryOutputsCarryTheirSizeInsteadOfDataAndFollowTheHeader) {
  V2ResponseOptions options;
  options.binary_outputs = {"label"};
  const RenderedBody rendered = render_v2_infer_response(sample_response(), options);
  ASSERT_TRUE(rendered.binary);
  const std::string header = rendered.body.substr(0, rendered.json_header_length);
  rapidjson::Document doc = json(header);
  ASSERT_FALSE(doc.HasParseError()) << header;
  const auto& outputs = doc["outputs"];
  EXPECT_TRUE(outputs[0].HasMember("data"));
  EXPECT_FALSE(outputs[1].HasMember("data"));
  EXPECT_EQ(outputs[1]["parameters"]["binary_data_size"].GetInt64(), 4 + 10 + 4 + 6);
  EXPECT_EQ(rendered.body.substr(rendered.json_header_length), le32(10) + "versicolor" + le32(6) + "setosa");
}

TEST(RenderV2BinaryResponse, WithoutBinaryOutputsTheHeaderIsTheWholeBody) {
  const RenderedBody rendered = render_v2_infer_response(sample_response(), V2ResponseOptions{});
  EXPECT_FALSE(rendered.binary);
  EXPECT_EQ(rendered.json_header_length, rendered.body.size());
  EXPECT_EQ(rendered.body, render_v2_infer_response(sample_response()));
}

TEST(RenderV2BinaryResponse, AllBinaryPutsFixedSizeOutputsAsRawLittleEndianBytes) {
  V2ResponseOptions options;
  options.all_binary = true;
  options.json_outputs = {"label"};
  const RenderedBody rendered = render_v2_infer_response(sample_response(), options);
  rapidjson::Document doc = json(rendered.body.substr(0, rendered.json_header_length));
  EXPECT_EQ(doc["outputs"][0]["parameters"]["binary_data_size"].GetInt64(), 16);
  EXPECT_TRUE(doc["outputs"][1].HasMember("data"));
  const std::array<float, 4> scores{0.25F, 0.75F, 1.0F, 0.0F};
  EXPECT_EQ(rendered.body.substr(rendered.json_header_length),
            std::string(reinterpret_cast<const char*>(scores.data()), sizeof scores));
}

TEST(RenderV2BinaryResponse, HalfFloatOutputsAreAlwaysBinary) {
  InferResponse response;
  response.outputs.push_back(Tensor{"h", DataType::kFp16, {1}, {std::byte{0x00}, std::byte{0x3c}}, {}});
  const RenderedBody rendered = render_v2_infer_response(response, V2ResponseOptions{});
  EXPECT_TRUE(rendered.binary);
  EXPECT_EQ(rendered.body.substr(rendered.json_header_length), std::string("\x00\x3c", 2));
}

// --- Both directions: a client's rendering parses back to the same tensors ---

constexpr std::array<DataType, 14> kAllTypes{
    DataType::kBool, DataType::kUint8, DataType::kUint16, DataType::kUint32, DataType::kUint64,
    DataType::kInt8, DataType::kInt16, DataType::kInt32,  DataType::kInt64,  DataType::kFp16,
    DataType::kFp32, DataType::kFp64,  DataType::kBf16,   DataType::kBytes};

// Six elements of `type` in shape [2, 3], extremes included, every one valid in JSON too.
Tensor sample_tensor(DataType type) {
  Tensor t{std::string(datatype_name(type)), type, {2, 3}, {}, {}};
  if (type == DataType::kBytes) {
    t.strings = {"", "a", std::string("nul\0inside", 10), "h\xc3\xa9llo", std::string(300, 'x'), "\"quoted\""};
    return t;
  }
  t.bytes.resize(6 * datatype_size(type));
  for (size_t i = 0; i < t.bytes.size(); ++i) t.bytes[i] = static_cast<std::byte>(i * 37 + 200);
  if (type == DataType::kBool) {
    for (size_t i = 0; i < t.bytes.size(); ++i) t.bytes[i] = static_cast<std::byte>(i % 2);
  } else if (type == DataType::kFp32) {
    const std::array<float, 6> v{0.1F, -2.5F, std::numeric_limits<float>::max(), std::numeric_limits<float>::denorm_min(),
                                 0.0F, -0.0F};
    std::memcpy(t.bytes.data(), v.data(), sizeof v);
  } else if (type == DataType::kFp64) {
    const std::array<double, 6> v{0.1, -2.5, std::numeric_limits<double>::max(), std::numeric_limits<double>::lowest(),
                                  1e-300, -0.0};
    std::memcpy(t.bytes.data(), v.data(), sizeof v);
  }
  return t;
}

void expect_same(const Tensor& got, const Tensor& want) {
  EXPECT_EQ(got.name, want.name);
  EXPECT_EQ(got.datatype, want.datatype);
  EXPECT_EQ(got.shape, want.shape);
  EXPECT_EQ(got.bytes, want.bytes);
  EXPECT_EQ(got.strings, want.strings);
}

TEST(V2RoundTrip, ClientRequestsParseOnTheServerForEveryDatatype) {
  for (bool binary_inputs : {true, false}) {
    InferRequest sent;
    sent.id = "rt-1";
    sent.parameters = {{"top_k", int64_t{2}}, {"mode", std::string("fast")}, {"t", 0.5}, {"v", true}};
    for (DataType type : kAllTypes) sent.inputs.push_back(sample_tensor(type));
    sent.requested_outputs = {"y"};
    const RenderedBody rendered = render_v2_infer_request(sent, {binary_inputs, true});
    SCOPED_TRACE(binary_inputs ? "binary inputs" : "JSON inputs (half floats binary)");
    EXPECT_TRUE(rendered.binary);  // half floats have no JSON form

    InferRequest received;
    V2ResponseOptions options;
    Status s = parse_v2_infer_request(rendered.body, rendered.json_header_length, received, options);
    ASSERT_TRUE(s.is_ok()) << s.message();
    EXPECT_EQ(received.id, "rt-1");
    EXPECT_EQ(received.parameters, sent.parameters);
    EXPECT_EQ(received.requested_outputs, sent.requested_outputs);
    EXPECT_TRUE(options.binary("y"));
    ASSERT_EQ(received.inputs.size(), sent.inputs.size());
    for (size_t i = 0; i < sent.inputs.size(); ++i) {
      SCOPED_TRACE(sent.inputs[i].name);
      expect_same(received.inputs[i], sent.inputs[i]);
    }
  }
}

TEST(V2RoundTrip, ServerResponsesParseOnTheClientForEveryDatatype) {
  for (bool all_binary : {true, false}) {
    InferResponse sent;
    sent.model = "echo";
    sent.version = 4;
    sent.id = "rt-2";
    for (DataType type : kAllTypes) sent.outputs.push_back(sample_tensor(type));
    V2ResponseOptions options;
    options.all_binary = all_binary;
    const RenderedBody rendered = render_v2_infer_response(sent, options, {"dep", "production", "baseline"});
    SCOPED_TRACE(all_binary ? "binary outputs" : "JSON outputs (half floats binary)");

    InferResponse received;
    Status s = parse_v2_infer_response(rendered.body, rendered.json_header_length, received);
    ASSERT_TRUE(s.is_ok()) << s.message();
    EXPECT_EQ(received.model, "echo");
    EXPECT_EQ(received.version, 4);
    EXPECT_EQ(received.id, "rt-2");
    ASSERT_EQ(received.outputs.size(), sent.outputs.size());
    for (size_t i = 0; i < sent.outputs.size(); ++i) {
      SCOPED_TRACE(sent.outputs[i].name);
      expect_same(received.outputs[i], sent.outputs[i]);
    }
  }
}

TEST(V2RoundTrip, ArbitraryBytesElementsSurviveBinaryData) {
  InferRequest sent;
  sent.inputs.push_back(Tensor{"raw", DataType::kBytes, {2}, {}, {std::string("\xff\xfe\0", 3), std::string(70000, '\x80')}});
  const RenderedBody rendered = render_v2_infer_request(sent);
  InferRequest received;
  V2ResponseOptions options;
  ASSERT_TRUE(parse_v2_infer_request(rendered.body, rendered.json_header_length, received, options).is_ok());
  expect_same(received.inputs[0], sent.inputs[0]);
}

TEST(RenderV2InferRequest, AsksForBinaryOutputsOnlyWhenTold) {
  InferRequest sent;
  sent.inputs.push_back(sample_tensor(DataType::kInt32));
  const RenderedBody rendered = render_v2_infer_request(sent, {false, false});
  EXPECT_FALSE(rendered.binary);
  EXPECT_EQ(rendered.json_header_length, rendered.body.size());
  rapidjson::Document doc = json(rendered.body);
  ASSERT_FALSE(doc.HasParseError());
  EXPECT_FALSE(doc.HasMember("parameters"));
  EXPECT_FALSE(doc.HasMember("outputs"));
  EXPECT_TRUE(doc["inputs"][0].HasMember("data"));
}

TEST(ParseV2InferResponse, RejectsAResponseWithoutModelNameOrOutputs) {
  InferResponse response;
  EXPECT_EQ(parse_v2_infer_response(R"({"outputs": []})", std::nullopt, response).message(),
            "model_name must be a string");
  EXPECT_EQ(parse_v2_infer_response(R"({"model_name": "m"})", std::nullopt, response).message(),
            "outputs must be an array");
  EXPECT_EQ(parse_v2_infer_response(R"({"model_name": "m", "model_version": "v1", "outputs": []})", std::nullopt,
                                    response)
                .message(),
            "model_version must be a whole number, got 'v1'");
}

TEST(ParseV2InferResponse, NamesOutputsInItsMessages) {
  InferResponse response;
  Status s = parse_v2_infer_response(
      R"({"model_name": "m", "outputs": [{"name": "y", "datatype": "FP32", "shape": [2], "data": [1]}]})",
      std::nullopt, response);
  EXPECT_EQ(s.message(), "output 'y': data has 1 elements, shape [2] needs 2");
}

}  // namespace
}  // namespace seraph
