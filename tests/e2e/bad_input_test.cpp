// Hostile and mistaken input: every case gets a 4xx JSON error naming the problem, and the server
// keeps serving afterwards.
#include <gtest/gtest.h>

#include <string>

#include "e2e_env.h"

namespace seraph::test {
namespace {

class BadInput : public ::testing::Test {
 protected:
  void TearDown() override {
    // Whatever the case sent, the server still answers correctly.
    HttpClient fresh(shared_server().port());
    Response r = fresh.post("/predict", R"({"text":"still alive"})");
    EXPECT_EQ(r.status, 200u) << "server stopped serving properly after the bad input";
  }

  // Asserts a JSON error with `status` whose message contains `fragment`.
  void expect_error(const Response& r, unsigned status, const std::string& fragment) {
    EXPECT_EQ(r.status, status) << r.body;
    auto doc = r.json();
    ASSERT_TRUE(doc.IsObject() && doc.HasMember("error") && doc["error"].IsString()) << r.body;
    EXPECT_NE(std::string(doc["error"].GetString()).find(fragment), std::string::npos)
        << "error '" << doc["error"].GetString() << "' does not mention '" << fragment << "'";
  }

  HttpClient client{shared_server().port()};
};

std::string mlp_input(const std::string& shape, const std::string& datatype, const std::string& data) {
  return R"({"inputs":[{"name":"input","shape":)" + shape + R"(,"datatype":")" + datatype + R"(","data":)" + data + "}]}";
}

TEST_F(BadInput, MalformedJsonIs400) {
  expect_error(client.post("/v2/models/mlp/infer", R"({"inputs": [)"), 400, "malformed JSON");
  expect_error(client.post("/predict", "not json"), 400, "malformed JSON");
}

TEST_F(BadInput, WrongShapeIs400) {
  expect_error(client.post("/v2/models/mlp/infer", mlp_input("[1,5]", "FP32", "[1,2,3,4,5]")), 400, "shape");
  expect_error(client.post("/v2/models/mlp/infer", mlp_input("[4]", "FP32", "[1,2,3,4]")), 400, "shape");
}

TEST_F(BadInput, WrongDatatypeIs400) {
  expect_error(client.post("/v2/models/mlp/infer", mlp_input("[1,4]", "INT32", "[1,2,3,4]")), 400, "datatype");
  expect_error(client.post("/v2/models/mlp/infer", mlp_input("[1,4]", "FP33", "[1,2,3,4]")), 400, "unknown datatype");
}

TEST_F(BadInput, ElementCountMismatchIs400) {
  expect_error(client.post("/v2/models/mlp/infer", mlp_input("[2,4]", "FP32", "[1,2,3,4]")), 400, "elements");
  expect_error(client.post("/v2/models/mlp/infer", mlp_input("[1,4]", "FP32", "[1,2,3,4,5]")), 400, "elements");
}

TEST_F(BadInput, ElementOfTheWrongKindIs400) {
  expect_error(client.post("/v2/models/mlp/infer", mlp_input("[1,4]", "FP32", R"([1,2,"3",4])")), 400, "element 2");
}

TEST_F(BadInput, UnknownModelOrVersionIs404) {
  expect_error(client.post("/v2/models/ghost/infer", mlp_input("[1,4]", "FP32", "[1,2,3,4]")), 404, "unknown model");
  expect_error(client.post("/v2/models/mlp/versions/7/infer", mlp_input("[1,4]", "FP32", "[1,2,3,4]")), 404,
               "unknown version");
  expect_error(client.post("/predict?model=ghost", R"({"text":"x"})"), 404, "unknown model");
  expect_error(client.get("/v2/models/ghost"), 404, "unknown model");
}

TEST_F(BadInput, NonJsonContentTypeIs415) {
  expect_error(client.post("/predict", R"({"text":"x"})", {{"Content-Type", "text/plain"}}), 415, "application/json");
  expect_error(client.post("/v2/models/mlp/infer", mlp_input("[1,4]", "FP32", "[1,2,3,4]"),
                           {{"Content-Type", "application/x-www-form-urlencoded"}}),
               415, "application/json");
}

TEST_F(BadInput, JsonContentTypeWithCharsetIsAccepted) {
  EXPECT_EQ(client.post("/predict", R"({"text":"x"})", {{"Content-Type", "application/json; charset=utf-8"}}).status, 200u);
}

TEST_F(BadInput, OversizedBodyIs413) {
  const std::string huge(9 * 1024 * 1024, 'a');
  expect_error(client.post("/predict", R"({"text":")" + huge + "\"}"), 413, "exceeds the limit");
}

TEST_F(BadInput, InvalidUtf8InTextIs400) {
  expect_error(client.post("/predict", "{\"text\":\"bad \xff\xfe bytes\"}"), 400, "malformed JSON");
  expect_error(client.post("/v2/models/sentiment/infer",
                           "{\"inputs\":[{\"name\":\"text\",\"shape\":[1],\"datatype\":\"BYTES\",\"data\":[\"\xc3\x28\"]}]}"),
               400, "malformed JSON");
}

TEST_F(BadInput, NanAndInfinityAreRejected) {
  expect_error(client.post("/v2/models/mlp/infer", mlp_input("[1,4]", "FP32", "[NaN,1,2,3]")), 400, "malformed JSON");
  expect_error(client.post("/v2/models/mlp/infer", mlp_input("[1,4]", "FP32", "[Infinity,1,2,3]")), 400, "malformed JSON");
  // Finite in JSON but infinite as FP32.
  expect_error(client.post("/v2/models/mlp/infer", mlp_input("[1,4]", "FP32", "[1e39,1,2,3]")), 400, "FP32 range");
  expect_error(client.post("/predict?model=mlp", R"({"features":[1e39,1,2,3]})"), 400, "FP32 range");
}

TEST_F(BadInput, EmptyBatchIs400) {
  expect_error(client.post("/predict/batch", "[]"), 400, "empty batch");
  expect_error(client.post("/v2/models/mlp/infer", mlp_input("[0,4]", "FP32", "[]")), 400, "empty batch");
  expect_error(client.post("/predict?model=mlp", R"({"instances":[]})"), 400, "non-empty");
}

TEST_F(BadInput, HalfPrecisionIsAClear400) {
  expect_error(client.post("/v2/models/mlp/infer", mlp_input("[1,4]", "FP16", "[1,2,3,4]")), 400, "not supported");
}

TEST_F(BadInput, MissingOrEmptyInputsAre400) {
  expect_error(client.post("/v2/models/mlp/infer", "{}"), 400, "inputs");
  expect_error(client.post("/v2/models/mlp/infer", R"({"inputs":[]})"), 400, "inputs must not be empty");
  expect_error(client.post("/v2/models/mlp/infer",
                           R"({"inputs":[{"name":"other","shape":[1,4],"datatype":"FP32","data":[1,2,3,4]}]})"),
               400, "missing input 'input'");
  expect_error(client.post("/v2/models/mlp/infer", R"({"inputs":[{"name":"input","shape":[1,4],"datatype":"FP32"}]})"),
               400, "data is required");
}

TEST_F(BadInput, UnknownRequestedOutputIs400) {
  expect_error(client.post("/v2/models/mlp/infer",
                           R"({"inputs":[{"name":"input","shape":[1,4],"datatype":"FP32","data":[1,2,3,4]}],"outputs":[{"name":"nope"}]})"),
               400, "no output 'nope'");
}

TEST_F(BadInput, DeeplyNestedJsonIs400WithoutCrashing) {
  expect_error(client.post("/v2/models/mlp/infer", std::string(200000, '[')), 400, "malformed JSON");
  std::string nested = R"({"inputs":[{"name":"input","shape":[1,4],"datatype":"FP32","data":)" + std::string(100, '[') +
                       "1" + std::string(100, ']') + "}]}";
  expect_error(client.post("/v2/models/mlp/infer", nested), 400, "nested too deeply");
}

TEST_F(BadInput, PredictBodyOfTheWrongKindIs400) {
  expect_error(client.post("/predict", R"({"txt":"typo"})"), 400, "needs one of");
  expect_error(client.post("/predict?model=mlp", R"({"text":"words for a numeric model"})"), 400, "numeric features");
  expect_error(client.post("/predict", R"({"features":[1,2,3]})"), 400, "takes text");
  expect_error(client.post("/predict?model=mlp", R"({"instances":[[1,2,3,4],[1,2]]})"), 400, "features");
  expect_error(client.post("/predict?model_version=abc", R"({"text":"x"})"), 400, "model_version");
  expect_error(client.post("/predict/batch", R"({"text":"not a list"})"), 400, "array");
}

TEST_F(BadInput, MalformedHttpIs400AndClosesTheConnection) {
  RawExchange exchange = raw_exchange_until_close(shared_server().port(), "THIS IS NOT HTTP\r\n\r\n");
  EXPECT_NE(exchange.answer.find("HTTP/1.1 400"), std::string::npos) << exchange.answer;
  EXPECT_NE(exchange.answer.find("\"error\""), std::string::npos) << exchange.answer;
  EXPECT_TRUE(exchange.closed_by_server) << "the connection was still open after 3 s";
}

TEST_F(BadInput, OversizedHeadersAre431) {
  std::string request = "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(20000, 'a') + "\r\n\r\n";
  std::string answer = raw_exchange(shared_server().port(), request);
  EXPECT_NE(answer.find("HTTP/1.1 431"), std::string::npos) << answer.substr(0, 200);
}

TEST_F(BadInput, TruncatedBodyIsNotAnsweredAsIfComplete) {
  // Content-Length promises more than is sent; the server must not run the request on half a body.
  std::string request = "POST /predict HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"text\":";
  std::string answer = raw_exchange(shared_server().port(), request, 500);
  EXPECT_EQ(answer.find("HTTP/1.1 200"), std::string::npos) << answer;
}

}  // namespace
}  // namespace seraph::test
