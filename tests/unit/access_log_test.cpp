#include "observe/access_log.h"

#include <gtest/gtest.h>
#include <rapidjson/document.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <functional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace seraph {
namespace {

// Lines written to a temporary file by an AccessLog that is destroyed (and so flushed) first.
std::vector<std::string> lines_of(const std::function<void(AccessLog&)>& use) {
  FILE* file = std::tmpfile();
  {
    AccessLog log(true, fileno(file));
    use(log);
  }
  std::rewind(file);
  std::vector<std::string> lines;
  char buf[8192];
  while (std::fgets(buf, sizeof buf, file)) lines.emplace_back(buf);
  std::fclose(file);
  return lines;
}

TEST(AccessLog, WritesOneJsonObjectPerRecordWithEveryField) {
  auto lines = lines_of([](AccessLog& log) {
    log.record({"req-1", "POST", "/predict", "sentiment", 2, 200, 0.4567});
  });
  ASSERT_EQ(lines.size(), 1u);
  rapidjson::Document doc;
  doc.Parse(lines[0].c_str());
  ASSERT_TRUE(doc.IsObject()) << lines[0];
  EXPECT_TRUE(doc["time"].IsString());
  EXPECT_EQ(std::string(doc["time"].GetString()).size(), 24u);  // 2026-11-23T01:26:15.123Z
  EXPECT_STREQ(doc["request_id"].GetString(), "req-1");
  EXPECT_STREQ(doc["method"].GetString(), "POST");
  EXPECT_STREQ(doc["path"].GetString(), "/predict");
  EXPECT_STREQ(doc["model"].GetString(), "sentiment");
  EXPECT_EQ(doc["version"].GetInt(), 2);
  EXPECT_EQ(doc["status"].GetInt(), 200);
  EXPECT_DOUBLE_EQ(doc["latency_ms"].GetDouble(), 0.457);
  EXPECT_FALSE(doc.HasMember("deployment"));
}

TEST(AccessLog, NamesTheDeploymentEnvironmentAndVariantThatServed) {
  auto lines = lines_of([](AccessLog& log) {
    log.record({"req-2", "POST", "/predict", "sentiment", 2, 200, 0.1, "sentiment", "production", "candidate"});
  });
  ASSERT_EQ(lines.size(), 1u);
  rapidjson::Document doc;
  doc.Parse(lines[0].c_str());
  ASSERT_TRUE(doc.IsObject()) << lines[0];
  EXPECT_STREQ(doc["deployment"].GetString(), "sentiment");
  EXPECT_STREQ(doc["environment"].GetString(), "production");
  EXPECT_STREQ(doc["variant"].GetString(), "candidate");
}

TEST(AccessLog, RequestsWithoutAModelLogNulls) {
  auto lines = lines_of([](AccessLog& log) { log.record({"r", "GET", "/healthz", "", 0, 200, 0.01}); });
  rapidjson::Document doc;
  doc.Parse(lines.at(0).c_str());
  EXPECT_TRUE(doc["model"].IsNull());
  EXPECT_TRUE(doc["version"].IsNull());
}

TEST(AccessLog, HostilePathsStayValidJson) {
  const std::string hostile = "/x\"y\\z\n\x01\xff\xfe{";
  auto lines = lines_of([&](AccessLog& log) { log.record({"r", "GET", hostile, "", 0, 404, 0.01}); });
  ASSERT_EQ(lines.size(), 1u);
  rapidjson::Document doc;
  doc.Parse<rapidjson::kParseValidateEncodingFlag>(lines[0].c_str());
  ASSERT_FALSE(doc.HasParseError()) << lines[0];
  EXPECT_EQ(std::string(doc["path"].GetString()).substr(0, 7), "/x\"y\\z\n");
  // Bytes outside ASCII are written as their code points (\u00ff), so the line stays valid UTF-8.
  EXPECT_EQ(std::string(doc["path"].GetString()), "/x\"y\\z\n\x01\xc3\xbf\xc3\xbe{");
  EXPECT_NE(lines[0].find(R"("/x\"y\\z\u000a\u0001\u00ff\u00fe{")"), std::string::npos) << lines[0];
}

TEST(AccessLog, ANumberTooLongForItsFieldIsWrittenAsNull) {
  auto lines = lines_of([](AccessLog& log) { log.record({"r", "GET", "/x", "m", 1, 200, 1e300}); });
  ASSERT_EQ(lines.size(), 1u);
  rapidjson::Document doc;
  doc.Parse(lines[0].c_str());
  ASSERT_TRUE(doc.IsObject()) << lines[0];
  EXPECT_TRUE(doc["latency_ms"].IsNull());
  EXPECT_EQ(doc["status"].GetInt(), 200);
}

TEST(AccessLog, LinesFromManyThreadsNeverInterleave) {
  auto lines = lines_of([](AccessLog& log) {
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t) {
      threads.emplace_back([&log, t] {
        const std::string id = "thread-" + std::to_string(t);
        for (int i = 0; i < 5000; ++i) log.record({id, "POST", "/predict", "m", 1, 200, 1.0});
      });
    }
    for (auto& t : threads) t.join();
  });
  ASSERT_EQ(lines.size(), 20000u);
  for (const auto& line : lines) {
    rapidjson::Document doc;
    doc.Parse(line.c_str());
    ASSERT_TRUE(doc.IsObject()) << line;
  }
}

// Threads come and go (a pool resizing, short-lived workers): the buffers of ended threads are
// freed once their lines are written, and none of their lines is lost.
TEST(AccessLog, BuffersOfEndedThreadsAreFreedAfterTheirLinesAreWritten) {
  constexpr int kThreads = 200, kLinesEach = 10;
  size_t most_buffers = 0;
  auto lines = lines_of([&](AccessLog& log) {
    for (int t = 0; t < kThreads; ++t) {
      std::thread([&log, t] {
        const std::string id = "thread-" + std::to_string(t);
        for (int i = 0; i < kLinesEach; ++i) log.record({id, "POST", "/predict", "m", 1, 200, 1.0});
      }).join();
      log.flush();  // what the flusher does every 50 ms
      most_buffers = std::max(most_buffers, log.buffer_count());
    }
  });
  EXPECT_EQ(most_buffers, 0u);  // each ended thread's buffer went at the next flush
  EXPECT_EQ(lines.size(), static_cast<size_t>(kThreads * kLinesEach));
}

TEST(AccessLog, DisabledLogWritesNothing) {
  FILE* file = std::tmpfile();
  {
    AccessLog log(false, fileno(file));
    log.record({"r", "GET", "/", "", 0, 200, 0.1});
  }
  EXPECT_EQ(std::ftell(file), 0);
  std::fclose(file);
}

}  // namespace
}  // namespace seraph
