#pragma once
// A remote model server that speaks KServe V2 over REST, as a Backend: requests go over pooled
// keep-alive HTTP/1.1 connections to its healthy, non-ejected endpoints in turn, leaving out those
// whose circuit breaker ("backend:<name>:<host:port>") is open: failing ones, and slow ones too,
// which outlier ejection cannot see. The backend runs
// its own I/O thread, so its sockets never touch the server's; every call is bounded (connections
// per endpoint, requests pending, the request's deadline) and answered exactly once.
#include <utility>  // before Asio: GCC 12 + C++20 needs std::exchange declared first

#include <deque>
#include <map>
#include <memory>
#include <shared_mutex>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include "models/backend.h"
#include "models/model_config.h"
#include "models/remote/backend_metrics.h"
#include "models/remote/connection_pool.h"
#include "models/remote/endpoint_health.h"
#include "models/remote/outlier_detector.h"
#include "models/remote/remote_config.h"
#include "resilience/backend_resilience.h"
#include "resilience/circuit_breaker.h"

namespace seraph {

class CircuitBreakers;
class RemoteBackend;

// One model on a remote backend, as a variant names it: where its requests go, and its tensor
// contract once the backend has read the model's metadata.
class RemoteModel final : public Backend {
 public:
  RemoteModel(RemoteBackend& backend, std::string model, int64_t version);
  void execute(std::shared_ptr<const InferRequest> request, TimePoint deadline, Done done) override;
  // The backend's: every model on it shares one retry budget.
  BackendResilience* resilience() override;

  // Null until an endpoint has answered the model's metadata.
  std::shared_ptr<const ModelConfig> contract() const;
  void set_contract(std::shared_ptr<const ModelConfig> contract);
  const std::string& model() const { return model_; }
  int64_t version() const { return version_; }
  // The name of the backend it is on.
  const std::string& backend_name() const;
  // "/v2/models/{model}[/versions/{version}]"
  const std::string& path() const { return path_; }

 private:
  RemoteBackend& backend_;
  const std::string model_;
  const int64_t version_;
  const std::string path_;
  mutable std::mutex mutex_;
  std::shared_ptr<const ModelConfig> contract_;
};

class RemoteBackend {
 public:
  // `breakers`: where the endpoints' circuit breakers live; null: none.
  RemoteBackend(RemoteBackendConfig config, BackendMetricFamilies& families, CircuitBreakers* breakers = nullptr);
  ~RemoteBackend();
  RemoteBackend(const RemoteBackend&) = delete;
  RemoteBackend& operator=(const RemoteBackend&) = delete;

  // Starts the backend's thread and its health checks.
  void start();
  // Answers calls still waiting with 503 and stops the thread.
  void stop();

  const std::string& name() const { return config_.name; }
  const RemoteBackendConfig& config() const { return config_; }
  BackendResilience& resilience() { return resilience_; }
  // The model `model` (version `version`, 0: the server's default) on this backend; the same object
  // for the same name and version. It lives as long as the backend.
  std::shared_ptr<RemoteModel> model(const std::string& model, int64_t version);

  // Sends `request` to `model` and answers through `done` (see Backend::execute).
  void call(RemoteModel& model, std::shared_ptr<const InferRequest> request, TimePoint deadline, Backend::Done done);

 private:
  struct Call;
  struct Endpoint {
    std::string address;
    EndpointPool pool;
    EndpointHealth health;
    CircuitBreaker* breaker = nullptr;  // lives as long as the directory; null: none
    bool checking = false;
  };

  void start_call(std::shared_ptr<Call> call);
  void dispatch(std::shared_ptr<Call> call);
  void use(std::shared_ptr<Call> call, size_t endpoint, EndpointPool::Lease lease);
  void send(std::shared_ptr<Call> call);
  void on_response(std::shared_ptr<Call> call, boost::beast::error_code ec);
  void release(size_t endpoint, std::shared_ptr<HttpConnection> connection, bool reusable);
  void endpoint_failed(size_t endpoint);
  void finish(Call& call, Status status, InferResponse response, CallOutcome outcome);
  // Tells the endpoint's circuit breaker how the call went, once per endpoint the call used.
  void settle(Call& call, bool failed);
  bool usable(size_t endpoint);
  size_t pick_usable();  // BackendMetrics::kNone when no endpoint is usable
  Status no_endpoint() const;
  // Reads `model`'s metadata from `endpoint` and sets its contract.
  void read_contract(size_t endpoint, RemoteModel* model, TimePoint by, std::function<void(Status)> done);
  void check_health();
  void on_health(size_t endpoint, bool passed);
  void fetch_metadata(size_t endpoint);

  const RemoteBackendConfig config_;
  BackendMetrics metrics_;
  BackendResilience resilience_;
  PendingBound pending_;
  boost::asio::io_context io_;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work_;
  std::thread thread_;
  // Everything below is used on the backend's thread only.
  std::vector<Endpoint> endpoints_;
  OutlierDetector outliers_;
  size_t next_endpoint_ = 0;
  std::deque<std::shared_ptr<Call>> waiting_;  // for a connection; bounded by max_pending
  boost::asio::steady_timer health_timer_;
  bool stopping_ = false;
  bool binary_ = false;  // the server lists binary_tensor_data among its extensions
  // Models by (name, version); read on I/O threads, written when a variant first names one.
  mutable std::shared_mutex models_mutex_;
  std::map<std::pair<std::string, int64_t>, std::shared_ptr<RemoteModel>, std::less<>> models_;
};

// The configured remote backends by name, for the route guard.
class BackendDirectory {
 public:
  void add(std::shared_ptr<RemoteBackend> backend) {
    const std::string name = backend->name();
    backends_[name] = std::move(backend);
  }
  RemoteBackend* find(std::string_view name) const {
    auto it = backends_.find(name);
    return it == backends_.end() ? nullptr : it->second.get();
  }
  std::vector<std::string> names() const;
  void start();
  void stop();

 private:
  std::map<std::string, std::shared_ptr<RemoteBackend>, std::less<>> backends_;
};

}  // namespace seraph
