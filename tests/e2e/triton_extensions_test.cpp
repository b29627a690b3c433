// Triton's extensions over real sockets, as Triton's own clients use them: binary tensor data in
// both directions, compressed request bodies, the model configuration and statistics documents.
#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <vector>

#include "compress.h"
#include "e2e_env.h"

namespace seraph::test {
namespace {

class TritonExtensions : public ::testing::Test {
 protected:
  HttpClient client{shared_server().port()};
};

std::string floats(const std::vector<float>& values) {
  std::string bytes(values.size() * sizeof(float), '\0');
  std::memcpy(bytes.data(), values.data(), bytes.size());
  return bytes;
}

// The mlp demo model's two iris rows, as JSON and as binary.
const std::vector<float> kRows = {5.1F, 3.5F, 1.4F, 0.2F, 6.7F, 3.0F, 5.2F, 2.3F};
const std::string kJsonRequest =
    R"({"inputs":[{"name":"input","shape":[2,4],"datatype":"FP32","data":[5.1,3.5,1.4,0.2,6.7,3.0,5.2,2.3]}]})";

std::string binary_request(const std::string& json_header, const std::string& tensors) { return json_header + tensors; }

using testing::gzip;

TEST_F(TritonExtensions, ABinaryRequestGetsTheSameAnswerAsJsonAndBinaryOutputsWhenAsked) {
  const std::string header =
      R"({"inputs":[{"name":"input","shape":[2,4],"datatype":"FP32","parameters":{"binary_data_size":32}}],)"
      R"("parameters":{"binary_data_output":true}})";
  Response binary = client.request("POST", "/v2/models/mlp/infer", binary_request(header, floats(kRows)),
                                   {{"Inference-Header-Content-Length", std::to_string(header.size())}});
  ASSERT_EQ(binary.status, 200u) << binary.body;
  EXPECT_EQ(binary.header("content-type"), "application/octet-stream");
  const size_t json_length = std::stoul(binary.header("inference-header-content-length"));
  ASSERT_LE(json_length, binary.body.size());
  rapidjson::Document doc;
  doc.Parse(binary.body.data(), json_length);
  ASSERT_FALSE(doc.HasParseError());
  const auto& output = doc["outputs"][0];
  EXPECT_FALSE(output.HasMember("data")) << "a binary output carries no JSON data";
  const size_t size = output["parameters"]["binary_data_size"].GetUint64();
  ASSERT_EQ(json_length + size, binary.body.size());
  std::vector<float> from_binary(size / sizeof(float));
  std::memcpy(from_binary.data(), binary.body.data() + json_length, size);

  auto json = client.post("/v2/models/mlp/infer", kJsonRequest).json();
  const auto& data = json["outputs"][0]["data"];
  ASSERT_EQ(data.Size(), from_binary.size());
  for (rapidjson::SizeType i = 0; i < data.Size(); ++i) EXPECT_FLOAT_EQ(from_binary[i], data[i].GetFloat()) << i;
}

TEST_F(TritonExtensions, BinaryBytesInputsAreLengthPrefixedStrings) {
  std::string tensors;
  for (std::string text : {"a wonderful, moving film", "dull and far too long"}) {
    const auto length = static_cast<uint32_t>(text.size());
    tensors.append(reinterpret_cast<const char*>(&length), 4);  // little-endian on this machine, as the wire wants
    tensors += text;
  }
  const std::string header = R"({"inputs":[{"name":"text","shape":[2],"datatype":"BYTES","parameters":{"binary_data_size":)" +
                             std::to_string(tensors.size()) + "}}]}";
  Response r = client.request("POST", "/v2/models/sentiment/versions/2/infer", header + tensors,
                              {{"Inference-Header-Content-Length", std::to_string(header.size())}});
  ASSERT_EQ(r.status, 200u) << r.body;
  auto doc = r.json();
  EXPECT_STREQ(doc["outputs"][0]["data"][0].GetString(), "positive");
  EXPECT_STREQ(doc["outputs"][0]["data"][2].GetString(), "negative");
}

TEST_F(TritonExtensions, MalformedBinaryFramingIsA400ThatNamesTheProblem) {
  const std::string header =
      R"({"inputs":[{"name":"input","shape":[2,4],"datatype":"FP32","parameters":{"binary_data_size":32}}]})";
  Response short_body = client.request("POST", "/v2/models/mlp/infer", header + floats({1, 2, 3}),
                                       {{"Inference-Header-Content-Length", std::to_string(header.size())}});
  EXPECT_EQ(short_body.status, 400u);
  EXPECT_NE(short_body.body.find("input"), std::string::npos) << short_body.body;
  Response past_end = client.request("POST", "/v2/models/mlp/infer", header,
                                     {{"Inference-Header-Content-Length", std::to_string(header.size() + 100)}});
  EXPECT_EQ(past_end.status, 400u) << past_end.body;
  Response not_a_number = client.request("POST", "/v2/models/mlp/infer", header,
                                         {{"Inference-Header-Content-Length", "12abc"}});
  EXPECT_EQ(not_a_number.status, 400u) << not_a_number.body;
}

TEST_F(TritonExtensions, AGzipBodyIsInflatedAnUnknownEncodingIs415AndABombIs413) {
  Response gzipped = client.request("POST", "/v2/models/mlp/infer", gzip(kJsonRequest),
                                    {{"Content-Type", "application/json"}, {"Content-Encoding", "gzip"}});
  EXPECT_EQ(gzipped.status, 200u) << gzipped.body;
  Response brotli = client.request("POST", "/v2/models/mlp/infer", kJsonRequest, {{"Content-Encoding", "br"}});
  EXPECT_EQ(brotli.status, 415u) << brotli.body;
  // 64 MiB of spaces compress to some 64 KiB: past the 8 MiB body limit once inflated.
  const std::string bomb = gzip(std::string(64 << 20, ' '));
  ASSERT_LT(bomb.size(), 1u << 20);
  Response exploded = client.request("POST", "/v2/models/mlp/infer", bomb, {{"Content-Encoding", "gzip"}});
  EXPECT_EQ(exploded.status, 413u) << exploded.body;
}

TEST_F(TritonExtensions, TheModelConfigurationDescribesInputsAndOutputs) {
  Response r = client.get("/v2/models/mlp/config");
  ASSERT_EQ(r.status, 200u) << r.body;
  auto doc = r.json();
  EXPECT_STREQ(doc["name"].GetString(), "mlp");
  EXPECT_STREQ(doc["input"][0]["name"].GetString(), "input");
  EXPECT_STREQ(doc["input"][0]["data_type"].GetString(), "TYPE_FP32");
  EXPECT_EQ(client.get("/v2/models/ghost/config").status, 404u);
}

TEST_F(TritonExtensions, StatisticsCountSuccessesAndFailuresPerVersion) {
  auto success_count = [&] {
    auto doc = client.get("/v2/models/mlp/versions/1/stats").json();
    EXPECT_TRUE(doc.IsObject());
    return doc["model_stats"][0]["inference_stats"]["success"]["count"].GetUint64();
  };
  const uint64_t before = success_count();
  for (int i = 0; i < 3; ++i) ASSERT_EQ(client.post("/v2/models/mlp/versions/1/infer", kJsonRequest).status, 200u);
  EXPECT_EQ(success_count(), before + 3);
  auto all = client.get("/v2/models/stats").json();
  EXPECT_GT(all["model_stats"].Size(), 1u);
  EXPECT_EQ(client.get("/v2/models/ghost/stats").status, 404u);
}

TEST_F(TritonExtensions, TheServerMetadataListsTheSupportedExtensions) {
  auto doc = client.get("/v2").json();
  std::vector<std::string> extensions;
  for (const auto& e : doc["extensions"].GetArray()) extensions.emplace_back(e.GetString());
  for (const char* wanted : {"binary_tensor_data", "statistics", "model_configuration", "model_repository"}) {
    EXPECT_NE(std::find(extensions.begin(), extensions.end(), wanted), extensions.end()) << wanted;
  }
}

}  // namespace
}  // namespace seraph::test
