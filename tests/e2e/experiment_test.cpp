// A/B experiments over the wire: two sentiment versions split a deployment, the true labels come
// back through POST /feedback, and the results (accuracy per arm, difference, confidence interval,
// z-test, sample-ratio check) agree with scipy's.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <fstream>

#include <fmt/format.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "delivery_env.h"
#include "e2e_env.h"
#include "server_process.h"

namespace seraph::test {
namespace {

const std::string kExperiment = R"({"name": "bigrams", "deployment": "sentiment", "max_requests": 100000,
  "arms": [{"name": "words", "model": "sentiment", "version": 1, "weight": 50},
           {"name": "bigrams", "model": "sentiment", "version": 2, "weight": 50}]})";

struct Labelled {
  std::string label;
  std::string text;
};

// The held-out reviews (every fifth line), which neither version was trained on.
std::vector<Labelled> held_out_reviews() {
  std::ifstream in(std::string(SERAPH_SOURCE_DIR) + "/examples/data/sentiment.txt");
  std::vector<Labelled> out;
  std::string line;
  for (int i = 0; std::getline(in, line); ++i) {
    if (i % 5 != 4) continue;
    const size_t space = line.find(' ');
    out.push_back({line.substr(9, space - 9), line.substr(space + 1)});  // "__label__" is 9 characters
  }
  return out;
}

std::string json_body(std::initializer_list<std::pair<const char*, std::string>> fields) {
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> w(buffer);
  w.StartObject();
  for (const auto& [k, v] : fields) {
    w.Key(k);
    w.String(v.c_str(), static_cast<rapidjson::SizeType>(v.size()));
  }
  w.EndObject();
  return buffer.GetString();
}

// What scipy says for these counts: the two-sided z-test (via chi2_contingency), the 95% Wald
// interval of the difference, and the sample-ratio chi-squared test against equal weights.
rapidjson::Document scipy_results(int64_t x0, int64_t n0, int64_t x1, int64_t n1, int64_t r0, int64_t r1) {
  const std::string script = R"(
import json, math, sys
from scipy import stats
x0, n0, x1, n1, r0, r1 = map(int, sys.argv[1:])
p0, p1 = x0 / n0, x1 / n1
chi2, p, _, _ = stats.chi2_contingency([[x0, n0 - x0], [x1, n1 - x1]], correction=False)
half = stats.norm.ppf(0.975) * math.sqrt(p0 * (1 - p0) / n0 + p1 * (1 - p1) / n1)
srm = stats.chisquare([r0, r1], f_exp=[(r0 + r1) / 2, (r0 + r1) / 2])
print(json.dumps({"p_value": p, "low": p1 - p0 - half, "high": p1 - p0 + half,
                  "srm_chi2": srm.statistic, "srm_p": srm.pvalue}))
)";
  const auto file = make_temp_dir("seraph-scipy") / "check.py";
  write_file(file, script);
  const std::string command = fmt::format("/usr/bin/python3 {} {} {} {} {} {} {}", file.string(), x0, n0, x1, n1, r0, r1);
  std::string output;
  if (FILE* pipe = popen(command.c_str(), "r")) {
    char chunk[4096];
    while (size_t n = fread(chunk, 1, sizeof chunk, pipe)) output.append(chunk, n);
    pclose(pipe);
  }
  rapidjson::Document doc;
  doc.Parse(output.c_str());
  EXPECT_FALSE(doc.HasParseError()) << "scipy (Debian's python3-scipy) must be installed: " << output;
  return doc;
}

void expect_close(double ours, double scipy, const char* what) {
  EXPECT_NEAR(ours, scipy, 1e-9 * std::max(1.0, std::fabs(scipy))) << what;
}

TEST(Experiment, TwoVersionsSplitTheTrafficAndFeedbackYieldsResultsThatAgreeWithScipy) {
  ServerProcess server(delivery_config(kSentimentV1));
  const uint16_t port = server.port();
  auto started = admin(port, "POST", "/admin/v1/experiments", kExperiment, 201);
  const std::string id = std::to_string(started["id"].GetInt64());
  admin(port, "POST", "/admin/v1/experiments", kExperiment, 409);  // one experiment per deployment

  HttpClient client(port);
  std::map<std::string, int> served;
  for (const Labelled& review : held_out_reviews()) {
    Response answer = client.post("/predict?model=sentiment", json_body({{"text", review.text}}));
    ASSERT_EQ(answer.status, 200u) << answer.body;
    ++served[answer.header("x-variant")];
    Response fed = client.post("/feedback", json_body({{"request_id", answer.header("x-request-id")}, {"label", review.label}}));
    ASSERT_EQ(fed.status, 200u) << fed.body;
  }
  EXPECT_EQ(served.size(), 2u);

  auto results = HttpClient(port).get("/admin/v1/experiments/" + id).json();
  ASSERT_TRUE(results.IsObject());
  const auto& words = results["arms"][0];
  const auto& bigrams = results["arms"][1];
  EXPECT_STREQ(words["variant"].GetString(), "words");
  EXPECT_EQ(words["requests"].GetInt64(), served["words"]);
  EXPECT_EQ(bigrams["requests"].GetInt64(), served["bigrams"]);
  EXPECT_EQ(words["outcomes"].GetInt64(), words["requests"].GetInt64());
  // The accuracies the demo model builder measured on the same held-out reviews: 0.747 and 0.851.
  EXPECT_NEAR(words["success_rate"].GetDouble(), 0.747, 0.05);
  EXPECT_NEAR(bigrams["success_rate"].GetDouble(), 0.851, 0.05);

  auto scipy = scipy_results(words["successes"].GetInt64(), words["outcomes"].GetInt64(), bigrams["successes"].GetInt64(),
                             bigrams["outcomes"].GetInt64(), words["requests"].GetInt64(), bigrams["requests"].GetInt64());
  ASSERT_TRUE(scipy.IsObject());
  const auto& vs = bigrams["vs_first"];
  expect_close(vs["p_value"].GetDouble(), scipy["p_value"].GetDouble(), "z-test p-value");
  expect_close(vs["ci95"][0].GetDouble(), scipy["low"].GetDouble(), "interval low");
  expect_close(vs["ci95"][1].GetDouble(), scipy["high"].GetDouble(), "interval high");
  expect_close(results["sample_ratio"]["chi2"].GetDouble(), scipy["srm_chi2"].GetDouble(), "SRM chi2");
  expect_close(results["sample_ratio"]["p_value"].GetDouble(), scipy["srm_p"].GetDouble(), "SRM p-value");
  EXPECT_FALSE(results["sample_ratio"]["mismatch"].GetBool());
  EXPECT_LT(vs["p_value"].GetDouble(), 0.05);  // bigrams are better, and 1200 reviews show it

  // Stopping gives the deployment back its variants.
  EXPECT_STREQ(admin(port, "POST", "/admin/v1/experiments/" + id + "/stop", "", 200)["state"].GetString(), "stopped");
  EXPECT_EQ(client.post("/predict?model=sentiment", R"({"text":"fine"})").header("x-variant"), "baseline");
  admin(port, "POST", "/admin/v1/experiments/" + id + "/stop", "", 409);
}

TEST(Experiment, ABrokenSplitIsFlaggedAsASampleRatioMismatch) {
  ServerProcess server(delivery_config(kSentimentV1));
  const uint16_t port = server.port();
  const std::string id = std::to_string(admin(port, "POST", "/admin/v1/experiments", kExperiment, 201)["id"].GetInt64());
  // Something upstream forces most traffic to one arm.
  HttpClient client(port);
  for (int i = 0; i < 300; ++i) {
    client.post("/predict?model=sentiment", R"({"text":"fine"})", {{"Content-Type", "application/json"}, {"X-Canary", i % 10 ? "words" : "bigrams"}});
  }
  auto results = HttpClient(port).get("/admin/v1/experiments/" + id).json();
  EXPECT_TRUE(results["sample_ratio"]["mismatch"].GetBool());
  EXPECT_LT(results["sample_ratio"]["p_value"].GetDouble(), 0.001);
}

TEST(Experiment, EndsByItselfAtItsSampleSize) {
  ServerProcess server(delivery_config(kSentimentV1));
  const uint16_t port = server.port();
  std::string body = kExperiment;
  body.replace(body.find("100000"), 6, "50");
  const std::string id = std::to_string(admin(port, "POST", "/admin/v1/experiments", body, 201)["id"].GetInt64());
  Traffic traffic(port, "/predict?model=sentiment", 2, 200);
  traffic.wait();
  ASSERT_TRUE(eventually([&] {
    auto doc = HttpClient(port).get("/admin/v1/experiments/" + id).json();
    return std::string(doc["experiment"]["state"].GetString()) == "stopped";
  }));
  EXPECT_EQ(HttpClient(port).post("/predict?model=sentiment", R"({"text":"fine"})").header("x-variant"), "baseline");
}

TEST(Experiment, FeedbackIsCheckedAndCountsOnce) {
  ServerProcess server(delivery_config(kSentimentV1));
  const uint16_t port = server.port();
  admin(port, "POST", "/admin/v1/experiments", kExperiment, 201);
  HttpClient client(port);
  const std::string request_id = client.post("/predict?model=sentiment", R"({"text":"great"})").header("x-request-id");
  const std::string good = json_body({{"request_id", request_id}, {"label", "positive"}});
  EXPECT_EQ(client.post("/feedback", good).status, 200u);
  EXPECT_EQ(client.post("/feedback", good).status, 409u);
  EXPECT_EQ(client.post("/feedback", json_body({{"request_id", "never-served"}, {"label", "positive"}})).status, 404u);
  EXPECT_EQ(client.post("/feedback", R"({"request_id": "x", "label": "a", "reward": 1})").status, 400u);
  EXPECT_EQ(client.post("/feedback", R"({"request_id": "x"})").status, 400u);
  EXPECT_EQ(client.post("/feedback", R"({"label": "a"})").status, 400u);
  EXPECT_EQ(client.post("/feedback", R"({"request_id": 7, "reward": 1})").status, 400u);
  EXPECT_EQ(client.post("/feedback", "not json").status, 400u);
  EXPECT_EQ(client.get("/feedback").status, 405u);
  const std::string rewarded = client.post("/predict?model=sentiment", R"({"text":"great"})").header("x-request-id");
  EXPECT_EQ(client.post("/feedback", R"({"request_id": ")" + rewarded + R"(", "reward": 2.5})").status, 200u);
}

}  // namespace
}  // namespace seraph::test
