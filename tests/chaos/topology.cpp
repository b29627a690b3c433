#include "topology.h"

#include <signal.h>

#include <stdexcept>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include "child_process.h"
#include "e2e_env.h"
#include "http_client.h"

namespace seraph::chaos {
namespace {

// `text` with every ${NAME} replaced by its value; a placeholder left unfilled is an error.
std::string fill_template(std::string text, const std::vector<std::pair<std::string, std::string>>& values) {
  for (const auto& [name, value] : values) {
    const std::string placeholder = "${" + name + "}";
    for (size_t at = text.find(placeholder); at != std::string::npos; at = text.find(placeholder, at + value.size())) {
      text.replace(at, placeholder.size(), value);
    }
  }
  if (const size_t left = text.find("${"); left != std::string::npos) {
    throw std::runtime_error("config template: unfilled placeholder " + text.substr(left, text.find('}', left) - left + 1));
  }
  return text;
}

// The template `name` from `templates`, filled and written to a fresh directory (which also gets
// the process's registry).
std::filesystem::path write_filled(const std::filesystem::path& templates, const std::string& name,
                                   const std::vector<std::pair<std::string, std::string>>& values) {
  const auto path = test::make_temp_dir("seraph-chaos") / "seraph.yaml";
  test::write_file(path, fill_template(test::read_file(templates / name), values));
  return path;
}

}  // namespace

Topology::Topology(const std::filesystem::path& templates, const std::filesystem::path& repository) {
  backend_config_ = write_filled(templates, "backend.yaml", {{"REPOSITORY", repository.string()}});
  for (int b = 0; b < kBackends; ++b) {
    backend_ports_[b] = testing::free_port();
    start_backend(b);
  }
  gateway_ = std::make_unique<test::ServerProcess>(
      write_filled(templates, "gateway.yaml",
                   {{"REPOSITORY", repository.string()},
                    {"BACKEND_A_PORT", std::to_string(backend_ports_[0])},
                    {"BACKEND_B_PORT", std::to_string(backend_ports_[1])}}));
  if (!gateway_sees_all_healthy(std::chrono::seconds(30))) {
    throw std::runtime_error("the gateway's health checks never passed for both backends: " + gateway_->log());
  }
}

std::string Topology::backend_endpoint(int backend) const {
  return fmt::format("127.0.0.1:{}", backend_ports_.at(backend));
}

void Topology::start_backend(int backend) {
  backends_.at(backend) = std::make_unique<test::ServerProcess>(
      backend_config_, std::vector<std::pair<std::string, std::string>>{
                           {"SERAPH_SERVER_PORT", std::to_string(backend_ports_.at(backend))}});
}

void Topology::kill_backend(int backend) {
  if (backends_.at(backend)->stop(SIGKILL) != 128 + SIGKILL) {
    throw std::runtime_error(fmt::format("backend {} did not die of SIGKILL", backend_endpoint(backend)));
  }
}

void Topology::restart_backend(int backend) { start_backend(backend); }

void Topology::pause_backend(int backend) {
  testing::stop_child(backends_.at(backend)->pid(), std::chrono::steady_clock::now() + std::chrono::seconds(5));
}

void Topology::resume_backend(int backend) {
  if (::kill(backends_.at(backend)->pid(), SIGCONT) != 0) throw testing::system_error("SIGCONT");
}

void Topology::set_backend_fault(int backend, const std::string& fault_json) {
  test::Response r = test::HttpClient(backends_.at(backend)->port())
                         .request("PUT", "/admin/v1/deployments/sentiment/variants/baseline/fault", fault_json,
                                  {{"Content-Type", "application/json"}});
  if (r.status != 200) {
    throw std::runtime_error(fmt::format("setting the fault {} on backend {}: {} {}", fault_json,
                                         backend_endpoint(backend), r.status, r.body));
  }
}

bool Topology::gateway_sees_all_healthy(std::chrono::seconds timeout) {
  return test::eventually(
      [&] {
        for (int b = 0; b < kBackends; ++b) {
          const std::string series =
              fmt::format(R"(seraph_backend_endpoint_healthy\{{backend="pool",endpoint="{}"\}})", backend_endpoint(b));
          if (test::metric(gateway_->port(), series) != 1) return false;
        }
        return true;
      },
      static_cast<int>(timeout.count()));
}

}  // namespace seraph::chaos
