// The HTTP API over real sockets: health, metadata, KServe V2 inference for every model and
// datatype, the simple /predict API, request ids and methods.
#include <gtest/gtest.h>

#include <string>

#include "e2e_env.h"
#include "typed_models.h"

namespace seraph::test {
namespace {

class Api : public ::testing::Test {
 protected:
  HttpClient client{shared_server().port()};
};

const std::string kMlpTwoRows =
    R"({"inputs":[{"name":"input","shape":[2,4],"datatype":"FP32","data":[[5.1,3.5,1.4,0.2],[6.7,3.0,5.2,2.3]]}]})";

TEST_F(Api, HealthzIsLiveAndReadyzIsReadyOnceModelsLoaded) {
  Response live = client.get("/healthz");
  EXPECT_EQ(live.status, 200u);
  EXPECT_STREQ(live.json()["status"].GetString(), "live");
  Response ready = client.get("/readyz");
  EXPECT_EQ(ready.status, 200u);
  EXPECT_STREQ(ready.json()["status"].GetString(), "ready");
}

TEST_F(Api, V2HealthEndpointsAnswer200WithTheBooleanInTheBody) {
  Response live = client.get("/v2/health/live");
  EXPECT_EQ(live.status, 200u);
  EXPECT_TRUE(live.json()["live"].GetBool());
  Response ready = client.get("/v2/health/ready");
  EXPECT_EQ(ready.status, 200u);
  EXPECT_TRUE(ready.json()["ready"].GetBool());
}

TEST_F(Api, V2ServerMetadataNamesServerVersionAndExtensions) {
  auto doc = client.get("/v2").json();
  ASSERT_TRUE(doc.IsObject());
  EXPECT_STREQ(doc["name"].GetString(), "seraph");
  EXPECT_TRUE(doc["version"].IsString());
  EXPECT_TRUE(doc["extensions"].IsArray());
}

TEST_F(Api, V2ModelMetadataListsVersionsPlatformAndTensors) {
  Response r = client.get("/v2/models/sentiment");
  ASSERT_EQ(r.status, 200u) << r.body;
  auto doc = r.json();
  EXPECT_STREQ(doc["name"].GetString(), "sentiment");
  ASSERT_EQ(doc["versions"].Size(), 2u);
  EXPECT_STREQ(doc["versions"][0].GetString(), "1");
  EXPECT_STREQ(doc["versions"][1].GetString(), "2");
  EXPECT_STREQ(doc["platform"].GetString(), "fasttext");
  EXPECT_STREQ(doc["inputs"][0]["name"].GetString(), "text");
  EXPECT_STREQ(doc["inputs"][0]["datatype"].GetString(), "BYTES");
  EXPECT_EQ(doc["inputs"][0]["shape"][0].GetInt(), -1);
  EXPECT_STREQ(doc["outputs"][1]["datatype"].GetString(), "FP32");

  Response versioned = client.get("/v2/models/cancer/versions/1");
  ASSERT_EQ(versioned.status, 200u);
  EXPECT_EQ(versioned.json()["inputs"][0]["shape"][1].GetInt(), 30);
}

TEST_F(Api, V2ModelReadyIs200ForReadyModelsAnd404ForUnknownOnes) {
  Response ready = client.get("/v2/models/mlp/ready");
  EXPECT_EQ(ready.status, 200u);
  EXPECT_STREQ(ready.json()["name"].GetString(), "mlp");
  EXPECT_TRUE(ready.json()["ready"].GetBool());
  EXPECT_EQ(client.get("/v2/models/sentiment/versions/1/ready").status, 200u);
  EXPECT_EQ(client.get("/v2/models/nope/ready").status, 404u);
  EXPECT_EQ(client.get("/v2/models/sentiment/versions/9/ready").status, 404u);
  EXPECT_EQ(client.get("/v2/models/sentiment/versions/abc").status, 404u);
}

TEST_F(Api, V2InferEchoesIdAndReturnsEveryOutput) {
  Response r = client.post("/v2/models/sentiment/infer",
                           R"({"id":"req-42","inputs":[{"name":"text","shape":[1],"datatype":"BYTES","data":["I loved it, great value"]}]})");
  ASSERT_EQ(r.status, 200u) << r.body;
  auto doc = r.json();
  EXPECT_STREQ(doc["model_name"].GetString(), "sentiment");
  EXPECT_STREQ(doc["model_version"].GetString(), "2");
  EXPECT_STREQ(doc["id"].GetString(), "req-42");
  ASSERT_EQ(doc["outputs"].Size(), 2u);
  EXPECT_STREQ(doc["outputs"][0]["name"].GetString(), "label");
  EXPECT_STREQ(doc["outputs"][0]["datatype"].GetString(), "BYTES");
  EXPECT_STREQ(doc["outputs"][0]["data"][0].GetString(), "positive");
  EXPECT_EQ(doc["outputs"][1]["shape"][1].GetInt(), 2);
  const double total = doc["outputs"][1]["data"][0].GetDouble() + doc["outputs"][1]["data"][1].GetDouble();
  EXPECT_NEAR(total, 1.0, 1e-4);
}

TEST_F(Api, V2InferWithoutIdOmitsIt) {
  auto doc = client.post("/v2/models/mlp/infer", kMlpTwoRows).json();
  EXPECT_FALSE(doc.HasMember("id"));
}

TEST_F(Api, V2InferReturnsOnlyRequestedOutputs) {
  Response r = client.post(
      "/v2/models/sentiment/infer",
      R"({"inputs":[{"name":"text","shape":[1],"datatype":"BYTES","data":["fine"]}],"outputs":[{"name":"probability"}]})");
  ASSERT_EQ(r.status, 200u) << r.body;
  auto doc = r.json();
  ASSERT_EQ(doc["outputs"].Size(), 1u);
  EXPECT_STREQ(doc["outputs"][0]["name"].GetString(), "probability");
}

TEST_F(Api, V2InferOnAVersionPathServesThatVersion) {
  Response r = client.post("/v2/models/sentiment/versions/1/infer",
                           R"({"inputs":[{"name":"text","shape":[1],"datatype":"BYTES","data":["ok"]}]})");
  ASSERT_EQ(r.status, 200u) << r.body;
  EXPECT_STREQ(r.json()["model_version"].GetString(), "1");
}

TEST_F(Api, V2InferAcceptsNestedAndFlatDataAlike) {
  const std::string flat =
      R"({"inputs":[{"name":"input","shape":[2,4],"datatype":"FP32","data":[5.1,3.5,1.4,0.2,6.7,3.0,5.2,2.3]}]})";
  Response a = client.post("/v2/models/mlp/infer", kMlpTwoRows);
  Response b = client.post("/v2/models/mlp/infer", flat);
  ASSERT_EQ(a.status, 200u);
  EXPECT_EQ(a.body, b.body);
  auto doc = a.json();
  EXPECT_EQ(doc["outputs"][0]["shape"][0].GetInt(), 2);
  EXPECT_EQ(doc["outputs"][0]["shape"][1].GetInt(), 3);
  EXPECT_EQ(doc["outputs"][0]["data"].Size(), 6u);  // flat, row-major
}

TEST_F(Api, V2InferAcceptsRequestParameters) {
  Response r = client.post(
      "/v2/models/mlp/infer",
      R"({"parameters":{"priority":1,"tag":"x","sampled":true,"ratio":0.5},"inputs":[{"name":"input","shape":[1,4],"datatype":"FP32","data":[5,3,1,0.2]}]})");
  EXPECT_EQ(r.status, 200u) << r.body;
}

TEST_F(Api, V2InferRoundTripsEveryTorchDatatype) {
  for (const std::string& type : torch_datatypes()) {
    std::string lower = type;
    for (auto& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    const bool is_bool = type == "BOOL";
    const std::string data = is_bool ? "[[true,false,true]]" : "[[1,-2,3]]";
    const std::string body = R"({"inputs":[{"name":"x","shape":[1,3],"datatype":")" + type + R"(","data":)" +
                             (type == "UINT8" ? std::string("[[1,2,3]]") : data) + "}]}";
    Response r = client.post("/v2/models/typed_" + lower + "/infer", body);
    ASSERT_EQ(r.status, 200u) << type << ": " << r.body;
    auto doc = r.json();
    const auto& out = doc["outputs"][0];
    EXPECT_STREQ(out["datatype"].GetString(), type.c_str());
    ASSERT_EQ(out["data"].Size(), 3u) << type;
    if (is_bool) {
      EXPECT_FALSE(out["data"][0].GetBool());
      EXPECT_TRUE(out["data"][1].GetBool());
    } else if (type == "UINT8") {
      EXPECT_EQ(out["data"][2].GetInt(), 6);
    } else {
      EXPECT_EQ(out["data"][1].GetDouble(), -4.0) << type;
      EXPECT_EQ(out["data"][2].GetDouble(), 6.0) << type;
    }
  }
}

TEST_F(Api, PredictTextServesTheDefaultModelWithLabelScoresAndServingFields) {
  Response r = client.post("/predict", R"({"text":"The quality is excellent, great for the money"})");
  ASSERT_EQ(r.status, 200u) << r.body;
  auto doc = r.json();
  EXPECT_STREQ(doc["label"].GetString(), "positive");
  EXPECT_TRUE(doc["scores"].IsObject());
  EXPECT_TRUE(doc["scores"].HasMember("negative"));
  EXPECT_STREQ(doc["model"].GetString(), "sentiment");
  EXPECT_EQ(doc["model_version"].GetInt(), 2);
  EXPECT_EQ(std::string(doc["request_id"].GetString()), r.header("x-request-id"));
  EXPECT_GE(doc["latency_ms"].GetDouble(), 0.0);

  auto negative = client.post("/predict", R"({"text":"Terrible. It was awful and boring"})").json();
  EXPECT_STREQ(negative["label"].GetString(), "negative");
}

TEST_F(Api, PredictSelectsModelAndVersionFromTheQuery) {
  auto v1 = client.post("/predict?model=sentiment&model_version=1", R"({"text":"good"})").json();
  EXPECT_EQ(v1["model_version"].GetInt(), 1);
  auto cancer = client
                    .post("/predict?model=cancer",
                          R"({"features":[17.99,10.38,122.8,1001,0.1184,0.2776,0.3001,0.1471,0.2419,0.07871,1.095,0.9053,8.589,153.4,0.006399,0.04904,0.05373,0.01587,0.03003,0.006193,25.38,17.33,184.6,2019,0.1622,0.6656,0.7119,0.2654,0.4601,0.1189]})")
                    .json();
  ASSERT_TRUE(cancer.IsObject());
  EXPECT_STREQ(cancer["label"].GetString(), "malignant");  // the first row of the data set
  EXPECT_STREQ(cancer["model"].GetString(), "cancer");
}

TEST_F(Api, PredictInstancesAnswersOnePredictionPerRowInOrder) {
  Response r = client.post("/predict?model=mlp", R"({"instances":[[5.1,3.5,1.4,0.2],[6.7,3.0,5.2,2.3],[5.9,3.0,4.2,1.5]]})");
  ASSERT_EQ(r.status, 200u) << r.body;
  auto doc = r.json();
  ASSERT_EQ(doc["predictions"].Size(), 3u);
  EXPECT_STREQ(doc["predictions"][0]["label"].GetString(), "setosa");
  EXPECT_STREQ(doc["predictions"][1]["label"].GetString(), "virginica");
  EXPECT_STREQ(doc["predictions"][2]["label"].GetString(), "versicolor");
}

TEST_F(Api, PredictBatchAnswersAListInTheSameOrderAsSinglePredictions) {
  const std::vector<std::string> texts{"I hate this", "best purchase ever", "not bad at all", "never again"};
  std::string body = "[";
  for (size_t i = 0; i < texts.size(); ++i) {
    if (i) body += ",";
    body += R"({"text":")";
    body += texts[i];
    body += "\"}";
  }
  body += "]";
  Response r = client.post("/predict/batch", body);
  ASSERT_EQ(r.status, 200u) << r.body;
  auto doc = r.json();
  ASSERT_EQ(doc["predictions"].Size(), texts.size());
  for (size_t i = 0; i < texts.size(); ++i) {
    auto single = client.post("/predict", R"({"text":")" + texts[i] + "\"}").json();
    EXPECT_STREQ(doc["predictions"][i]["label"].GetString(), single["label"].GetString()) << texts[i];
    EXPECT_EQ(doc["predictions"][i]["scores"]["positive"].GetDouble(), single["scores"]["positive"].GetDouble());
  }
}

TEST_F(Api, ModelsListsEveryVersionWithItsState) {
  auto doc = client.get("/models").json();
  ASSERT_TRUE(doc["models"].IsArray());
  bool saw_sentiment = false;
  for (const auto& model : doc["models"].GetArray()) {
    if (std::string(model["name"].GetString()) != "sentiment") continue;
    saw_sentiment = true;
    ASSERT_EQ(model["versions"].Size(), 2u);
    for (const auto& v : model["versions"].GetArray()) {
      EXPECT_STREQ(v["state"].GetString(), "READY");
      EXPECT_STREQ(v["runtime"].GetString(), "fasttext");
    }
  }
  EXPECT_TRUE(saw_sentiment);
}

TEST_F(Api, RequestIdFromTheClientIsEchoedElseOneIsGenerated) {
  Response given = client.post("/predict", R"({"text":"fine"})", {{"Content-Type", "application/json"}, {"X-Request-Id", "trace-7"}});
  EXPECT_EQ(given.header("x-request-id"), "trace-7");
  EXPECT_STREQ(given.json()["request_id"].GetString(), "trace-7");
  Response generated = client.get("/healthz");
  EXPECT_EQ(generated.header("x-request-id").size(), 32u);
  Response unsafe = client.get("/healthz", {{"X-Request-Id", std::string(200, 'a')}});
  EXPECT_EQ(unsafe.header("x-request-id").size(), 32u);
}

TEST_F(Api, WrongMethodAnswers405WithAllow) {
  Response r = client.get("/predict");
  EXPECT_EQ(r.status, 405u);
  EXPECT_EQ(r.header("allow"), "POST");
  EXPECT_TRUE(r.json().HasMember("error"));
  EXPECT_EQ(client.post("/healthz", "{}").status, 405u);
}

TEST_F(Api, HeadAnswersHeadersWithoutBody) {
  Response r = client.request("HEAD", "/healthz", "", {});
  EXPECT_EQ(r.status, 200u);
  EXPECT_TRUE(r.body.empty());
  EXPECT_EQ(r.header("content-length"), std::to_string(client.get("/healthz").body.size()));
}

TEST_F(Api, UnknownPathAnswers404JsonError) {
  Response r = client.get("/nope");
  EXPECT_EQ(r.status, 404u);
  EXPECT_TRUE(r.json()["error"].IsString());
  EXPECT_EQ(r.header("content-type"), "application/json");
}

TEST_F(Api, KeepAliveServesManyRequestsOnOneConnection) {
  for (int i = 0; i < 200; ++i) ASSERT_EQ(client.post("/predict", R"({"text":"again"})").status, 200u);
}

TEST_F(Api, AnUnknownModelIs404AboutTheModelEvenWhenItsBodyIsInvalid) {
  Response v2 = client.post("/v2/models/ghost/infer", "{not json");
  EXPECT_EQ(v2.status, 404u);
  EXPECT_NE(v2.body.find("unknown model 'ghost'"), std::string::npos) << v2.body;
  Response predict = client.post("/predict?model=ghost", "[[[");
  EXPECT_EQ(predict.status, 404u);
  EXPECT_NE(predict.body.find("unknown model 'ghost'"), std::string::npos) << predict.body;
}

TEST_F(Api, EveryEndpointAnswersWithARequestIdAdminAndMetricsIncluded) {
  for (const char* path : {"/metrics", "/admin/v1/deployments", "/healthz", "/no/such/endpoint"}) {
    Response r = client.request("GET", path, "", {{"X-Request-Id", "trace-me-1"}});
    EXPECT_EQ(r.header("x-request-id"), "trace-me-1") << path;
  }
}

TEST_F(Api, AKnownPathWithTheWrongMethodIs405NamingTheMethodsItTakes) {
  Response r = client.request("DELETE", "/v2/models/mlp/infer", "", {});
  EXPECT_EQ(r.status, 405u);
  EXPECT_EQ(r.header("allow"), "POST");
  Response get_infer = client.get("/predict");
  EXPECT_EQ(get_infer.status, 405u);
  EXPECT_EQ(get_infer.header("allow"), "POST");
}

TEST_F(Api, PipelinedRequestsAreAnsweredInOrderAndHttp10KeepAliveIsHonoured) {
  const std::string get = "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n";
  const std::string http10 = "GET /v2/health/live HTTP/1.0\r\nConnection: keep-alive\r\n\r\n";
  const std::string last = "GET /v2 HTTP/1.0\r\n\r\n";
  const std::string answer = raw_exchange(shared_server().port(), get + http10 + last);
  const size_t first = answer.find("{\"status\":\"live\"}");
  const size_t second = answer.find("{\"live\":true}");
  const size_t third = answer.find("\"extensions\"");
  ASSERT_NE(first, std::string::npos) << answer;
  ASSERT_NE(second, std::string::npos) << answer;
  ASSERT_NE(third, std::string::npos) << answer;
  EXPECT_LT(first, second);
  EXPECT_LT(second, third);
  EXPECT_NE(answer.find("Connection: keep-alive"), std::string::npos) << "an HTTP/1.0 client asked to keep the connection";
  EXPECT_NE(answer.find("Connection: close"), std::string::npos) << "the last HTTP/1.0 request did not";
}

}  // namespace
}  // namespace seraph::test
