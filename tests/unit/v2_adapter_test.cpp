#include "api/v2_adapter.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <rapidjson/document.h>

namespace seraph {
namespace {

rapidjson::Document json(const std::string& text) {
  rapidjson::Document doc;
  doc.Parse(text.c_str(), text.size());
  return doc;
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

TEST(RenderV2ServerMetadata, ListsTritonsExtensionsThatSeraphSupports) {
  rapidjson::Document doc = json(render_v2_server_metadata());
  std::vector<std::string> extensions;
  for (const auto& e : doc["extensions"].GetArray()) extensions.emplace_back(e.GetString());
  EXPECT_THAT(extensions, ::testing::UnorderedElementsAre("binary_tensor_data", "model_repository", "statistics",
                                                         "model_configuration"));
}

ModelConfig batching_config() {
  ModelConfig config;
  config.runtime = "torchscript";
  config.artifact = "model.pt";
  config.inputs = {{"features", DataType::kFp32, {-1, 4}}, {"text", DataType::kBytes, {-1}}};
  config.outputs = {{"probabilities", DataType::kFp32, {-1, 3}}};
  config.max_batch_size = 16;
  config.max_queue_delay_us = 500;
  config.max_queue_size = 64;
  config.instances = 2;
  config.parameters = {{"top_k", "3"}};
  return config;
}

TEST(RenderV2ModelConfig, DescribesTheModelInTritonsModelConfigShape) {
  rapidjson::Document doc = json(render_v2_model_config("iris", batching_config()));
  ASSERT_FALSE(doc.HasParseError());
  EXPECT_STREQ(doc["name"].GetString(), "iris");
  EXPECT_STREQ(doc["platform"].GetString(), "torchscript");
  EXPECT_STREQ(doc["backend"].GetString(), "torchscript");
  EXPECT_EQ(doc["max_batch_size"].GetInt(), 16);
  EXPECT_STREQ(doc["default_model_filename"].GetString(), "model.pt");
  EXPECT_STREQ(doc["instance_group"][0]["kind"].GetString(), "KIND_CPU");
  EXPECT_EQ(doc["instance_group"][0]["count"].GetInt(), 2);
  EXPECT_STREQ(doc["parameters"]["top_k"]["string_value"].GetString(), "3");
}

TEST(RenderV2ModelConfig, TensorsHaveTritonDataTypesAndDimsWithoutTheBatchDimension) {
  rapidjson::Document doc = json(render_v2_model_config("iris", batching_config()));
  const auto& input = doc["input"];
  ASSERT_EQ(input.Size(), 2u);
  EXPECT_STREQ(input[0]["name"].GetString(), "features");
  EXPECT_STREQ(input[0]["data_type"].GetString(), "TYPE_FP32");
  ASSERT_EQ(input[0]["dims"].Size(), 1u);
  EXPECT_EQ(input[0]["dims"][0].GetInt64(), 4);
  EXPECT_STREQ(input[1]["data_type"].GetString(), "TYPE_STRING");  // Triton's name for BYTES
  EXPECT_EQ(input[1]["dims"].Size(), 0u);
  EXPECT_STREQ(doc["output"][0]["data_type"].GetString(), "TYPE_FP32");
  EXPECT_EQ(doc["output"][0]["dims"][0].GetInt64(), 3);
}

TEST(RenderV2ModelConfig, DynamicBatchingCarriesTheQueueDelayAndSize) {
  rapidjson::Document doc = json(render_v2_model_config("iris", batching_config()));
  ASSERT_TRUE(doc.HasMember("dynamic_batching"));
  EXPECT_EQ(doc["dynamic_batching"]["max_queue_delay_microseconds"].GetInt64(), 500);
  EXPECT_EQ(doc["dynamic_batching"]["default_queue_policy"]["max_queue_size"].GetInt(), 64);
}

TEST(RenderV2ModelConfig, AModelThatDoesNotBatchKeepsFullShapesAndNoDynamicBatching) {
  ModelConfig config = batching_config();
  config.max_batch_size = 0;
  rapidjson::Document doc = json(render_v2_model_config("iris", config));
  EXPECT_EQ(doc["max_batch_size"].GetInt(), 0);
  EXPECT_FALSE(doc.HasMember("dynamic_batching"));
  ASSERT_EQ(doc["input"][0]["dims"].Size(), 2u);
  EXPECT_EQ(doc["input"][0]["dims"][0].GetInt64(), -1);
}

TEST(RenderV2ModelStats, ReportsEachVersionsCountersInTritonsShape) {
  InferenceStatistics a, b;
  a.record_request(true, std::chrono::milliseconds(3), 1700000000123);
  a.record_request(false, std::chrono::milliseconds(1), 1700000000456);
  a.record_queue(std::chrono::microseconds(20));
  a.record_execution(4, 1, std::chrono::microseconds(1), std::chrono::microseconds(50), std::chrono::microseconds(2));
  rapidjson::Document doc = json(render_v2_model_stats({{"iris", 3, a}, {"iris", 4, b}}));
  ASSERT_FALSE(doc.HasParseError());
  const auto& stats = doc["model_stats"];
  ASSERT_EQ(stats.Size(), 2u);
  EXPECT_STREQ(stats[0]["name"].GetString(), "iris");
  EXPECT_STREQ(stats[0]["version"].GetString(), "3");
  EXPECT_EQ(stats[0]["last_inference"].GetInt64(), 1700000000456);
  EXPECT_EQ(stats[0]["inference_count"].GetUint64(), 4u);
  EXPECT_EQ(stats[0]["execution_count"].GetUint64(), 1u);
  const auto& inference = stats[0]["inference_stats"];
  EXPECT_EQ(inference["success"]["count"].GetUint64(), 1u);
  EXPECT_EQ(inference["success"]["ns"].GetUint64(), 3'000'000u);
  EXPECT_EQ(inference["fail"]["count"].GetUint64(), 1u);
  EXPECT_EQ(inference["queue"]["ns"].GetUint64(), 20'000u);
  EXPECT_EQ(inference["compute_input"]["ns"].GetUint64(), 1'000u);
  EXPECT_EQ(inference["compute_infer"]["ns"].GetUint64(), 50'000u);
  EXPECT_EQ(inference["compute_output"]["count"].GetUint64(), 1u);
  EXPECT_STREQ(stats[1]["version"].GetString(), "4");
  EXPECT_EQ(stats[1]["inference_stats"]["success"]["count"].GetUint64(), 0u);
}

TEST(RenderV2ModelStats, NoVersionsIsAnEmptyList) {
  rapidjson::Document doc = json(render_v2_model_stats({}));
  ASSERT_TRUE(doc["model_stats"].IsArray());
  EXPECT_EQ(doc["model_stats"].Size(), 0u);
}

}  // namespace
}  // namespace seraph
