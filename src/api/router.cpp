#include "api/router.h"

#include <algorithm>
#include <cmath>
#include <optional>

#include <fmt/format.h>

#include "api/json_writer.h"
#include "api/predict_adapter.h"
#include "api/url.h"
#include "api/v2_adapter.h"
#include "control/answer_comparison.h"
#include "core/clock.h"
#include "guards/guard_table.h"
#include "guards/route_guard.h"
#include "models/input_validation.h"
#include "wire/content_encoding.h"
#include "wire/v2_infer.h"

namespace seraph {

// One HTTP request while it is being answered: the exchange the guards see, plus what the API
// layer needs to answer it.
struct ApiRouter::Call final : Exchange {
  Call(std::shared_ptr<ExchangeLoop> loop, std::shared_ptr<Responder> responder)
      : Exchange(std::move(loop), Clock::now()), responder(std::move(responder)) {}

  std::shared_ptr<Responder> responder;
  Method http_method = Method::kOther;
  RouteTable<Route>::Found route;
  RouteMatch match;
  std::string_view body;  // valid until answered (HttpRequest), or decoded_body
  std::string decoded_body;  // a body sent with Content-Encoding, inflated
  InferApi api = InferApi::kV2;
  V2ResponseOptions v2_options;  // which outputs the V2 client wants in binary
  bool many = false;
  bool has_answer = false;
  double latency_ms = -1;  // once the answer body states it, the metrics and the log use the same figure
  HttpResponse answer;
};

namespace {

ApiRouter::Call& call_of(Exchange& exchange) { return static_cast<ApiRouter::Call&>(exchange); }

// `expected`, with or without parameters, in any case; a missing Content-Type is taken as JSON.
bool is_content_type(std::string_view type, std::string_view expected) {
  if (type.empty()) return true;
  if (type.size() < expected.size() || !equals_ignoring_case(type.substr(0, expected.size()), expected)) return false;
  return type.size() == expected.size() || type[expected.size()] == ';' || type[expected.size()] == ' ';
}

bool is_json_content_type(std::string_view type) { return is_content_type(type, "application/json"); }

std::string render_models(const ModelManager::Table& table) {
  rapidjson::StringBuffer buffer;
  JsonWriter w(buffer);
  w.StartObject();
  write_key(w, "models");
  w.StartArray();
  for (const auto& [name, entry] : table) {
    w.StartObject();
    write_key(w, "name");
    write_string(w, name);
    write_key(w, "versions");
    w.StartArray();
    for (const auto& v : entry.versions) {
      w.StartObject();
      write_key(w, "version");
      w.Int64(v->version());
      write_key(w, "state");
      write_string(w, state_name(v->state()));
      if (std::string reason = v->reason(); !reason.empty()) {
        write_key(w, "reason");
        write_string(w, reason);
      }
      if (v->state() == ModelState::kReady) {
        write_key(w, "runtime");
        write_string(w, v->config().runtime);
        write_key(w, "load_ms");
        write_double(w, std::round(v->load_seconds() * 1e6) / 1e3);
        write_key(w, "bytes");
        w.Int64(v->footprint_bytes());
      }
      w.EndObject();
    }
    w.EndArray();
    w.EndObject();
  }
  w.EndArray();
  w.EndObject();
  return {buffer.GetString(), buffer.GetSize()};
}

// {"name": "m", "ready": true}, with the reason when not ready.
std::string model_ready_body(std::string_view model, bool ready, std::string_view reason) {
  rapidjson::StringBuffer buffer;
  JsonWriter w(buffer);
  w.StartObject();
  write_key(w, "name");
  write_string(w, model);
  write_key(w, "ready");
  w.Bool(ready);
  if (!ready) {
    write_key(w, "error");
    write_string(w, reason);
  }
  w.EndObject();
  return {buffer.GetString(), buffer.GetSize()};
}

}  // namespace

ApiRouter::ApiRouter(ModelManager& models, ControlPlane& control, MetricsRegistry& metrics,
                     std::vector<RequestObserver*> observers, ApiOptions options)
    : models_(models),
      control_(control),
      admin_(control, models, options.rate_limits, options.breakers,
             options.backend_faults),  // before options_ is: read the argument
      metrics_(metrics),
      observers_(std::move(observers)),
      options_(std::move(options)),
      endpoint_chain_(
          Stage::kEndpoint,
          build_guards(Stage::kEndpoint, {models, control.deployments(), metrics, options_.guards, control.api_keys(),
                                          options_.request_timeout, options_.backends, options_.jwt_keys,
                                          options_.redis, options_.rate_limits, options_.breakers,
                                          options_.backend_faults}),
          [this](Exchange& ex) { dispatch(call_of(ex)); }, [this](Exchange& ex) { finish(call_of(ex)); }),
      inference_chain_(
          Stage::kInference,
          build_guards(Stage::kInference, {models, control.deployments(), metrics, options_.guards, control.api_keys(),
                                           options_.request_timeout, options_.backends, options_.jwt_keys,
                                           options_.redis, options_.rate_limits, options_.breakers,
                                           options_.backend_faults}),
          [this](Exchange& ex) { execute(call_of(ex)); }, [this](Exchange& ex) { render_inference(call_of(ex)); }) {
  add_routes();
}

ApiRouter::~ApiRouter() = default;

void ApiRouter::add_routes() {
  auto& r = routes_;
  constexpr Role kAny = Role::kNone, kReader = Role::kReader, kPredictor = Role::kPredictor, kAdmin = Role::kAdmin;
  r.add(Method::kPost, "/predict", Handler::kPredict, kPredictor, &ApiRouter::predict);
  r.add(Method::kPost, "/predict/batch", Handler::kPredictBatch, kPredictor, &ApiRouter::predict_batch);
  r.add(Method::kGet, "/healthz", Handler::kHealth, kAny, &ApiRouter::healthz);
  r.add(Method::kGet, "/readyz", Handler::kHealth, kAny, &ApiRouter::readyz);
  r.add(Method::kGet, "/metrics", Handler::kMetrics, kReader, &ApiRouter::metrics);
  r.add(Method::kGet, "/models", Handler::kModels, kReader, &ApiRouter::models);
  for (Method m : {Method::kGet, Method::kPost, Method::kPut, Method::kDelete}) {
    r.add(m, "/admin/*", Handler::kAdmin, kAdmin, &ApiRouter::admin);
  }
  r.add(Method::kPost, "/feedback", Handler::kFeedback, kPredictor, &ApiRouter::feedback);
  // KServe V2: health, server metadata, model metadata and readiness, inference; Triton's
  // repository extension (its load and unload change what is served: admin).
  r.add(Method::kGet, "/v2", Handler::kV2Server, kReader, &ApiRouter::v2_server_metadata);
  r.add(Method::kGet, "/v2/health/live", Handler::kV2Health, kAny, &ApiRouter::v2_live);
  r.add(Method::kGet, "/v2/health/ready", Handler::kV2Health, kAny, &ApiRouter::v2_ready);
  r.add(Method::kPost, "/v2/repository/index", Handler::kV2Repository, kReader, &ApiRouter::repository_index);
  r.add(Method::kPost, "/v2/repository/models/{model}/load", Handler::kV2Repository, kAdmin, &ApiRouter::repository_load);
  r.add(Method::kPost, "/v2/repository/models/{model}/unload", Handler::kV2Repository, kAdmin,
        &ApiRouter::repository_unload);
  // Before the patterns below, which would take "stats" for a model's name.
  r.add(Method::kGet, "/v2/models/stats", Handler::kV2ModelStats, kReader, &ApiRouter::v2_model_stats);
  for (std::string_view model : {"/v2/models/{model}", "/v2/models/{model}/versions/{version}"}) {
    r.add(Method::kGet, model, Handler::kV2ModelMetadata, kReader, &ApiRouter::v2_model_metadata);
    r.add(Method::kGet, fmt::format("{}/ready", model), Handler::kV2ModelReady, kReader, &ApiRouter::v2_model_ready);
    r.add(Method::kPost, fmt::format("{}/infer", model), Handler::kV2Infer, kPredictor, &ApiRouter::v2_infer);
    r.add(Method::kGet, fmt::format("{}/config", model), Handler::kV2ModelConfig, kReader, &ApiRouter::v2_model_config);
    r.add(Method::kGet, fmt::format("{}/stats", model), Handler::kV2ModelStats, kReader, &ApiRouter::v2_model_stats);
  }
}

bool ApiRouter::ready() const { return !draining_.load(std::memory_order_acquire) && models_.all_ready(); }

void ApiRouter::handle(Method method, std::string_view target, std::string_view body, HeaderMap headers,
                       std::string_view client_address, std::string_view client_certificate_subject,
                       std::shared_ptr<ExchangeLoop> loop, std::shared_ptr<Responder> responder) {
  auto call = std::make_shared<Call>(std::move(loop), std::move(responder));
  call->response_headers.reserve(6);  // request id, and what served: no regrowth on the way back
  call->http_method = method;
  call->method = method_name(method);
  const auto [path, query] = split_target(target);
  call->path = path;
  call->query = query;
  call->headers = std::move(headers);
  call->client_address = client_address;
  if (!client_certificate_subject.empty()) call->client_certificate_subject = client_certificate_subject;
  call->body = body;
  // The route is found first: the endpoint stage's guards check what it asks of the caller.
  call->route = routes_.find(method, call->path, call->match);
  call->handler = call->route.handler;
  call->required_role = call->route.role;
  endpoint_chain_.run(*call);
}

void ApiRouter::dispatch(Call& call) {
  const auto& found = call.route;
  const RouteMatch& match = call.match;
  if (found.target) {
    if (std::string_view encoding = call.headers.header("content-encoding"); !encoding.empty()) {
      if (Status s = decode_content(encoding, call.body, options_.max_body_bytes, call.decoded_body); !s.is_ok()) {
        return answer(call, error_response(s));
      }
      call.body = call.decoded_body;
    }
    return (this->*(*found.target))(call, match);
  }
  if (found.allow.empty()) return answer(call, error_response(404, fmt::format("no such endpoint: {}", call.path)));
  HttpResponse r = error_response(405, fmt::format("method {} is not allowed on {}; use {}", call.method, call.path, found.allow));
  r.headers.emplace_back("Allow", found.allow);
  answer(call, std::move(r));
}

void ApiRouter::answer(Call& call, HttpResponse response) {
  call.answer = std::move(response);
  call.has_answer = true;
  endpoint_chain_.complete(call);
}

void ApiRouter::finish(Call& call) {
  // An endpoint guard answered itself (a refusal): its status is the answer.
  if (!call.has_answer) call.answer = error_response(call.status);
  HttpResponse& response = call.answer;
  if (response.headers.empty()) {
    response.headers = std::move(call.response_headers);  // the common case: the guards' headers only
  } else {
    response.headers.reserve(response.headers.size() + call.response_headers.size());
    for (auto& h : call.response_headers) response.headers.push_back(std::move(h));
  }
  // A guard that knows better (an open circuit breaker) has set its own.
  if (response.status == 503 && std::none_of(response.headers.begin(), response.headers.end(),
                                             [](const auto& h) { return h.first == "Retry-After"; })) {
    response.headers.emplace_back("Retry-After", "1");
  }
  const double latency_ms = call.latency_ms >= 0 ? call.latency_ms : elapsed_ms(call.start);
  const TimePoint finished_at =
      call.start + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double, std::milli>(latency_ms));
  // A remote variant has no local version: its record names the model and version that served.
  const VariantRecord* remote = call.variant && !call.variant->record.backend.empty() ? &call.variant->record : nullptr;
  const FinishedRequest finished{call.request_id,
                                 call.method,
                                 call.path,
                                 call.handler,
                                 call.version   ? std::string_view(call.version->model())
                                 : remote       ? std::string_view(remote->model)
                                 : call.request ? std::string_view(call.request->model)
                                                : std::string_view(),
                                 call.version ? call.version->version()
                                 : remote     ? remote->version
                                              : 0,
                                 call.version ? &call.version->metrics() : nullptr,
                                 call.deployment ? std::string_view(call.deployment->name) : std::string_view(),
                                 call.deployment ? std::string_view(call.deployment->environment) : std::string_view(),
                                 call.variant ? std::string_view(call.variant->record.name) : std::string_view(),
                                 // A variant the fallback guard left has its failure in its stats already.
                                 call.variant && !call.fallback.variant_recorded ? call.variant->stats.get() : nullptr,
                                 response.status,
                                 latency_ms / 1000.0,
                                 finished_at};
  for (RequestObserver* observer : observers_) observer->on_finished(finished);
  call.responder->send(std::move(response));
  // The shadow is compared with the routed variant's answer: not with one a fallback gave instead.
  if (call.shadow && call.status.is_ok() && !call.cancelled() && !call.fallback.serving) run_shadow(call);
}

void ApiRouter::refuse_undecodable(Call& call, std::string_view model, Status problem) {
  if (!known_model(model)) problem = not_found(fmt::format("unknown model '{}'", model));
  answer(call, error_response(problem));
}

bool ApiRouter::known_model(std::string_view name) const {
  auto table = models_.snapshot();
  if (table->find(name) != table->end()) return true;
  auto deployments = control_.deployments().snapshot();
  for (const std::string& environment : control_.deployments().environments()) {
    if (deployments->find(environment, name)) return true;
  }
  return false;
}

// --- inference -------------------------------------------------------------------------------------

void ApiRouter::infer(Call& call, InferApi api, InferRequest request, bool many) {
  call.api = api;
  call.many = many;
  call.request = std::make_shared<const InferRequest>(std::move(request));
  inference_chain_.run(call);
}

void ApiRouter::execute(Call& call) {
  ModelMetrics* metrics = call.version ? &call.version->metrics() : nullptr;
  if (metrics) metrics->inflight().add(1);
  call.backend->execute(call.request, call.deadline, [this, ex = call.shared_from_this(), metrics](
                                                         Status status, InferResponse response) mutable {
    if (metrics) metrics->inflight().add(-1);
    ExchangeLoop& loop = *ex->loop;
    // Back on the connection's thread: at once when the model ran inline there.
    loop.dispatch([this, ex = std::move(ex), status = std::move(status), response = std::move(response)]() mutable {
      if (ex->cancelled()) return;  // the deadline answered: drop the late outcome
      ex->status = std::move(status);
      ex->response = std::move(response);
      inference_chain_.complete(*ex);
    });
  });
}

void ApiRouter::render_inference(Call& call) {
  if (!call.status.is_ok()) return answer(call, error_response(call.status));
  ServedBy served_by;
  if (call.deployment) {
    served_by = {call.deployment->name, call.deployment->environment, call.variant->record.name,
                 call.fallback.serving ? std::string_view(call.fallback.serving->label) : std::string_view()};
  }
  HttpResponse response;
  if (call.api == InferApi::kV2) {
    RenderedBody rendered = render_v2_infer_response(call.response, call.v2_options, served_by);
    response = json_response(200, std::move(rendered.body));
    if (rendered.binary) {
      response.content_type = kBinaryTensorContentType;
      response.headers.emplace_back(std::string(kInferenceHeaderContentLength), std::to_string(rendered.json_header_length));
    }
  } else {
    static const ModelConfig kUnknown;  // a remote model whose metadata has not arrived: no labels
    call.latency_ms = elapsed_ms(call.start);
    const ModelConfig* contract = serving_contract(call);
    response = json_response(200, render_predict_response(call.response, contract ? *contract : kUnknown,
                                                          {call.request_id, call.latency_ms, call.many, served_by}));
  }
  if (call.deployment && call.deployment->experiment_id != 0) {
    control_.experiments().record_assignment(call.request_id, call.deployment->experiment_id,
                                             call.variant->record.name, call.response);
  }
  answer(call, std::move(response));
}

void ApiRouter::run_shadow(const Call& call) {
  const LiveVariant& shadow = *call.shadow;
  Status status;
  std::shared_ptr<Backend> target = call.shadow_backend;  // a remote shadow checks its own contract
  std::shared_ptr<const InferRequest> request = call.request;
  if (!target) {
    auto version = models_.find(shadow.record.model, shadow.record.version, status);
    if (version) status = validate_request(version->config(), request);
    target = std::move(version);
  }
  if (!target || !status.is_ok()) return shadow.stats->record_shadow(true, false, 0);
  const TimePoint start = Clock::now();
  // The routing table keeps the shadow variant alive; the primary answer is what it compares with.
  target->execute(std::move(request), call.deadline,
                  [routing = call.routing, &shadow, primary = call.response, start](Status s, InferResponse response) {
                    shadow.stats->record(s.is_ok() ? 200 : http_status_of(s.code()), elapsed_ms(start));
                    if (!s.is_ok()) return shadow.stats->record_shadow(true, false, 0);
                    const AnswerComparison c = compare_answers(primary, response);
                    shadow.stats->record_shadow(!c.comparable, c.same_top_label, c.max_abs_difference);
                  });
}

void ApiRouter::to_control_plane(Call& call, std::function<HttpResponse()> handle) {
  auto ex = call.shared_from_this();
  auto job = [this, ex, handle = std::move(handle)] {
    HttpResponse response = handle();
    ex->loop->dispatch([this, ex, response = std::move(response)]() mutable { answer(call_of(*ex), std::move(response)); });
  };
  if (!control_.submit(std::move(job))) answer(call, error_response(503, "the control plane is busy; retry shortly"));
}

// --- handlers --------------------------------------------------------------------------------------

void ApiRouter::predict(Call& call, const RouteMatch&) {
  const bool batch = call.handler == Handler::kPredictBatch;
  std::string model = query_param(call.query, "model").value_or(options_.default_model);
  if (model.empty()) return answer(call, error_response(400, "name the model with ?model=NAME (no default model is configured)"));
  if (!is_json_content_type(call.headers.header("content-type"))) {
    return refuse_undecodable(call, model, {StatusCode::kUnsupportedMediaType, "Content-Type must be application/json"});
  }
  PredictRequest predict;
  if (Status s = batch ? parse_predict_batch_body(call.body, predict) : parse_predict_body(call.body, predict);
      !s.is_ok()) {
    return refuse_undecodable(call, model, std::move(s));
  }
  predict.request.model = std::move(model);
  if (auto v = query_param(call.query, "model_version")) {
    predict.request.version = parse_positive(*v);
    if (!predict.request.version) {
      return answer(call, error_response(400, fmt::format("model_version must be a positive integer, got '{}'", *v)));
    }
  }
  infer(call, batch ? InferApi::kPredictBatch : InferApi::kPredict, std::move(predict.request), predict.many);
}

void ApiRouter::predict_batch(Call& call, const RouteMatch& match) { predict(call, match); }

namespace {

// The {model} and optional {version} captures of a /v2/models/... route.
struct ModelPath {
  std::string_view model;
  std::optional<int64_t> version;
};

// A version that is not a positive integer names no version: 404.
Status model_path(const RouteMatch& match, ModelPath& path) {
  if (match.count > 0) path.model = match.captures[0];
  if (match.count > 1) {
    path.version = parse_positive(match.captures[1]);
    if (!path.version) return not_found(fmt::format("unknown version '{}' of model '{}'", match.captures[1], path.model));
  }
  return {};
}

}  // namespace

void ApiRouter::v2_infer(Call& call, const RouteMatch& match) {
  ModelPath path;
  if (Status s = model_path(match, path); !s.is_ok()) return answer(call, error_response(s));
  // JSON, or a JSON header followed by binary tensors (Triton's client sets no Content-Type).
  const std::string_view type = call.headers.header("content-type");
  if (!is_json_content_type(type) && !is_content_type(type, kBinaryTensorContentType)) {
    return refuse_undecodable(call, path.model, {StatusCode::kUnsupportedMediaType,
                                                 "Content-Type must be application/json or application/octet-stream"});
  }
  std::optional<size_t> json_length;
  if (Status s = parse_json_header_length(call.headers.header(kInferenceHeaderContentLength), json_length); !s.is_ok()) {
    return refuse_undecodable(call, path.model, std::move(s));
  }
  InferRequest request;
  request.model = path.model;
  request.version = path.version;
  if (Status s = parse_v2_infer_request(call.body, json_length, request, call.v2_options); !s.is_ok()) {
    return refuse_undecodable(call, path.model, std::move(s));
  }
  infer(call, InferApi::kV2, std::move(request), false);
}

void ApiRouter::v2_model_ready(Call& call, const RouteMatch& match) {
  ModelPath path;
  if (Status s = model_path(match, path); !s.is_ok()) return answer(call, error_response(s));
  Status status;
  auto found = models_.find(path.model, path.version, status);
  if (status.code() == StatusCode::kNotFound) return answer(call, error_response(status));
  // Ready means loaded: a lazy version that would load on request is not ready yet.
  const bool ready = found && found->state() == ModelState::kReady;
  if (found && !ready) status = unavailable(fmt::format("{} ({})", state_name(found->state()), found->reason()));
  answer(call, json_response(ready ? 200 : 400, model_ready_body(path.model, ready, status.message())));
}

void ApiRouter::v2_model_metadata(Call& call, const RouteMatch& match) {
  ModelPath path;
  if (Status s = model_path(match, path); !s.is_ok()) return answer(call, error_response(s));
  Status status;
  auto found = models_.find(path.model, path.version, status);
  if (!found) return answer(call, error_response(status));
  std::vector<int64_t> versions;
  auto table = models_.snapshot();
  if (auto it = table->find(path.model); it != table->end()) {
    for (const auto& v : it->second.versions) versions.push_back(v->version());
  }
  answer(call, json_response(200, render_v2_model_metadata(std::string(path.model), versions, found->config())));
}

// Triton's model configuration extension.
void ApiRouter::v2_model_config(Call& call, const RouteMatch& match) {
  ModelPath path;
  if (Status s = model_path(match, path); !s.is_ok()) return answer(call, error_response(s));
  Status status;
  auto found = models_.find(path.model, path.version, status);
  if (!found) return answer(call, error_response(status));
  answer(call, json_response(200, render_v2_model_config(std::string(path.model), found->config())));
}

// Triton's statistics extension: every version of every model, of one model, or one version.
void ApiRouter::v2_model_stats(Call& call, const RouteMatch& match) {
  ModelPath path;
  if (Status s = model_path(match, path); !s.is_ok()) return answer(call, error_response(s));
  auto table = models_.snapshot();
  std::vector<ModelStatsEntry> entries;
  for (const auto& [name, entry] : *table) {
    if (!path.model.empty() && name != path.model) continue;
    for (const auto& v : entry.versions) {
      if (path.version && v->version() != *path.version) continue;
      entries.push_back({name, v->version(), v->metrics().statistics()});
    }
  }
  if (!path.model.empty() && entries.empty()) {
    Status status;
    models_.find(path.model, path.version, status);
    return answer(call, error_response(status.is_ok() ? not_found(fmt::format("unknown model '{}'", path.model)) : status));
  }
  answer(call, json_response(200, render_v2_model_stats(entries)));
}

void ApiRouter::v2_server_metadata(Call& call, const RouteMatch&) {
  answer(call, json_response(200, render_v2_server_metadata()));
}

void ApiRouter::v2_live(Call& call, const RouteMatch&) { answer(call, json_response(200, R"({"live":true})")); }

void ApiRouter::v2_ready(Call& call, const RouteMatch&) {
  // The protocol's answer is the status code (200 true, 4xx false); the body carries the same
  // boolean, as in KServe's OpenAPI schema, for clients that read it.
  if (ready()) return answer(call, json_response(200, R"({"ready":true})"));
  answer(call, json_response(400, R"({"ready":false,"error":"server is not ready"})"));
}

// Triton's model repository extension: the index, and load and unload answered once done.
void ApiRouter::repository_index(Call& call, const RouteMatch&) {
  rapidjson::StringBuffer buffer;
  JsonWriter w(buffer);
  w.StartArray();
  for (const auto& [name, entry] : *models_.snapshot()) {
    for (const auto& v : entry.versions) {
      w.StartObject();
      write_key(w, "name");
      write_string(w, name);
      write_key(w, "version");
      write_string(w, std::to_string(v->version()));
      write_key(w, "state");
      write_string(w, state_name(v->state()));
      write_key(w, "reason");
      write_string(w, v->reason());
      w.EndObject();
    }
  }
  w.EndArray();
  answer(call, json_response(200, std::string(buffer.GetString(), buffer.GetSize())));
}

namespace {

// Answers a repository action on the connection's thread once the model manager is done.
template <class Answer>
std::function<void(Status)> answer_when_done(std::shared_ptr<Exchange> ex, Answer answer) {
  return [ex = std::move(ex), answer](Status status) {
    ex->loop->dispatch([ex, answer, status = std::move(status)] {
      answer(status.is_ok() ? json_response(200, "{}") : error_response(status));
    });
  };
}

}  // namespace

void ApiRouter::repository_load(Call& call, const RouteMatch& match) {
  auto ex = call.shared_from_this();
  models_.load_model(match.captures[0], answer_when_done(ex, [this, ex](HttpResponse r) { answer(call_of(*ex), std::move(r)); }));
}

void ApiRouter::repository_unload(Call& call, const RouteMatch& match) {
  auto ex = call.shared_from_this();
  models_.unload_model(match.captures[0], answer_when_done(ex, [this, ex](HttpResponse r) { answer(call_of(*ex), std::move(r)); }));
}

void ApiRouter::healthz(Call& call, const RouteMatch&) { answer(call, json_response(200, R"({"status":"live"})")); }

void ApiRouter::readyz(Call& call, const RouteMatch&) {
  if (ready()) return answer(call, json_response(200, R"({"status":"ready"})"));
  answer(call, error_response(503, draining_ ? "draining: the server is shutting down"
                                             : "not ready: models are still loading or failed to load (see /models)"));
}

void ApiRouter::metrics(Call& call, const RouteMatch&) {
  HttpResponse r = json_response(200, metrics_.render());
  r.content_type = "text/plain; version=0.0.4; charset=utf-8";
  answer(call, std::move(r));
}

void ApiRouter::models(Call& call, const RouteMatch&) { answer(call, json_response(200, render_models(*models_.snapshot()))); }

void ApiRouter::admin(Call& call, const RouteMatch&) {
  auto ex = call.shared_from_this();
  to_control_plane(call, [this, ex] {
    const Call& c = call_of(*ex);
    const HttpRequest request{c.http_method, c.path, c.body, c.headers};
    return admin_.handle(request, split_path(c.path), c.query);
  });
}

void ApiRouter::feedback(Call& call, const RouteMatch&) {
  auto ex = call.shared_from_this();
  to_control_plane(call, [this, ex] {
    const Call& c = call_of(*ex);
    return admin_.feedback(HttpRequest{c.http_method, c.path, c.body, c.headers});
  });
}

}  // namespace seraph
