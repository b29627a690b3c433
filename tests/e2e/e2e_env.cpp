#include "e2e_env.h"

#include <memory>

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

}  // namespace seraph::test
