#include "models/remote/remote_backend.h"

#include <algorithm>

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <boost/asio/post.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/write.hpp>

#include "models/input_validation.h"
#include "models/remote/v2_metadata.h"
#include "resilience/circuit_breakers.h"
#include "wire/v2_infer.h"

namespace seraph {

namespace beast = boost::beast;
namespace http = boost::beast::http;

namespace {

std::string model_path(const std::string& model, int64_t version) {
  return version > 0 ? fmt::format("/v2/models/{}/versions/{}", model, version) : fmt::format("/v2/models/{}", model);
}

// A remote answer's status as ours: 4xx pass through with their meaning, 5xx as the nearest of ours.
StatusCode code_of_remote(unsigned status) {
  switch (status) {
    case 401: return StatusCode::kUnauthenticated;
    case 403: return StatusCode::kPermissionDenied;
    case 404: return StatusCode::kNotFound;
    case 405: return StatusCode::kMethodNotAllowed;
    case 409: return StatusCode::kConflict;
    case 413: return StatusCode::kPayloadTooLarge;
    case 415: return StatusCode::kUnsupportedMediaType;
    case 429: return StatusCode::kResourceExhausted;
    case 503: return StatusCode::kUnavailable;
    case 504: return StatusCode::kDeadlineExceeded;
    default: return status < 500 ? StatusCode::kInvalidArgument : StatusCode::kInternal;
  }
}

Status too_late(const std::string& backend) {
  return {StatusCode::kDeadlineExceeded,
          fmt::format("backend '{}' did not answer before the request's deadline", backend)};
}

// Beast 1.74 takes Boost's string_view.
beast::string_view beast_view(std::string_view s) { return {s.data(), s.size()}; }

std::string_view std_view(beast::string_view s) { return {s.data(), s.size()}; }

bool connection_gone(beast::error_code ec) {
  return ec == http::error::end_of_stream || ec == boost::asio::error::eof ||
         ec == boost::asio::error::connection_reset || ec == boost::asio::error::broken_pipe;
}

}  // namespace

// --- RemoteModel -----------------------------------------------------------------------------------

RemoteModel::RemoteModel(RemoteBackend& backend, std::string model, int64_t version)
    : backend_(backend), model_(std::move(model)), version_(version), path_(model_path(model_, version_)) {}

void RemoteModel::execute(std::shared_ptr<const InferRequest> request, TimePoint deadline, Done done) {
  backend_.call(*this, std::move(request), deadline, std::move(done));
}

BackendResilience* RemoteModel::resilience() { return &backend_.resilience(); }
const std::string& RemoteModel::backend_name() const { return backend_.name(); }

std::shared_ptr<const ModelConfig> RemoteModel::contract() const {
  std::lock_guard lock(mutex_);
  return contract_;
}

void RemoteModel::set_contract(std::shared_ptr<const ModelConfig> contract) {
  std::lock_guard lock(mutex_);
  contract_ = std::move(contract);
}

// --- RemoteBackend ---------------------------------------------------------------------------------

struct RemoteBackend::Call {
  std::shared_ptr<const InferRequest> request;
  RemoteModel* model = nullptr;  // lives as long as the backend
  std::shared_ptr<const ModelConfig> contract;
  InferRequest sent;   // what goes downstream (see start_call)
  std::string target;  // ".../infer"
  TimePoint start;
  TimePoint deadline;
  Backend::Done done;
  RenderedBody body;
  size_t endpoint = BackendMetrics::kNone;
  CircuitBreaker::Permit permit;  // the endpoint's breaker's, while the call is on it
  TimePoint sent_at;              // when the endpoint took the call: the breaker's measure of slowness
  std::shared_ptr<HttpConnection> connection;
  http::request<http::string_body> http_request;
  std::unique_ptr<http::response_parser<http::string_body>> parser;
  std::unique_ptr<boost::asio::steady_timer> wait_timer;  // while waiting for a connection
  bool retried = false;       // a reused connection the server had closed is retried once on a new one
  bool sent_as_json = false;  // a server that refused binary tensor data (415) got the call again as JSON
  bool answered = false;
};

RemoteBackend::RemoteBackend(RemoteBackendConfig config, BackendMetricFamilies& families, CircuitBreakers* breakers)
    : config_(std::move(config)),
      metrics_(families, config_.name, config_.endpoints),
      resilience_(config_.name, true),
      pending_(config_.max_pending),
      work_(io_.get_executor()),
      outliers_(config_.outlier, config_.endpoints.size()),
      health_timer_(io_) {
  for (const std::string& address : config_.endpoints) {
    const std::string breaker_name = fmt::format("backend:{}:{}", config_.name, address);
    CircuitBreaker* breaker = breakers ? &breakers->get(breaker_name, config_.circuit_breaker) : nullptr;
    endpoints_.push_back(
        {address, EndpointPool(config_.max_connections), EndpointHealth(config_.health_check), breaker});
  }
}

RemoteBackend::~RemoteBackend() { stop(); }

void RemoteBackend::start() {
  boost::asio::post(io_, [this] { check_health(); });
  thread_ = std::thread([this] { io_.run(); });
}

void RemoteBackend::stop() {
  if (!thread_.joinable()) return;
  boost::asio::post(io_, [this] {
    stopping_ = true;
    health_timer_.cancel();
    for (auto& call : std::exchange(waiting_, {}))
      finish(*call, unavailable(fmt::format("backend '{}' is shutting down", name())), {}, CallOutcome::kNoEndpoint);
    work_.reset();
  });
  // Calls in flight end as their sockets close with the context.
  thread_.join();
  io_.stop();
}

std::shared_ptr<RemoteModel> RemoteBackend::model(const std::string& model, int64_t version) {
  {
    std::shared_lock lock(models_mutex_);
    if (auto it = models_.find(std::pair(model, version)); it != models_.end()) return it->second;
  }
  std::shared_ptr<RemoteModel> added;
  {
    std::unique_lock lock(models_mutex_);
    auto& slot = models_[std::pair(model, version)];
    if (slot) return slot;
    slot = added = std::make_shared<RemoteModel>(*this, model, version);
  }
  // Its contract from the first healthy endpoint; later health ticks retry until one answers.
  boost::asio::post(io_, [this] {
    for (size_t e = 0; e < endpoints_.size(); ++e) {
      if (endpoints_[e].health.healthy()) return fetch_metadata(e);
    }
  });
  return added;
}

void RemoteBackend::call(RemoteModel& model, std::shared_ptr<const InferRequest> request, TimePoint deadline,
                         Backend::Done done) {
  const TimePoint start = Clock::now();
  if (!pending_.try_admit()) {
    metrics_.record(BackendMetrics::kNone, CallOutcome::kOverloaded, 0);
    return done(
        unavailable(fmt::format("backend '{}' is at its bound of {} pending requests (max_pending); retry shortly",
                                name(), pending_.max())),
        {});
  }
  metrics_.pending().add(1);
  auto c = std::make_shared<Call>();
  c->request = std::move(request);
  c->model = &model;
  c->contract = model.contract();
  c->target = model.path() + "/infer";
  c->start = start;
  c->deadline = std::min(deadline, start + std::chrono::milliseconds(config_.request_timeout_ms));
  c->done = std::move(done);
  boost::asio::post(io_, [this, c = std::move(c)]() mutable { start_call(std::move(c)); });
}

void RemoteBackend::start_call(std::shared_ptr<Call> call) {
  const TimePoint now = Clock::now();
  if (now >= call->deadline) return finish(*call, too_late(name()), {}, CallOutcome::kTimeout);
  // The copy sent downstream: the remaining deadline as V2's `timeout` parameter (microseconds),
  // and /predict's positional input named after the remote model's input.
  InferRequest& sent = call->sent;
  sent = *call->request;
  if (sent.positional_inputs) {
    if (!call->contract) {
      // Not read yet (the variant is new): read it now, then start again.
      const size_t e = pick_usable();
      if (e == BackendMetrics::kNone) return finish(*call, no_endpoint(), {}, CallOutcome::kNoEndpoint);
      return read_contract(e, call->model, call->deadline, [this, call](Status s) {
        if (!s.is_ok()) return finish(*call, std::move(s), {}, CallOutcome::kNoEndpoint);
        call->contract = call->model->contract();
        start_call(call);
      });
    }
    std::shared_ptr<const InferRequest> checked = call->request;
    if (Status s = validate_request(*call->contract, checked); !s.is_ok()) {
      return finish(*call, std::move(s), {}, CallOutcome::kClientError);
    }
    sent.inputs[0].name = call->contract->inputs[0].name;
    sent.positional_inputs = false;
  }
  const auto remaining = std::chrono::duration_cast<std::chrono::microseconds>(call->deadline - now).count();
  std::erase_if(sent.parameters, [](const auto& p) { return p.first == "timeout"; });
  sent.parameters.emplace_back("timeout", int64_t{remaining});
  call->body = render_v2_infer_request(sent, {binary_, binary_});
  dispatch(std::move(call));
}

bool RemoteBackend::usable(size_t endpoint) {
  const Endpoint& ep = endpoints_[endpoint];
  const TimePoint now = Clock::now();
  return ep.health.healthy() && !outliers_.ejected(endpoint, now) && (!ep.breaker || ep.breaker->admits(now));
}

size_t RemoteBackend::pick_usable() {
  for (size_t i = 0; i < endpoints_.size(); ++i) {
    if (const size_t e = (next_endpoint_ + i) % endpoints_.size(); usable(e)) return e;
  }
  return BackendMetrics::kNone;
}

Status RemoteBackend::no_endpoint() const {
  const auto open = std::count_if(endpoints_.begin(), endpoints_.end(), [now = Clock::now()](const Endpoint& ep) {
    return ep.breaker && !ep.breaker->admits(now);
  });
  return unavailable(
      fmt::format("backend '{}' has no healthy endpoint (of {}; {} with an open circuit breaker); retry shortly",
                  name(), endpoints_.size(), open));
}

void RemoteBackend::dispatch(std::shared_ptr<Call> call) {
  // Round robin over the usable endpoints; the first with a free connection takes the call.
  bool any_usable = false;
  for (size_t i = 0; i < endpoints_.size(); ++i) {
    const size_t e = (next_endpoint_ + i) % endpoints_.size();
    if (!usable(e)) continue;
    any_usable = true;
    if (auto lease = endpoints_[e].pool.acquire(io_)) {
      next_endpoint_ = (e + 1) % endpoints_.size();
      return use(std::move(call), e, std::move(*lease));
    }
  }
  if (!any_usable) return finish(*call, no_endpoint(), {}, CallOutcome::kNoEndpoint);
  // Every connection is busy: wait for one, until the deadline (pending_ bounds the wait list).
  call->wait_timer = std::make_unique<boost::asio::steady_timer>(io_, call->deadline);
  call->wait_timer->async_wait([this, weak = std::weak_ptr<Call>(call)](beast::error_code ec) {
    auto c = weak.lock();
    if (ec || !c || c->answered) return;
    std::erase(waiting_, c);
    finish(*c, too_late(name()), {}, CallOutcome::kTimeout);
  });
  waiting_.push_back(std::move(call));
}

void RemoteBackend::use(std::shared_ptr<Call> call, size_t endpoint, EndpointPool::Lease lease) {
  if (call->endpoint != endpoint || !call->permit) {
    // A new endpoint for this call. usable() has just said its breaker admits, on this thread;
    // only a reset can change it meanwhile, and that admits all the more.
    call->endpoint = endpoint;
    if (CircuitBreaker* breaker = endpoints_[endpoint].breaker) call->permit = breaker->try_acquire(Clock::now());
    call->sent_at = Clock::now();
  }
  call->connection = std::move(lease.connection);
  metrics_.active_connections(endpoint).set(endpoints_[endpoint].pool.open());
  if (!lease.fresh) return send(std::move(call));
  const TimePoint connect_by =
      std::min(call->deadline, Clock::now() + std::chrono::milliseconds(config_.connect_timeout_ms));
  auto connection = call->connection;
  async_connect(connection, endpoints_[endpoint].address, connect_by, [this, call](Status status) {
    if (status.is_ok()) return send(call);
    release(call->endpoint, std::move(call->connection), false);
    if (Clock::now() >= call->deadline) return finish(*call, too_late(name()), {}, CallOutcome::kTimeout);
    endpoint_failed(call->endpoint);
    finish(*call,
           unavailable(fmt::format("backend '{}': {}", name(), status.message()))
               .with_cause(FailureCause::kConnectFailure),
           {}, CallOutcome::kConnectFailure);
  });
}

void RemoteBackend::send(std::shared_ptr<Call> call) {
  auto& r = call->http_request;
  r = {};
  r.method(http::verb::post);
  r.target(call->target);
  r.version(11);
  r.set(http::field::host, endpoints_[call->endpoint].address);
  r.keep_alive(true);
  const auto remaining_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(call->deadline - Clock::now()).count();
  r.set("X-Request-Timeout-Ms", std::to_string(std::max<int64_t>(1, remaining_ms)));
  if (call->body.binary) {
    r.set(http::field::content_type, beast_view(kBinaryTensorContentType));
    r.set(beast_view(kInferenceHeaderContentLength), std::to_string(call->body.json_header_length));
  } else {
    r.set(http::field::content_type, "application/json");
  }
  r.body() = call->body.body;
  r.prepare_payload();
  call->connection->stream.expires_at(call->deadline);
  http::async_write(call->connection->stream, r, [this, call](beast::error_code ec, size_t) {
    if (ec) return on_response(call, ec);
    call->parser = std::make_unique<http::response_parser<http::string_body>>();
    call->parser->body_limit(uint64_t{1} << 30);
    http::async_read(call->connection->stream, call->connection->buffer, *call->parser,
                     [this, call](beast::error_code ec, size_t) { on_response(call, ec); });
  });
}

void RemoteBackend::on_response(std::shared_ptr<Call> call, beast::error_code ec) {
  const size_t e = call->endpoint;
  const std::string& address = endpoints_[e].address;
  if (ec) {
    if (call->connection->reused && connection_gone(ec) && !call->retried) {
      // The server closed the idle connection (its keep-alive timeout, a restart), and likely the
      // other idle ones too: once more on a new connection, which takes the closed one's slot.
      call->retried = true;
      endpoints_[e].pool.release(std::move(call->connection), false);
      endpoints_[e].pool.close_idle();
      return use(std::move(call), e, std::move(*endpoints_[e].pool.acquire(io_)));
    }
    release(e, std::move(call->connection), false);
    if (ec == beast::error::timeout) return finish(*call, too_late(name()), {}, CallOutcome::kTimeout);
    endpoint_failed(e);
    return finish(*call,
                  unavailable(fmt::format("backend '{}': the call to {} failed: {}", name(), address, ec.message()))
                      .with_cause(FailureCause::kReset),
                  {}, CallOutcome::kConnectFailure);
  }
  auto& response = call->parser->get();
  release(e, std::move(call->connection), call->parser->keep_alive());
  const unsigned status = response.result_int();
  if (status >= 500) {
    endpoint_failed(e);
    return finish(*call,
                  Status(code_of_remote(status), fmt::format("backend '{}' ({}) answered {}: {}", name(), address,
                                                             status, v2_error_message(response.body())))
                      .with_cause(status == 502 ? FailureCause::kBadGateway : FailureCause::kNone),
                  {}, CallOutcome::kServerError);
  }
  outliers_.record_success(e);
  if (status == 415 && call->body.binary && !call->sent_as_json) {
    settle(*call, false);
    // It listed binary_tensor_data but refuses it: JSON from now on, this call included.
    spdlog::warn(R"({{"msg":"backend refuses binary tensor data; sending JSON","backend":"{}","endpoint":"{}"}})",
                 name(), address);
    binary_ = false;
    call->sent_as_json = true;
    call->body = render_v2_infer_request(call->sent, {false, false});
    return dispatch(std::move(call));
  }
  if (status != 200) {
    return finish(*call, Status(code_of_remote(status), v2_error_message(response.body())), {},
                  CallOutcome::kClientError);
  }
  std::optional<size_t> header_length;
  InferResponse answer;
  Status parsed =
      parse_json_header_length(std_view(response[beast_view(kInferenceHeaderContentLength)]), header_length);
  if (parsed.is_ok()) parsed = parse_v2_infer_response(response.body(), header_length, answer);
  if (!parsed.is_ok()) {
    return finish(*call,
                  internal_error(fmt::format("backend '{}' ({}) answered a body we cannot read: {}", name(), address,
                                             parsed.message())),
                  {}, CallOutcome::kServerError);
  }
  finish(*call, {}, std::move(answer), CallOutcome::kSuccess);
}

void RemoteBackend::release(size_t endpoint, std::shared_ptr<HttpConnection> connection, bool reusable) {
  Endpoint& ep = endpoints_[endpoint];
  ep.pool.release(std::move(connection), reusable && usable(endpoint));
  metrics_.active_connections(endpoint).set(ep.pool.open());
  // A connection is free (or a slot to open one): the longest-waiting call takes it.
  while (!waiting_.empty()) {
    auto next = std::move(waiting_.front());
    waiting_.pop_front();
    if (next->answered) continue;
    next->wait_timer->cancel();
    return dispatch(std::move(next));
  }
}

void RemoteBackend::endpoint_failed(size_t endpoint) {
  if (!outliers_.record_failure(endpoint, Clock::now())) return;
  metrics_.ejections(endpoint).add();
  endpoints_[endpoint].pool.close_idle();
  metrics_.active_connections(endpoint).set(endpoints_[endpoint].pool.open());
  spdlog::warn(R"({{"msg":"backend endpoint ejected","backend":"{}","endpoint":"{}","times":{}}})", name(),
               endpoints_[endpoint].address, outliers_.times_ejected(endpoint));
}

void RemoteBackend::finish(Call& call, Status status, InferResponse response, CallOutcome outcome) {
  if (call.answered) return;
  call.answered = true;
  if (call.wait_timer) call.wait_timer->cancel();
  metrics_.record(call.endpoint, outcome, elapsed_ms(call.start) / 1000.0);
  settle(call, outcome == CallOutcome::kServerError || outcome == CallOutcome::kConnectFailure ||
                   outcome == CallOutcome::kTimeout);
  pending_.release();
  metrics_.pending().add(-1);
  call.done(std::move(status), std::move(response));
}

void RemoteBackend::settle(Call& call, bool failed) {
  if (!call.permit) return;
  const TimePoint now = Clock::now();
  endpoints_[call.endpoint].breaker->record(call.permit, now, now - call.sent_at, failed);
  call.permit = {};
}

// --- health --------------------------------------------------------------------------------------

void RemoteBackend::check_health() {
  const TimePoint by = Clock::now() + std::chrono::milliseconds(config_.health_check.timeout_ms);
  for (size_t e = 0; e < endpoints_.size(); ++e) {
    Endpoint& ep = endpoints_[e];
    if (ep.checking) continue;  // the last check is still out: it counts when it ends
    ep.checking = true;
    async_get(io_, ep.address, config_.health_check.path, by, [this, e](Status s, RemoteResponse r) {
      endpoints_[e].checking = false;
      on_health(e, s.is_ok() && r.result_int() == 200);
    });
  }
  health_timer_.expires_after(std::chrono::milliseconds(config_.health_check.interval_ms));
  health_timer_.async_wait([this](beast::error_code ec) {
    if (!ec && !stopping_) check_health();
  });
}

void RemoteBackend::on_health(size_t endpoint, bool passed) {
  Endpoint& ep = endpoints_[endpoint];
  const bool changed = ep.health.record(passed);
  metrics_.healthy(endpoint).set(ep.health.healthy() ? 1 : 0);
  if (changed) {
    spdlog::info(R"({{"msg":"backend endpoint health","backend":"{}","endpoint":"{}","healthy":{}}})", name(),
                 ep.address, ep.health.healthy());
  }
  if (!ep.health.healthy()) {
    ep.pool.close_idle();
    metrics_.active_connections(endpoint).set(ep.pool.open());
    return;
  }
  if (changed) fetch_metadata(endpoint);
}

void RemoteBackend::fetch_metadata(size_t endpoint) {
  const std::string& address = endpoints_[endpoint].address;
  const TimePoint by = Clock::now() + std::chrono::milliseconds(config_.health_check.timeout_ms);
  async_get(io_, address, "/v2", by, [this](Status s, RemoteResponse r) {
    std::vector<std::string> extensions;
    if (!s.is_ok() || r.result_int() != 200 || !parse_v2_server_extensions(r.body(), extensions).is_ok()) return;
    binary_ = std::find(extensions.begin(), extensions.end(), "binary_tensor_data") != extensions.end();
  });
  std::vector<std::shared_ptr<RemoteModel>> models;
  {
    std::shared_lock lock(models_mutex_);
    for (const auto& [key, m] : models_) models.push_back(m);
  }
  for (auto& m : models) {
    read_contract(endpoint, m.get(), by, [this, m, address](Status s) {
      if (s.is_ok()) return;
      spdlog::warn(
          R"({{"msg":"cannot read remote model metadata","backend":"{}","endpoint":"{}","model":"{}","error":"{}"}})",
          name(), address, m->path(), s.message());
    });
  }
}

void RemoteBackend::read_contract(size_t endpoint, RemoteModel* model, TimePoint by, std::function<void(Status)> done) {
  async_get(io_, endpoints_[endpoint].address, model->path(), by,
            [this, model, done = std::move(done)](Status s, RemoteResponse r) {
              auto contract = std::make_shared<ModelConfig>();
              if (s.is_ok() && r.result_int() == 200) {
                s = parse_v2_model_metadata(r.body(), *contract);
              } else if (s.is_ok()) {
                s = Status(code_of_remote(r.result_int()), v2_error_message(r.body()));
              }
              if (!s.is_ok()) {
                return done(Status(s.code(), fmt::format("backend '{}' cannot tell the inputs of {}: {}", name(),
                                                         model->path(), s.message())));
              }
              model->set_contract(std::move(contract));
              done({});
            });
}

// --- BackendDirectory ------------------------------------------------------------------------------

std::vector<std::string> BackendDirectory::names() const {
  std::vector<std::string> names;
  for (const auto& [name, b] : backends_) names.push_back(name);
  return names;
}

void BackendDirectory::start() {
  for (auto& [name, b] : backends_) b->start();
}

void BackendDirectory::stop() {
  for (auto& [name, b] : backends_) b->stop();
}

}  // namespace seraph
