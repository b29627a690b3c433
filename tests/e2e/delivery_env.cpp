#include "delivery_env.h"

#include <gtest/gtest.h>

#include <chrono>

#include "e2e_env.h"
#include "server_process.h"

namespace seraph::test {

const std::filesystem::path& delivery_repository() {
  static const std::filesystem::path repository = [] {
    auto repo = make_temp_dir("seraph-delivery");
    const auto sentiment = demo_models() / "sentiment";
    std::filesystem::create_directories(repo / "sentiment");
    for (const char* v : {"1", "2"}) std::filesystem::copy(sentiment / v, repo / "sentiment" / v, std::filesystem::copy_options::recursive);
    std::filesystem::copy(sentiment / "1", repo / "sentiment" / "3", std::filesystem::copy_options::recursive);
    return repo;
  }();
  return repository;
}

std::filesystem::path delivery_config(const std::string& extra_yaml, int tick_interval_ms) {
  return write_config(delivery_repository(), "control:\n  tick_interval_ms: " + std::to_string(tick_interval_ms) +
                                                 "\nlog:\n  access_log: false\n" + extra_yaml);
}

rapidjson::Document admin(uint16_t port, const std::string& method, const std::string& path, const std::string& body,
                          unsigned expected_status) {
  Response r = HttpClient(port).request(method, path, body, {{"Content-Type", "application/json"}});
  EXPECT_EQ(r.status, expected_status) << method << " " << path << " -> " << r.body;
  return r.json();
}

Traffic::Traffic(uint16_t port, std::string target, int threads, int64_t max_requests,
                 std::vector<std::pair<std::string, std::string>> headers) {
  headers.emplace_back("Content-Type", "application/json");
  for (int t = 0; t < threads; ++t) {
    threads_.emplace_back([this, port, target, max_requests, headers, t] {
      HttpClient client(port);
      const std::string body = t % 2 ? R"({"text":"what a wonderful, moving film"})" : R"({"text":"dull and far too long"})";
      while (!stopping_.load() && sent_.fetch_add(1) < max_requests) {
        Response r;
        try {
          r = client.post(target, body, headers);
        } catch (const std::exception&) {
          r.status = 0;  // no answer: the server is gone (killed by the test)
          std::this_thread::sleep_for(std::chrono::milliseconds(10));
        }
        std::lock_guard lock(mutex_);
        ++statuses_[r.status];
        if (r.status == 200) ++variants_[r.header("x-variant")];
      }
    });
  }
}

Traffic::~Traffic() { stop(); }

void Traffic::stop() {
  stopping_.store(true);
  wait();
}

void Traffic::wait() {
  for (auto& t : threads_) {
    if (t.joinable()) t.join();
  }
}

std::map<unsigned, int64_t> Traffic::statuses() {
  std::lock_guard lock(mutex_);
  return statuses_;
}

std::map<std::string, int64_t> Traffic::variants() {
  std::lock_guard lock(mutex_);
  return variants_;
}

rapidjson::Document wait_for_rollout_end(uint16_t port, int64_t id, int seconds) {
  rapidjson::Document doc;
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(seconds);
  HttpClient client(port);
  while (std::chrono::steady_clock::now() < until) {
    doc = client.get("/admin/v1/rollouts/" + std::to_string(id)).json();
    if (doc.IsObject() && std::string(doc["rollout"]["state"].GetString()) != "running") break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return doc;
}

int64_t variant_requests(uint16_t port, const std::string& variant, const std::string& environment) {
  const std::string text = HttpClient(port).get("/metrics").body;
  int64_t total = 0;
  for (const char* outcome : {"ok", "error"}) {
    const double v = sample(text, R"(seraph_variant_requests_total\{deployment="sentiment",environment=")" + environment +
                                      R"(",variant=")" + variant + R"(",model="[a-z]+",version="[0-9]+",outcome=")" + outcome + R"("\})");
    if (v > 0) total += static_cast<int64_t>(v);
  }
  return total;
}

}  // namespace seraph::test
