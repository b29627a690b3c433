// 64 concurrent keep-alive clients for 10 seconds against the real server, every answer checked
// against a direct in-process call of the same runtime on the same model files.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <fstream>
#include <mutex>
#include <sstream>
#include <thread>

#include "e2e_env.h"
#include "models/model_config.h"
#include "models/runtime.h"

namespace seraph::test {
namespace {

struct Case {
  std::string target;
  std::string body;
  std::vector<std::string> labels;  // expected BYTES output (fastText), or empty
  std::vector<float> scores;        // expected FP32 output, row-major
};

std::unique_ptr<Runtime> load_runtime(const std::string& model, int version, ModelConfig& config) {
  const auto dir = shared_repository() / model / std::to_string(version);
  EXPECT_TRUE(load_model_config(dir / "model.yaml", config).is_ok());
  return create_runtime(config, dir);
}

std::vector<Tensor> run(Runtime& runtime, Tensor input) {
  std::vector<Tensor> inputs{std::move(input)}, outputs;
  EXPECT_TRUE(runtime.execute(inputs, outputs).is_ok());
  return outputs;
}

std::string json_number_list(const std::vector<float>& values) {
  std::ostringstream out;
  out.precision(9);
  out << "[";
  for (size_t i = 0; i < values.size(); ++i) out << (i ? "," : "") << values[i];
  out << "]";
  return out.str();
}

// Rows of a data file of examples/data: "header\nf1,...,fn,target\n..." -> feature rows.
std::vector<std::vector<float>> read_rows(const std::string& file, size_t limit) {
  std::ifstream in(std::string(SERAPH_SOURCE_DIR) + "/examples/data/" + file);
  std::string line;
  std::getline(in, line);
  std::vector<std::vector<float>> rows;
  while (rows.size() < limit && std::getline(in, line)) {
    std::vector<float> row;
    std::stringstream fields(line);
    std::string field;
    while (std::getline(fields, field, ',')) row.push_back(std::stof(field));
    row.pop_back();  // the target
    rows.push_back(row);
  }
  return rows;
}

std::vector<Case> make_cases() {
  std::vector<Case> cases;
  ModelConfig config;
  // Text: /predict single and /predict/batch against fastText v2.
  auto sentiment = load_runtime("sentiment", 2, config);
  const std::vector<std::string> texts{"great phone, love it", "terrible service", "not bad at all",
                                       "never disappointing", "it was awful", "Best. Purchase. Ever!",
                                       "wasn't good", "the screen is fine but the battery is poor"};
  for (size_t i = 0; i < texts.size(); ++i) {
    std::vector<std::string> batch{texts[i], texts[(i + 3) % texts.size()], texts[(i + 5) % texts.size()]};
    Tensor input{"text", DataType::kBytes, {static_cast<int64_t>(batch.size())}, {}, batch};
    auto out = run(*sentiment, input);
    Case single{"/predict", R"({"text":")" + texts[i] + "\"}", {out[0].strings[0], out[0].strings[1]}, {}};
    single.scores.assign(out[1].values<float>().begin(), out[1].values<float>().begin() + 2);
    cases.push_back(single);
    std::string body = "[";
    for (size_t j = 0; j < batch.size(); ++j) {
      if (j) body += ",";
      body += R"({"text":")";
      body += batch[j];
      body += "\"}";
    }
    Case many{"/predict/batch", body + "]", out[0].strings, {out[1].values<float>().begin(), out[1].values<float>().end()}};
    cases.push_back(many);
  }
  // Tabular: KServe V2 against XGBoost and TorchScript, one row a request.
  for (const auto& [model, file, features] : {std::tuple{"cancer", "breast_cancer.csv", 30}, std::tuple{"mlp", "iris.csv", 4}}) {
    auto runtime = load_runtime(model, 1, config);
    for (const auto& row : read_rows(file, 12)) {
      // Nine significant digits print every float exactly, so the server parses the same row.
      auto out = run(*runtime, Tensor::of<float>(config.inputs[0].name, DataType::kFp32, {1, features}, row));
      Case c{std::string("/v2/models/") + model + "/infer",
             R"({"inputs":[{"name":")" + config.inputs[0].name + R"(","shape":[1,)" + std::to_string(features) +
                 R"(],"datatype":"FP32","data":)" + json_number_list(row) + "}]}",
             {},
             {out[0].values<float>().begin(), out[0].values<float>().end()}};
      cases.push_back(c);
    }
  }
  return cases;
}

// Checks an answer against the expectation; numbers are compared as the exact floats they print.
std::string check(const Case& c, const Response& r) {
  if (r.status != 200) return "status " + std::to_string(r.status) + ": " + r.body;
  rapidjson::Document doc;
  doc.Parse<rapidjson::kParseNumbersAsStringsFlag>(r.body.c_str());
  if (doc.HasParseError() || !doc.IsObject()) return "not JSON: " + r.body;
  std::vector<std::string> labels;
  std::vector<float> scores;
  auto number = [](const rapidjson::Value& v) { return std::strtof(v.GetString(), nullptr); };
  if (c.target.starts_with("/v2/")) {
    for (const auto& v : doc["outputs"][0]["data"].GetArray()) scores.push_back(number(v));
  } else {
    auto read_prediction = [&](const rapidjson::Value& p) {
      labels.push_back(p["label"].GetString());
      // scores are keyed by label, best first, as the runtime ranks them
      for (auto it = p["scores"].MemberBegin(); it != p["scores"].MemberEnd(); ++it) {
        if (it != p["scores"].MemberBegin()) labels.push_back(it->name.GetString());
        scores.push_back(number(it->value));
      }
    };
    if (doc.HasMember("predictions")) {
      for (const auto& p : doc["predictions"].GetArray()) read_prediction(p);
    } else {
      read_prediction(doc);
    }
  }
  if (!c.labels.empty() && labels != c.labels) return "labels differ: " + r.body;
  if (scores.size() != c.scores.size()) return "score count differs: " + r.body;
  for (size_t i = 0; i < scores.size(); ++i) {
    const float expected = c.scores[i];
    if (std::memcmp(&scores[i], &expected, sizeof(float)) != 0) {
      return "score " + std::to_string(i) + " is " + std::to_string(scores[i]) + ", the runtime gives " +
             std::to_string(expected) + ": " + r.body;
    }
  }
  return "";
}

TEST(Load, SixtyFourClientsForTenSecondsGetExactlyTheRuntimesAnswers) {
  const std::vector<Case> cases = make_cases();
  ASSERT_GE(cases.size(), 40u);
  const uint16_t port = shared_server().port();
  std::atomic<int64_t> answered{0}, wrong{0};
  std::mutex failure_mutex;
  std::string first_failure;
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  std::vector<std::thread> clients;
  for (int t = 0; t < 64; ++t) {
    clients.emplace_back([&, t] {
      HttpClient client(port);
      for (size_t i = t; std::chrono::steady_clock::now() < until; ++i) {
        const Case& c = cases[i % cases.size()];
        std::string problem;
        try {
          problem = check(c, client.post(c.target, c.body));
        } catch (const std::exception& e) {
          problem = std::string("transport error: ") + e.what();
        }
        answered.fetch_add(1);
        if (!problem.empty()) {
          wrong.fetch_add(1);
          std::lock_guard lock(failure_mutex);
          if (first_failure.empty()) first_failure = c.target + " " + c.body + " -> " + problem;
        }
      }
    });
  }
  for (auto& t : clients) t.join();
  EXPECT_EQ(wrong.load(), 0) << "first failure: " << first_failure;
  EXPECT_GT(answered.load(), 1000) << "too few answers in 10 s";
  std::cout << "answered " << answered.load() << " requests from 64 clients in 10 s\n";
}

}  // namespace
}  // namespace seraph::test
