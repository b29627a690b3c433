#include "e2e_env.h"

#include <algorithm>
#include <cstdio>
#include <memory>
#include <regex>
#include <thread>

#include "typed_models.h"

namespace seraph::test {

std::filesystem::path demo_models() { return SERAPH_TEST_MODELS; }

const std::filesystem::path& shared_repository() {
  static const std::filesystem::path repository = [] {
    auto repo = make_temp_dir("seraph-repo");
    std::filesystem::copy(demo_models(), repo, std::filesystem::copy_options::recursive);
    write_typed_models(repo);
    write_slow_model(repo);
    return repo;
  }();
  return repository;
}

std::filesystem::path write_config(const std::filesystem::path& repository, const std::string& extra_yaml) {
  auto dir = make_temp_dir("seraph-config");
  write_file(dir / "seraph.yaml", "server:\n  host: 127.0.0.1\n  port: 0\nmodels:\n  repository: " + repository.string() +
                                      "\n  default_model: sentiment\n" + extra_yaml);
  return dir / "seraph.yaml";
}

ServerProcess& shared_server() {
  static std::unique_ptr<ServerProcess> server =
      std::make_unique<ServerProcess>(write_config(shared_repository()));
  return *server;
}

double metric(uint16_t port, const std::string& series) { return sample(HttpClient(port).get("/metrics").body, series); }

double sample(const std::string& text, const std::string& series) {
  std::smatch m;
  if (!std::regex_search(text, m, std::regex("\n" + series + " ([0-9.e+-]+)"))) return -1;
  return std::stod(m[1]);
}

std::string promtool_findings(const std::string& text) {
  auto dir = make_temp_dir("seraph-metrics");
  write_file(dir / "metrics.txt", text);
  const std::string command = "promtool check metrics < " + (dir / "metrics.txt").string() + " 2>&1";
  FILE* pipe = popen(command.c_str(), "r");
  if (!pipe) return "cannot run promtool";
  std::string output;
  char buf[512];
  while (fgets(buf, sizeof buf, pipe)) output += buf;
  if (pclose(pipe) != 0 && output.empty()) output = "promtool failed";
  return output;
}

bool eventually(const std::function<bool()>& predicate, int seconds) {
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(seconds);
  while (std::chrono::steady_clock::now() < until) {
    if (predicate()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return false;
}

std::string slow_request(int rounds) {
  return R"({"inputs":[{"name":"x","shape":[1,1],"datatype":"FP32","data":[)" + std::to_string(rounds) + "]}]}";
}

int slow_rounds_for(uint16_t port, std::chrono::milliseconds target,
                    const std::vector<std::pair<std::string, std::string>>& headers) {
  constexpr int kProbe = 20;
  HttpClient client(port);
  // A model's first call pays one-off costs; timed, it would overstate a round and shorten the work.
  client.post("/v2/models/slow/infer", slow_request(kProbe), headers);
  const auto start = std::chrono::steady_clock::now();
  client.post("/v2/models/slow/infer", slow_request(kProbe), headers);
  const double per_round_ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count() / kProbe;
  return std::max(kProbe, static_cast<int>(static_cast<double>(target.count()) / std::max(per_round_ms, 0.01)));
}

}  // namespace seraph::test
