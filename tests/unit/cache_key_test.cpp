#include "cache/cache_key.h"

#include <gtest/gtest.h>

#include <cstring>
#include <span>
#include <string>
#include <vector>

#include "api/predict_adapter.h"
#include "wire/v2_infer.h"

namespace seraph {
namespace {

InferRequest v2(const std::string& body) {
  InferRequest request;
  Status s = parse_v2_infer_request(body, request);
  EXPECT_TRUE(s.is_ok()) << s.message();
  return request;
}

InferRequest v2_binary(const std::string& header, const std::string& data) {
  InferRequest request;
  V2ResponseOptions options;
  Status s = parse_v2_infer_request(header + data, header.size(), request, options);
  EXPECT_TRUE(s.is_ok()) << s.message();
  return request;
}

InferRequest predict(const std::string& body) {
  PredictRequest out;
  Status s = parse_predict_body(body, out);
  EXPECT_TRUE(s.is_ok()) << s.message();
  return out.request;
}

CacheKey key_of(const InferRequest& request) { return cache_key("sentiment", "sentiment-fasttext", 3, request, ""); }

template <class T>
std::string bytes_of(std::initializer_list<T> values) {
  std::string out;
  for (T v : values) out.append(reinterpret_cast<const char*>(&v), sizeof v);
  return out;
}

const std::string kBase = R"({"id": "a", "parameters": {"top_k": 3},
  "inputs": [{"name": "x", "datatype": "FP32", "shape": [2], "data": [1.5, 2]}],
  "outputs": [{"name": "probabilities"}]})";

TEST(CacheKey, IsTheSameForJsonWithOtherKeyOrderAndSpacing) {
  InferRequest a = v2(kBase);
  InferRequest b = v2(
      R"({"outputs":[{"name":"probabilities"}],"inputs":[{"data":[1.5,2],"shape":[2],"datatype":"FP32","name":"x"}],)"
      R"("parameters":{"top_k":3},"id":"a"})");
  EXPECT_EQ(key_of(a), key_of(b));
}

TEST(CacheKey, IsTheSameForJsonAndBinaryEncodingsOfOneTensor) {
  InferRequest json = v2(R"({"inputs": [
      {"name": "x", "datatype": "FP32", "shape": [2], "data": [1.5, 2]},
      {"name": "flags", "datatype": "BOOL", "shape": [3], "data": [true, false, true]},
      {"name": "text", "datatype": "BYTES", "shape": [2], "data": ["hello", ""]}]})");
  std::string text_data = bytes_of<uint32_t>({5}) + "hello" + bytes_of<uint32_t>({0});
  InferRequest binary =
      v2_binary(R"({"inputs": [)"
                R"({"name": "x", "datatype": "FP32", "shape": [2], "parameters": {"binary_data_size": 8}},)"
                R"({"name": "flags", "datatype": "BOOL", "shape": [3], "parameters": {"binary_data_size": 3}},)"
                R"({"name": "text", "datatype": "BYTES", "shape": [2], "parameters": {"binary_data_size": 13}}]})",
                bytes_of<float>({1.5F, 2.0F}) + std::string("\1\0\1", 3) + text_data);
  EXPECT_EQ(key_of(json), key_of(binary));
}

TEST(CacheKey, IsTheSameWhateverTheOrderOfNamedInputsAndRequestedOutputs) {
  InferRequest a = v2(R"({"inputs": [
      {"name": "a", "datatype": "INT32", "shape": [1], "data": [1]},
      {"name": "b", "datatype": "INT32", "shape": [1], "data": [2]}],
    "outputs": [{"name": "p"}, {"name": "q"}]})");
  InferRequest b = v2(R"({"inputs": [
      {"name": "b", "datatype": "INT32", "shape": [1], "data": [2]},
      {"name": "a", "datatype": "INT32", "shape": [1], "data": [1]}],
    "outputs": [{"name": "q"}, {"name": "p"}]})");
  EXPECT_EQ(key_of(a), key_of(b));
}

TEST(CacheKey, IgnoresTheRequestIdAndTimeout) {
  InferRequest a = v2(kBase);
  InferRequest b = v2(R"({"id": "another", "parameters": {"top_k": 3, "timeout": 50000},
    "inputs": [{"name": "x", "datatype": "FP32", "shape": [2], "data": [1.5, 2]}],
    "outputs": [{"name": "probabilities"}]})");
  EXPECT_EQ(key_of(a), key_of(b));
}

TEST(CacheKey, IgnoresHowTheAnswerIsEncoded) {
  InferRequest a = v2(kBase);
  InferRequest b = v2(R"({"id": "a", "parameters": {"top_k": 3, "binary_data_output": true},
    "inputs": [{"name": "x", "datatype": "FP32", "shape": [2], "data": [1.5, 2]}],
    "outputs": [{"name": "probabilities", "parameters": {"binary_data": true}}]})");
  EXPECT_EQ(key_of(a), key_of(b));
}

TEST(CacheKey, IgnoresParametersThatOnlySayHowToDeliver) {
  InferRequest a = v2(kBase);
  InferRequest b = a;
  b.parameters.emplace_back("priority", int64_t{2});
  b.parameters.emplace_back("binary_data_output", true);
  b.parameters.emplace_back("timeout", int64_t{1000});
  EXPECT_EQ(key_of(a), key_of(b));
}

TEST(CacheKey, IgnoresTheModelAndVersionTheRequestNamed) {
  InferRequest a = v2(kBase);
  InferRequest b = a;
  b.model = "sentiment";
  b.version = 1;
  EXPECT_EQ(key_of(a), key_of(b));
}

TEST(CacheKey, DiffersByWhatServes) {
  InferRequest request = v2(kBase);
  CacheKey base = cache_key("sentiment", "sentiment-fasttext", 3, request, "");
  EXPECT_NE(base, cache_key("sentiment", "sentiment-fasttext", 4, request, ""));
  EXPECT_NE(base, cache_key("sentiment-eu", "sentiment-fasttext", 3, request, ""));
  EXPECT_NE(base, cache_key("sentiment", "sentiment-xgboost", 3, request, ""));
}

TEST(CacheKey, DiffersByTenant) {
  InferRequest request = v2(kBase);
  EXPECT_NE(cache_key("d", "m", 1, request, ""), cache_key("d", "m", 1, request, "acme"));
  EXPECT_NE(cache_key("d", "m", 1, request, "acme"), cache_key("d", "m", 1, request, "globex"));
}

TEST(CacheKey, DiffersByInputValueDatatypeShapeAndName) {
  CacheKey base = key_of(v2(kBase));
  auto with_input = [](const std::string& input) {
    return key_of(v2(R"({"id": "a", "parameters": {"top_k": 3}, "inputs": [)" + input +
                     R"(], "outputs": [{"name": "probabilities"}]})"));
  };
  ASSERT_EQ(base, with_input(R"({"name": "x", "datatype": "FP32", "shape": [2], "data": [1.5, 2]})"));
  EXPECT_NE(base, with_input(R"({"name": "x", "datatype": "FP32", "shape": [2], "data": [1.5, 2.5]})"));
  EXPECT_NE(base, with_input(R"({"name": "x", "datatype": "FP32", "shape": [1, 2], "data": [1.5, 2]})"));
  EXPECT_NE(base, with_input(R"({"name": "y", "datatype": "FP32", "shape": [2], "data": [1.5, 2]})"));
  // Same eight bytes, other type.
  InferRequest as_int = v2(kBase);
  as_int.inputs[0].datatype = DataType::kInt32;
  EXPECT_NE(base, key_of(as_int));
}

TEST(CacheKey, DiffersByRequestedOutputs) {
  InferRequest request = v2(kBase);
  CacheKey base = key_of(request);
  request.requested_outputs = {"label"};
  EXPECT_NE(base, key_of(request));
  request.requested_outputs = {"probabilities", "label"};
  EXPECT_NE(base, key_of(request));
  request.requested_outputs.clear();
  EXPECT_NE(base, key_of(request));
}

TEST(CacheKey, DiffersByAnswerChangingParameters) {
  InferRequest request = v2(kBase);
  CacheKey base = key_of(request);
  request.parameters = {{"top_k", int64_t{4}}};
  EXPECT_NE(base, key_of(request));
  request.parameters = {};
  EXPECT_NE(base, key_of(request));
  request.parameters = {{"top_k", int64_t{3}}, {"temperature", 0.5}};
  EXPECT_NE(base, key_of(request));
}

TEST(CacheKey, TellsParameterTypesApart) {
  InferRequest request = v2(kBase);
  auto with = [&](ParameterValue value) {
    request.parameters = {{"flag", std::move(value)}};
    return key_of(request);
  };
  CacheKey as_bool = with(true);
  CacheKey as_int = with(int64_t{1});
  CacheKey as_double = with(1.0);
  CacheKey as_string = with(std::string("1"));
  EXPECT_NE(as_bool, as_int);
  EXPECT_NE(as_int, as_double);
  EXPECT_NE(as_int, as_string);
  EXPECT_NE(as_bool, as_string);
}

TEST(CacheKey, IsTheSameWhateverTheOrderOfParameters) {
  InferRequest a = v2(R"({"parameters": {"top_k": 3, "mode": "fast"},
    "inputs": [{"name": "x", "datatype": "FP32", "shape": [2], "data": [1.5, 2]}]})");
  InferRequest b = v2(R"({"parameters": {"mode": "fast", "top_k": 3},
    "inputs": [{"name": "x", "datatype": "FP32", "shape": [2], "data": [1.5, 2]}]})");
  EXPECT_EQ(key_of(a), key_of(b));
}

TEST(CacheKey, TellsAPositionalInputFromANamedOne) {
  InferRequest positional = predict(R"({"text": "great phone"})");
  ASSERT_TRUE(positional.positional_inputs);
  InferRequest named = positional;
  named.positional_inputs = false;
  EXPECT_NE(key_of(positional), key_of(named));
}

TEST(CacheKey, IsTheSameForPredictBodiesThatDifferOnlyInSpacing) {
  EXPECT_EQ(key_of(predict(R"({"text": "great phone"})")), key_of(predict(R"({ "text" :"great phone" })")));
  EXPECT_NE(key_of(predict(R"({"text": "great phone"})")), key_of(predict(R"({"text": "great phones"})")));
}

// Length prefixes keep field boundaries: moving bytes from one field to the next changes the key.
TEST(CacheKey, DoesNotConfuseFieldBoundaries) {
  InferRequest request = v2(kBase);
  EXPECT_NE(cache_key("ab", "c", 1, request, ""), cache_key("a", "bc", 1, request, ""));
  EXPECT_NE(cache_key("d", "m", 1, request, "ab"), cache_key("d", "ma", 1, request, "b"));

  InferRequest split = predict(R"({"text": "x"})");
  split.inputs[0].shape = {2};
  split.inputs[0].strings = {"ab", "c"};
  InferRequest joined = split;
  joined.inputs[0].strings = {"a", "bc"};
  EXPECT_NE(key_of(split), key_of(joined));

  InferRequest outputs = v2(kBase);
  outputs.requested_outputs = {"ab", "c"};
  InferRequest outputs_joined = outputs;
  outputs_joined.requested_outputs = {"a", "bc"};
  EXPECT_NE(key_of(outputs), key_of(outputs_joined));

  InferRequest parameter = v2(kBase);
  parameter.parameters = {{"ab", std::string("c")}};
  InferRequest parameter_joined = parameter;
  parameter_joined.parameters = {{"a", std::string("bc")}};
  EXPECT_NE(key_of(parameter), key_of(parameter_joined));
}

// Requests of more than a kilobyte are hashed in pieces: every byte still counts, order still does not.
TEST(CacheKey, CoversEveryByteOfALargeRequest) {
  InferRequest request;
  std::vector<float> values(3000, 0.5F);
  request.inputs.push_back(Tensor::of<float>("a", DataType::kFp32, {3000}, std::span<const float>(values)));
  request.inputs.push_back(Tensor::of<float>("b", DataType::kFp32, {3000}, std::span<const float>(values)));
  request.inputs.push_back(Tensor{"c", DataType::kBytes, {3}, {}, {"small", std::string(5000, 'x'), "tail"}});
  CacheKey base = key_of(request);

  InferRequest reordered = request;
  std::swap(reordered.inputs[0], reordered.inputs[2]);
  EXPECT_EQ(base, key_of(reordered));

  InferRequest last_float = request;
  last_float.inputs[1].mutable_values<float>().back() = 0.25F;
  EXPECT_NE(base, key_of(last_float));

  InferRequest last_string = request;
  last_string.inputs[2].strings.back() = "tall";
  EXPECT_NE(base, key_of(last_string));
}

TEST(CacheKey, HexIsThirtyTwoDigitsHighHalfFirst) {
  EXPECT_EQ((CacheKey{0x0123456789abcdefULL, 0xfedcba9876543210ULL}.hex()), "0123456789abcdeffedcba9876543210");
  EXPECT_EQ(CacheKey{}.hex(), std::string(32, '0'));
}

}  // namespace
}  // namespace seraph
