#pragma once
// The suite's processes, all on 127.0.0.1: two backend seraphs serving the demo sentiment model
// (backend.yaml) and the gateway seraph in front of them (gateway.yaml), whose deployment
// `sentiment` is served by the remote backend `pool` with one endpoint per backend.
#include <array>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>

#include "server_process.h"

namespace seraph::chaos {

class Topology {
 public:
  static constexpr int kBackends = 2;

  // `templates` holds gateway.yaml and backend.yaml; `repository` the models they serve. Returns
  // once every process is ready and the gateway's health checks pass for both backends.
  Topology(const std::filesystem::path& templates, const std::filesystem::path& repository);

  uint16_t gateway_port() const { return gateway_->port(); }
  std::string backend_endpoint(int backend) const;

  void kill_backend(int backend);     // SIGKILL; returns once it has exited
  void restart_backend(int backend);  // on its port; returns once it is ready
  void pause_backend(int backend);    // SIGSTOP
  void resume_backend(int backend);   // SIGCONT
  // The backend's own fault for its deployment's variant, e.g. {"delay_ms":500,"delay_percent":100};
  // "{}" clears it.
  void set_backend_fault(int backend, const std::string& fault_json);

  // Whether the gateway's health checks pass for every backend within `timeout`.
  bool gateway_sees_all_healthy(std::chrono::seconds timeout);

 private:
  void start_backend(int backend);

  std::filesystem::path backend_config_;
  std::array<uint16_t, kBackends> backend_ports_{};
  std::array<std::unique_ptr<test::ServerProcess>, kBackends> backends_;
  std::unique_ptr<test::ServerProcess> gateway_;
};

}  // namespace seraph::chaos
