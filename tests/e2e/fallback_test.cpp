// Fallback chains through the real binary: a candidate that aborts every request is served by its
// baseline while its own stats count every failure; a remote variant whose backend is down is
// served by a local one; a stale cached answer and then a default answer when nothing else can.
#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include <fmt/format.h>

#include "child_process.h"
#include "delivery_env.h"
#include "e2e_env.h"
#include "server_process.h"

namespace seraph::test {
namespace {

const std::string kBody = R"({"text":"what a wonderful, moving film"})";

// reviews: the candidate aborts everything, the baseline (weight 0) is its fallback.
// remote-first: served by backend `far` (down), a local variant as its fallback.
// last-resort: its only variant aborts everything; a stale answer, else a default one.
std::string fallback_yaml(uint16_t down_port) {
  return fmt::format(R"(backends:
  - name: far
    endpoints: ["127.0.0.1:{}"]
    connect_timeout_ms: 300
    request_timeout_ms: 2000
guards:
  cache:
    enabled: true
    ttl_ms: 1
deployments:
  - name: reviews
    variants:
      - {{name: baseline, model: sentiment, version: 1, weight: 0, role: baseline}}
      - {{name: candidate, model: sentiment, version: 2, weight: 100, role: candidate,
         fault: {{abort_percent: 100, abort_status: 503}}}}
    fallback: [{{variant: baseline}}]
  - name: remote-first
    variants:
      - {{name: remote, model: sentiment, version: 1, weight: 100, role: baseline, backend: far}}
      - {{name: local, model: sentiment, version: 1, weight: 0, role: candidate}}
    fallback: [{{variant: local}}]
  - name: last-resort
    variants:
      - {{name: baseline, model: sentiment, version: 1, weight: 100}}
    fallback:
      - {{stale_cache: true}}
      - default_answer:
          outputs:
            - {{name: labels, datatype: BYTES, shape: [1, 1], data: [unknown]}}
            - {{name: scores, datatype: FP32, shape: [1, 1], data: [0.5]}}
)",
                     down_port);
}

// A series of seraph_variant_requests_total for the variant of `deployment`.
std::string variant_series(const std::string& deployment, const std::string& variant, const std::string& outcome) {
  return fmt::format(R"(seraph_variant_requests_total\{{deployment="{}",[^}}]*variant="{}"[^}}]*outcome="{}"\}})",
                     deployment, variant, outcome);
}

std::string fallback_series(const std::string& deployment, const std::string& kind, const std::string& outcome) {
  return fmt::format(R"(seraph_fallbacks_total\{{deployment="{}",[^}}]*kind="{}",outcome="{}"\}})", deployment, kind,
                     outcome);
}

class Fallback : public ::testing::Test {
 protected:
  // Nothing listens on `far`'s port: it is down.
  ServerProcess server{write_config(shared_repository(), fallback_yaml(testing::free_port()))};
  HttpClient client{server.port()};
};

TEST_F(Fallback, AnAbortingCandidateIsServedByItsBaselineAndItsFailuresStillCount) {
  constexpr int kRequests = 20;
  for (int i = 0; i < kRequests; ++i) {
    Response r = client.post("/predict?model=reviews", kBody);
    ASSERT_EQ(r.status, 200u) << r.body;
    EXPECT_EQ(r.header("x-fallback"), "variant:baseline");
    EXPECT_EQ(r.header("x-variant"), "baseline");
    EXPECT_EQ(r.header("x-model-version"), "1");
    EXPECT_STREQ(r.json()["fallback"].GetString(), "variant:baseline");
  }
  Response v2 = client.post("/v2/models/reviews/infer",
                            R"({"inputs":[{"name":"text","datatype":"BYTES","shape":[1],"data":["fine film"]}]})");
  ASSERT_EQ(v2.status, 200u) << v2.body;
  EXPECT_STREQ(v2.json()["parameters"]["fallback"].GetString(), "variant:baseline");

  // Canary analysis reads the candidate's stats: every request failed there.
  EXPECT_EQ(metric(server.port(), variant_series("reviews", "candidate", "error")), kRequests + 1);
  EXPECT_EQ(metric(server.port(), variant_series("reviews", "candidate", "ok")), 0);
  EXPECT_EQ(metric(server.port(), variant_series("reviews", "baseline", "ok")), kRequests + 1);
  EXPECT_EQ(metric(server.port(), fallback_series("reviews", "variant", "served")), kRequests + 1);
}

TEST_F(Fallback, ARemoteVariantWhoseBackendIsDownFallsBackToALocalOne) {
  Response r = client.post("/predict?model=remote-first", kBody);
  ASSERT_EQ(r.status, 200u) << r.body;
  EXPECT_EQ(r.header("x-fallback"), "variant:local");
  EXPECT_EQ(r.header("x-variant"), "local");
  EXPECT_TRUE(r.json().HasMember("label")) << r.body;
  EXPECT_EQ(metric(server.port(), variant_series("remote-first", "remote", "error")), 1);
}

TEST_F(Fallback, AStaleAnswerAndThenADefaultAnswerWhenTheOnlyVariantFails) {
  // Nothing cached yet: the default answer.
  admin(server.port(), "PUT", "/admin/v1/deployments/last-resort/variants/baseline/fault",
        R"({"abort_percent":100,"abort_status":500})", 200);
  Response first = client.post("/predict?model=last-resort", R"({"text":"never seen before"})");
  ASSERT_EQ(first.status, 200u) << first.body;
  EXPECT_EQ(first.header("x-fallback"), "default_answer");
  EXPECT_STREQ(first.json()["label"].GetString(), "unknown");

  // A first success is cached; once it has expired and the variant fails, it is served stale.
  admin(server.port(), "PUT", "/admin/v1/deployments/last-resort/variants/baseline/fault", R"({"abort_percent":0})",
        200);
  Response fresh = client.post("/predict?model=last-resort", kBody);
  // Stored before it was answered: past its 1 ms ttl_ms by then, whatever the next steps take.
  const auto expired_by = std::chrono::steady_clock::now() + std::chrono::milliseconds(2);
  ASSERT_EQ(fresh.status, 200u) << fresh.body;
  EXPECT_EQ(fresh.header("x-fallback"), "");
  admin(server.port(), "PUT", "/admin/v1/deployments/last-resort/variants/baseline/fault",
        R"({"abort_percent":100,"abort_status":500})", 200);
  std::this_thread::sleep_until(expired_by);
  Response stale = client.post("/predict?model=last-resort", kBody);
  ASSERT_EQ(stale.status, 200u) << stale.body;
  EXPECT_EQ(stale.header("x-fallback"), "stale_cache");
  EXPECT_EQ(stale.header("x-cache"), "MISS") << "the entry had expired: only the fallback serves it";
  EXPECT_STREQ(stale.json()["label"].GetString(), fresh.json()["label"].GetString());
  EXPECT_EQ(metric(server.port(), variant_series("last-resort", "baseline", "error")), 2);
  EXPECT_EQ(metric(server.port(), fallback_series("last-resort", "stale_cache", "served")), 1);
  EXPECT_EQ(metric(server.port(), fallback_series("last-resort", "default_answer", "served")), 1);
}

}  // namespace
}  // namespace seraph::test
