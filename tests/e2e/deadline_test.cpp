// Deadlines: every inference request is answered by its deadline, 504 if the model has not
// answered by then; requests whose deadline passes while queued are never run.
#include <gtest/gtest.h>

#include <chrono>
#include <future>

#include "e2e_env.h"

namespace seraph::test {
namespace {

using namespace std::chrono_literals;

// A slow request with V2 request parameters.
std::string slow_request_with(int rounds, const std::string& parameters) {
  std::string body = slow_request(rounds);
  body.pop_back();  // the closing brace
  return body + R"(,"parameters":)" + parameters + "}";
}

class Deadlines : public ::testing::Test {
 protected:
  // A cut-off request leaves the model computing; wait until it is free so the next test starts
  // from an idle model.
  void TearDown() override { EXPECT_EQ(client.post("/v2/models/slow/infer", slow_request(1)).status, 200u); }

  // Rounds that keep the slow model busy for about `target`, measured once on the idle model.
  int rounds_for(std::chrono::milliseconds target) {
    static const int per_second = slow_rounds_for(shared_server().port(), std::chrono::milliseconds(1000));
    return std::max(20, static_cast<int>(per_second * target.count() / 1000));
  }

  HttpClient client{shared_server().port()};
};

TEST_F(Deadlines, ASlowModelIsAnswered504AtTheRequestTimeoutHeader) {
  const int rounds = rounds_for(5000ms);
  const auto start = std::chrono::steady_clock::now();
  Response r = client.post("/v2/models/slow/infer", slow_request(rounds),
                           {{"Content-Type", "application/json"}, {"X-Request-Timeout-Ms", "200"}});
  const auto waited = std::chrono::steady_clock::now() - start;
  EXPECT_EQ(r.status, 504u) << r.body;
  EXPECT_NE(r.json()["error"].GetString(), nullptr);
  EXPECT_GE(waited, 190ms);
  EXPECT_LT(waited, 2500ms) << "the answer waited for the model instead of the deadline";
}

TEST_F(Deadlines, TheV2TimeoutParameterIsInMicroseconds) {
  const int rounds = rounds_for(5000ms);
  const auto start = std::chrono::steady_clock::now();
  Response r = client.post("/v2/models/slow/infer", slow_request_with(rounds, R"({"timeout":200000})"));
  EXPECT_EQ(r.status, 504u) << r.body;
  EXPECT_LT(std::chrono::steady_clock::now() - start, 2500ms);
}

TEST_F(Deadlines, AFastAnswerWithinTheDeadlineIs200) {
  Response r = client.post("/predict", R"({"text":"good"})", {{"Content-Type", "application/json"}, {"X-Request-Timeout-Ms", "5000"}});
  EXPECT_EQ(r.status, 200u);
}

TEST_F(Deadlines, AnInvalidTimeoutIs400) {
  for (const char* bad : {"0", "-5", "soon", "99999999"}) {
    Response r = client.post("/predict", R"({"text":"good"})", {{"Content-Type", "application/json"}, {"X-Request-Timeout-Ms", bad}});
    EXPECT_EQ(r.status, 400u) << bad;
  }
  EXPECT_EQ(client.post("/v2/models/slow/infer", slow_request_with(1, R"({"timeout":"soon"})")).status, 400u);
}

TEST_F(Deadlines, TheConnectionServesTheNextRequestAfterA504) {
  const int rounds = rounds_for(600ms);
  Response late = client.post("/v2/models/slow/infer", slow_request(rounds),
                              {{"Content-Type", "application/json"}, {"X-Request-Timeout-Ms", "50"}});
  EXPECT_EQ(late.status, 504u);
  // The model's late answer is dropped; the same connection answers the next request correctly.
  Response next = client.post("/predict", R"({"text":"good"})");
  EXPECT_EQ(next.status, 200u) << next.body;
  EXPECT_TRUE(next.json().HasMember("label"));
}

}  // namespace
}  // namespace seraph::test
