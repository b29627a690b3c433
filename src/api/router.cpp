#include "api/router.h"

#include <atomic>
#include <cmath>
#include <optional>

#include <fmt/format.h>

#include "api/json_writer.h"
#include "api/predict_adapter.h"
#include "api/url.h"
#include "api/v2_adapter.h"
#include "control/answer_comparison.h"
#include "core/clock.h"
#include "guards/request_id.h"

namespace seraph {

// What is known about a request while it is being answered; shared with the backend's callback.
struct ApiRouter::Call {
  Call(const HttpRequest& request, std::shared_ptr<Responder> responder)
      : exchange(request.headers, Clock::now()), responder(std::move(responder)) {}

  Exchange exchange;
  std::shared_ptr<Responder> responder;
  Handler handler = Handler::kNotFound;
  std::string_view method;
  std::string_view path;
  size_t guards_ran = 0;
  InferApi api = InferApi::kV2;
  bool many = false;
  std::optional<InferRequest> shadow_request;  // the copy for the shadow variant
  std::atomic<bool> finished{false};  // the answer is decided: by the backend or by the deadline
};

namespace {

std::string_view method_name(Method m) {
  switch (m) {
    case Method::kGet: return "GET";
    case Method::kHead: return "HEAD";
    case Method::kPost: return "POST";
    case Method::kPut: return "PUT";
    case Method::kDelete: return "DELETE";
    case Method::kOther: break;
  }
  return "OTHER";
}

// application/json, with or without parameters; a missing Content-Type is taken as JSON.
bool is_json_content_type(std::string_view type) {
  if (type.empty()) return true;
  constexpr std::string_view kJson = "application/json";
  if (type.size() < kJson.size()) return false;
  for (size_t i = 0; i < kJson.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(type[i])) != kJson[i]) return false;
  }
  return type.size() == kJson.size() || type[kJson.size()] == ';' || type[kJson.size()] == ' ';
}

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

// The request's deadline: the server's timeout, shortened by X-Request-Timeout-Ms (milliseconds)
// or the V2 "timeout" parameter (microseconds, as in Triton).
Status apply_deadline(const HeaderLookup& headers, TimePoint start, std::chrono::milliseconds server_timeout,
                      InferRequest& request) {
  std::chrono::microseconds timeout = server_timeout;
  if (std::string_view header = headers.header("x-request-timeout-ms"); !header.empty()) {
    auto ms = parse_positive(header);
    if (!ms || *ms > 3'600'000) {
      return invalid_argument(fmt::format("X-Request-Timeout-Ms must be a whole number of milliseconds from 1 to 3600000, got '{}'", header));
    }
    timeout = std::min<std::chrono::microseconds>(timeout, std::chrono::milliseconds(*ms));
  }
  for (const auto& [key, value] : request.parameters) {
    if (key != "timeout") continue;
    const int64_t* us = std::get_if<int64_t>(&value);
    if (!us || *us < 1) return invalid_argument("parameters.timeout must be a positive whole number of microseconds");
    timeout = std::min<std::chrono::microseconds>(timeout, std::chrono::microseconds(*us));
  }
  request.deadline = start + timeout;
  return {};
}

}  // namespace

ApiRouter::ApiRouter(ModelManager& models, ControlPlane& control, MetricsRegistry& metrics,
                     std::vector<RequestObserver*> observers, ApiOptions options)
    : models_(models),
      control_(control),
      admin_(control, models),
      metrics_(metrics),
      observers_(std::move(observers)),
      options_(std::move(options)),
      chain_(GuardChain::build(models, control.deployments())) {}

bool ApiRouter::ready() const { return !draining_.load(std::memory_order_acquire) && models_.all_ready(); }

void ApiRouter::finish(Call& call, HttpResponse response) {
  if (call.finished.exchange(true, std::memory_order_acq_rel)) return;  // the deadline answered first
  const Exchange& ex = call.exchange;
  const FinishedRequest finished{ex.request_id,
                                 call.method,
                                 call.path,
                                 call.handler,
                                 ex.request.model,
                                 ex.target ? ex.target->version() : 0,
                                 ex.target ? &ex.target->metrics() : nullptr,
                                 ex.deployment ? std::string_view(ex.deployment->name) : std::string_view(),
                                 ex.deployment ? std::string_view(ex.deployment->environment) : std::string_view(),
                                 ex.variant ? std::string_view(ex.variant->record.name) : std::string_view(),
                                 ex.variant ? ex.variant->stats.get() : nullptr,
                                 response.status,
                                 elapsed_ms(ex.start) / 1000.0};
  for (RequestObserver* observer : observers_) observer->on_finished(finished);
  response.headers.emplace_back("X-Request-Id", call.exchange.request_id);
  call.responder->send(std::move(response));
}

void ApiRouter::handle(const HttpRequest& request, std::shared_ptr<Responder> responder) {
  auto call = std::make_shared<Call>(request, std::move(responder));
  call->method = method_name(request.method);
  call->exchange.request_id = request_id_for(request.headers.header("x-request-id"));
  // Plain variables rather than a structured binding: the lambdas below capture them.
  const auto target_parts = split_target(request.target);
  const std::string_view path = target_parts.first;
  const std::string_view query = target_parts.second;
  call->path = path;
  const std::vector<std::string> seg = split_path(path);
  const bool get = request.method == Method::kGet || request.method == Method::kHead;
  const bool post = request.method == Method::kPost;

  auto method_not_allowed = [&](Handler handler, std::string_view allow) {
    call->handler = handler;
    HttpResponse r = error_response(405, fmt::format("method {} is not allowed on {}; use {}", call->method, path, allow));
    r.headers.emplace_back("Allow", std::string(allow));
    finish(*call, std::move(r));
  };
  auto answer = [&](Handler handler, HttpResponse response) {
    call->handler = handler;
    finish(*call, std::move(response));
  };
  auto simple_get = [&](Handler handler, auto make) {
    if (!get) return method_not_allowed(handler, "GET");
    answer(handler, make());
  };

  // Simple JSON API and operational endpoints.
  if (seg.size() == 1 && seg[0] == "predict") {
    if (!post) return method_not_allowed(Handler::kPredict, "POST");
    call->handler = Handler::kPredict;
  } else if (seg.size() == 2 && seg[0] == "predict" && seg[1] == "batch") {
    if (!post) return method_not_allowed(Handler::kPredictBatch, "POST");
    call->handler = Handler::kPredictBatch;
  } else if (seg.size() == 1 && seg[0] == "healthz") {
    return simple_get(Handler::kHealth, [] { return json_response(200, R"({"status":"live"})"); });
  } else if (seg.size() == 1 && seg[0] == "readyz") {
    return simple_get(Handler::kHealth, [this] {
      return ready() ? json_response(200, R"({"status":"ready"})")
                     : error_response(503, draining_ ? "draining: the server is shutting down" : "not ready: models are still loading or failed to load (see /models)");
    });
  } else if (seg.size() == 1 && seg[0] == "metrics") {
    return simple_get(Handler::kMetrics, [this] {
      HttpResponse r = json_response(200, metrics_.render());
      r.content_type = "text/plain; version=0.0.4; charset=utf-8";
      return r;
    });
  } else if (seg.size() == 1 && seg[0] == "models") {
    return simple_get(Handler::kModels, [this] { return json_response(200, render_models(*models_.snapshot())); });
  } else if (!seg.empty() && seg[0] == "admin") {
    call->handler = Handler::kAdmin;
    // The request's views stay valid until it is answered: the connection reads nothing meanwhile.
    return to_control_plane(call, [this, request, seg, query] { return admin_.handle(request, seg, query); });
  } else if (seg.size() == 1 && seg[0] == "feedback") {
    if (!post) return method_not_allowed(Handler::kFeedback, "POST");
    call->handler = Handler::kFeedback;
    return to_control_plane(call, [this, request] { return admin_.feedback(request); });
  } else if (!seg.empty() && seg[0] == "v2") {
    // KServe V2: health, server metadata, model metadata, model readiness, inference.
    if (seg.size() == 1) return simple_get(Handler::kV2Server, [] { return json_response(200, render_v2_server_metadata()); });
    if (seg.size() == 3 && seg[1] == "health" && (seg[2] == "live" || seg[2] == "ready")) {
      const bool live = seg[2] == "live";
      // The protocol's answer is the status code (200 true, 4xx false); the body carries the same
      // boolean, as in KServe's OpenAPI schema, for clients that read it.
      return simple_get(Handler::kV2Health, [this, live] {
        if (live) return json_response(200, R"({"live":true})");
        if (ready()) return json_response(200, R"({"ready":true})");
        return json_response(400, R"({"ready":false,"error":"server is not ready"})");
      });
    }
    if (seg.size() >= 2 && seg[1] == "repository") return repository(request, call, seg);
    if (seg.size() >= 3 && seg[1] == "models") {
      const std::string& model = seg[2];
      std::optional<int64_t> version;
      size_t rest = 3;
      if (seg.size() >= 5 && seg[3] == "versions") {
        version = parse_positive(seg[4]);
        if (!version) {
          call->handler = seg.size() == 6 && seg[5] == "infer" ? Handler::kV2Infer : Handler::kV2ModelMetadata;
          return finish(*call, error_response(404, fmt::format("unknown version '{}' of model '{}'", seg[4], model)));
        }
        rest = 5;
      }
      if (seg.size() == rest + 1 && seg[rest] == "infer") {
        if (!post) return method_not_allowed(Handler::kV2Infer, "POST");
        call->handler = Handler::kV2Infer;
        if (!is_json_content_type(request.headers.header("content-type"))) {
          return finish(*call, error_response(415, "Content-Type must be application/json"));
        }
        InferRequest infer_request;
        infer_request.model = model;
        infer_request.version = version;
        if (Status s = parse_v2_infer_request(request.body, infer_request); !s.is_ok()) {
          return finish(*call, error_response(s));
        }
        return infer(request, call, InferApi::kV2, std::move(infer_request), false);
      }
      if (seg.size() == rest + 1 && seg[rest] == "ready") {
        return simple_get(Handler::kV2ModelReady, [&] {
          Status status;
          auto found = models_.find(model, version, status);
          if (status.code() == StatusCode::kNotFound) return error_response(status);
          // Ready means loaded: a lazy version that would load on request is not ready yet.
          const bool ready = found && found->state() == ModelState::kReady;
          if (found && !ready) status = unavailable(fmt::format("{} ({})", state_name(found->state()), found->reason()));
          return json_response(ready ? 200 : 400, model_ready_body(model, ready, status.message()));
        });
      }
      if (seg.size() == rest) {
        return simple_get(Handler::kV2ModelMetadata, [&] {
          Status status;
          auto found = models_.find(model, version, status);
          if (!found) return error_response(status);
          std::vector<int64_t> versions;
          auto table = models_.snapshot();
          if (auto it = table->find(model); it != table->end()) {
            for (const auto& v : it->second.versions) versions.push_back(v->version());
          }
          return json_response(200, render_v2_model_metadata(model, versions, found->config()));
        });
      }
    }
    return answer(Handler::kNotFound, error_response(404, fmt::format("no such endpoint: {}", path)));
  } else {
    return answer(Handler::kNotFound, error_response(404, fmt::format("no such endpoint: {}", path)));
  }

  // /predict and /predict/batch
  if (!is_json_content_type(request.headers.header("content-type"))) {
    return finish(*call, error_response(415, "Content-Type must be application/json"));
  }
  PredictRequest predict;
  const bool batch = call->handler == Handler::kPredictBatch;
  if (Status s = batch ? parse_predict_batch_body(request.body, predict) : parse_predict_body(request.body, predict);
      !s.is_ok()) {
    return finish(*call, error_response(s));
  }
  std::string model = query_param(query, "model").value_or(options_.default_model);
  if (model.empty()) {
    return finish(*call, error_response(400, "name the model with ?model=NAME (no default model is configured)"));
  }
  predict.request.model = std::move(model);
  if (auto v = query_param(query, "model_version")) {
    predict.request.version = parse_positive(*v);
    if (!predict.request.version) {
      return finish(*call, error_response(400, fmt::format("model_version must be a positive integer, got '{}'", *v)));
    }
  }
  infer(request, call, batch ? InferApi::kPredictBatch : InferApi::kPredict, std::move(predict.request), predict.many);
}

// Triton's model repository extension: POST /v2/repository/index, and
// POST /v2/repository/models/{m}/load and .../unload, answered once the load or unload is done.
void ApiRouter::repository(const HttpRequest& request, std::shared_ptr<Call> call, const std::vector<std::string>& seg) {
  call->handler = Handler::kV2Repository;
  if (request.method != Method::kPost) {
    HttpResponse r = error_response(405, "the repository API takes POST");
    r.headers.emplace_back("Allow", "POST");
    return finish(*call, std::move(r));
  }
  if (seg.size() == 3 && seg[2] == "index") {
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
    return finish(*call, json_response(200, std::string(buffer.GetString(), buffer.GetSize())));
  }
  if (seg.size() == 5 && seg[2] == "models" && (seg[4] == "load" || seg[4] == "unload")) {
    auto answer = [this, call](Status status) {
      finish(*call, status.is_ok() ? json_response(200, "{}") : error_response(status));
    };
    if (seg[4] == "load") return models_.load_model(seg[3], answer);
    return models_.unload_model(seg[3], answer);
  }
  finish(*call, error_response(404, fmt::format("no such endpoint: {}", call->path)));
}

void ApiRouter::infer(const HttpRequest& request, std::shared_ptr<Call> call, InferApi api, InferRequest infer_request,
                      bool many) {
  call->api = api;
  call->many = many;
  Exchange& ex = call->exchange;
  ex.request = std::move(infer_request);
  if (Status s = apply_deadline(request.headers, ex.start, options_.request_timeout, ex.request); !s.is_ok()) {
    return finish(*call, error_response(s));
  }
  call->guards_ran = chain_.run_request(ex);
  if (ex.status.is_ok() && ex.shadow) call->shadow_request = ex.request;  // unbound: the shadow binds its own
  if (ex.status.is_ok() && api != InferApi::kV2) ex.status = bind_predict_input(ex.target->config(), ex.request);

  auto complete = [this](Call& c) {
    Exchange& e = c.exchange;
    chain_.run_response(e, c.guards_ran);
    HttpResponse response;
    ServedBy served_by;
    if (e.deployment) served_by = {e.deployment->name, e.deployment->environment, e.variant->record.name};
    if (!e.status.is_ok()) {
      response = error_response(e.status);
    } else if (c.api == InferApi::kV2) {
      response = json_response(200, render_v2_infer_response(e.response, served_by));
    } else {
      response = json_response(200, render_predict_response(e.response, e.target->config(),
                                                            {e.request_id, elapsed_ms(e.start), c.many, served_by}));
    }
    if (response.status == 503) response.headers.emplace_back("Retry-After", "1");
    for (auto& h : e.response_headers) response.headers.push_back(std::move(h));
    if (e.status.is_ok() && e.deployment && e.deployment->experiment_id != 0) {
      control_.experiments().record_assignment(e.request_id, e.deployment->experiment_id, e.variant->record.name,
                                               e.response);
    }
    finish(c, std::move(response));
  };
  if (!ex.status.is_ok()) return complete(*call);

  // However long the model takes, the client has its answer at the deadline.
  call->responder->on_deadline(ex.request.deadline, [this, weak = std::weak_ptr<Call>(call)] {
    if (auto c = weak.lock()) finish(*c, error_response(504, "deadline exceeded before the model answered"));
  });
  auto dispatch = [this, call, complete] {
    Exchange& e = call->exchange;
    if (call->finished.load(std::memory_order_acquire)) return;  // the deadline answered during a delay
    e.target->metrics().inflight().add(1);
    InferRequest to_run = std::move(e.request);
    e.request.model = to_run.model;  // kept for the access log
    e.target->infer(std::move(to_run), [this, call, complete](Status status, InferResponse response) {
      Exchange& done = call->exchange;
      done.target->metrics().inflight().add(-1);
      done.status = std::move(status);
      done.response = std::move(response);
      complete(*call);
      if (call->shadow_request && done.status.is_ok()) run_shadow(call);
    });
  };
  if (ex.dispatch_at > Clock::now()) return call->responder->defer(ex.dispatch_at, std::move(dispatch));
  dispatch();
}

void ApiRouter::to_control_plane(std::shared_ptr<Call> call, std::function<HttpResponse()> handle) {
  if (!control_.submit([this, call, handle = std::move(handle)] { finish(*call, handle()); })) {
    HttpResponse busy = error_response(503, "the control plane is busy; retry shortly");
    busy.headers.emplace_back("Retry-After", "1");
    finish(*call, std::move(busy));
  }
}

void ApiRouter::run_shadow(std::shared_ptr<Call> call) {
  const LiveVariant& shadow = *call->exchange.shadow;
  Status status;
  auto target = models_.find(shadow.record.model, shadow.record.version, status);
  InferRequest& request = *call->shadow_request;
  if (target && call->api != InferApi::kV2) status = bind_predict_input(target->config(), request);
  if (!target || !status.is_ok()) return shadow.stats->record_shadow(true, false, 0);
  request.model = shadow.record.model;
  request.version = shadow.record.version;
  const TimePoint start = Clock::now();
  target->infer(std::move(request), [call, start](Status s, InferResponse response) {
    const LiveVariant& v = *call->exchange.shadow;
    v.stats->record(s.is_ok() ? 200 : http_status_of(s.code()), elapsed_ms(start));
    if (!s.is_ok()) return v.stats->record_shadow(true, false, 0);
    const AnswerComparison c = compare_answers(call->exchange.response, response);
    v.stats->record_shadow(!c.comparable, c.same_top_label, c.max_abs_difference);
  });
}

}  // namespace seraph
