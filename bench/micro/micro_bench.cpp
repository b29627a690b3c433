// Micro-benchmarks of the per-request work that is ours: decoding the bodies, running the guard
// chain, parsing the HTTP request, checking rate limits, recording metrics, and the response cache's
// key and lookup. Run: build/release/bench/micro/seraph_micro_bench
#include <benchmark/benchmark.h>

#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "api/predict_adapter.h"
#include "cache/cache_key.h"
#include "cache/response_cache.h"
#include "guards/guard_chain.h"
#include "limits/local_rate_limiter.h"
#include "observe/metrics.h"
#include "server/request_parser.h"
#include "wire/v2_infer.h"

namespace seraph {
namespace {

const std::string kPredictBody = R"({"text": "The battery life is great and the screen is not bad at all"})";
const std::string kV2Body =
    R"({"id":"b","inputs":[{"name":"input","shape":[2,4],"datatype":"FP32","data":[5.1,3.5,1.4,0.2,6.7,3.0,5.2,2.3]}]})";

void BM_ParsePredictBody(benchmark::State& state) {
  for (auto _ : state) {
    PredictRequest request;
    benchmark::DoNotOptimize(parse_predict_body(kPredictBody, request));
  }
}
BENCHMARK(BM_ParsePredictBody);

void BM_ParseV2JsonBody(benchmark::State& state) {
  for (auto _ : state) {
    InferRequest request;
    V2ResponseOptions options;
    benchmark::DoNotOptimize(parse_v2_infer_request(kV2Body, std::nullopt, request, options));
  }
}
BENCHMARK(BM_ParseV2JsonBody);

void BM_ParseV2BinaryBody(benchmark::State& state) {
  const std::string header =
      R"({"inputs":[{"name":"input","shape":[2,4],"datatype":"FP32","parameters":{"binary_data_size":32}}]})";
  std::string body = header + std::string(32, '\0');
  for (auto _ : state) {
    InferRequest request;
    V2ResponseOptions options;
    benchmark::DoNotOptimize(parse_v2_infer_request(body, header.size(), request, options));
  }
}
BENCHMARK(BM_ParseV2BinaryBody);

void BM_RenderV2Response(benchmark::State& state) {
  InferResponse response;
  response.model = "mlp";
  response.version = 1;
  const std::vector<float> scores = {0.1F, 0.2F, 0.7F, 0.3F, 0.3F, 0.4F};
  response.outputs.push_back(Tensor::of<float>("probabilities", DataType::kFp32, {2, 3}, scores));
  for (auto _ : state) benchmark::DoNotOptimize(render_v2_infer_response(response, V2ResponseOptions{}));
}
BENCHMARK(BM_RenderV2Response);

const std::string kPredictRequest =
    "POST /predict?model=sentiment HTTP/1.1\r\nHost: 127.0.0.1:8080\r\n"
    "Content-Type: application/json\r\nContent-Length: " +
    std::to_string(kPredictBody.size()) + "\r\n\r\n" + kPredictBody;

// The /predict request parsed from reads that end at `splits` (none: one read, the usual case).
void parse_http_request(benchmark::State& state, std::vector<size_t> splits) {
  splits.push_back(kPredictRequest.size());
  RequestParser parser(16 * 1024, 8 << 20);
  for (auto _ : state) {
    parser.reset();
    size_t fed = 0;
    for (size_t end : splits) {
      size_t consumed = 0;
      benchmark::DoNotOptimize(parser.feed(kPredictRequest.data() + fed, end - fed, consumed));
      fed += consumed;
    }
    benchmark::DoNotOptimize(parser.take_headers());
  }
}

void BM_ParseHttpRequest(benchmark::State& state) { parse_http_request(state, {}); }
BENCHMARK(BM_ParseHttpRequest);

// A read that ends inside a field line: the parser copies the line's start until its end arrives.
void BM_ParseHttpRequestSplitInAField(benchmark::State& state) {
  parse_http_request(state, {kPredictRequest.find("application/")});
}
BENCHMARK(BM_ParseHttpRequestSplitInAField);

// An exchange loop that runs everything at once: the chain's own cost, without I/O.
class InlineLoop final : public ExchangeLoop {
 public:
  bool on_loop_thread() const override { return true; }
  void post(std::function<void()> run) override { run(); }
  void run_at(TimePoint, std::function<void()> run) override { run(); }
  void set_deadline(TimePoint, std::function<void()>) override {}
};

class PassingGuard final : public Guard {
 public:
  std::string_view name() const override { return "pass"; }
  RequestVerdict on_request(Exchange&) override { return RequestVerdict::kContinue; }
};

void BM_GuardChainOfFourGuards(benchmark::State& state) {
  std::vector<std::unique_ptr<Guard>> guards;
  for (int i = 0; i < 4; ++i) guards.push_back(std::make_unique<PassingGuard>());
  GuardChain* self = nullptr;
  GuardChain chain(Stage::kInference, std::move(guards), [&](Exchange& ex) { self->complete(ex); }, [](Exchange&) {});
  self = &chain;
  auto loop = std::make_shared<InlineLoop>();
  auto exchange = std::make_shared<Exchange>(loop, Clock::now());
  for (auto _ : state) chain.run(*exchange);
}
BENCHMARK(BM_GuardChainOfFourGuards);

// One rule on one of 1000 keys (an API key, say), on a clock that moves a microsecond a check.
void BM_LocalRateLimiterCheck(benchmark::State& state) {
  LocalRateLimiter limiter;
  const RateLimitRule per_second{"per_second", 1000000, std::chrono::seconds(1)};
  std::vector<RateCheck> checks;
  for (int i = 0; i < 1000; ++i) checks.push_back({&per_second, "api-key-" + std::to_string(i)});
  TimePoint now = Clock::now();
  size_t next = 0;
  for (auto _ : state) {
    now += std::chrono::microseconds(1);
    benchmark::DoNotOptimize(limiter.check({&checks[next], 1}, 1, now));
    next = next == checks.size() - 1 ? 0 : next + 1;
  }
}
BENCHMARK(BM_LocalRateLimiterCheck);

void BM_CounterAddFromTwoThreads(benchmark::State& state) {
  static Counter counter;
  for (auto _ : state) counter.add();
}
BENCHMARK(BM_CounterAddFromTwoThreads)->Threads(2);

void BM_HistogramObserve(benchmark::State& state) {
  static Histogram histogram({0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5});
  for (auto _ : state) histogram.observe(0.0007);
}
BENCHMARK(BM_HistogramObserve)->Threads(1)->Threads(2);

// The key of a /predict request: one BYTES input of 60 characters.
void BM_CacheKeyOfPredictRequest(benchmark::State& state) {
  PredictRequest predict;
  if (!parse_predict_body(kPredictBody, predict).is_ok()) state.SkipWithError("the /predict body did not parse");
  for (auto _ : state) benchmark::DoNotOptimize(cache_key("sentiment", "sentiment", 1, predict.request, ""));
}
BENCHMARK(BM_CacheKeyOfPredictRequest);

void BM_ResponseCacheLookupHit(benchmark::State& state) {
  ResponseCache cache({});
  PredictRequest predict;
  if (!parse_predict_body(kPredictBody, predict).is_ok()) state.SkipWithError("the /predict body did not parse");
  const CacheKey key = cache_key("sentiment", "sentiment", 1, predict.request, "");
  InferResponse response;
  response.model = "sentiment";
  response.version = 1;
  const std::vector<float> scores = {0.9F, 0.1F};
  response.outputs.push_back(Tensor::of<float>("probabilities", DataType::kFp32, {1, 2}, scores));
  const TimePoint now = Clock::now();
  cache.store(key, std::move(response), now);
  for (auto _ : state) {
    std::shared_ptr<const CachedAnswer> hit;
    benchmark::DoNotOptimize(cache.lookup(key, now, hit));
    benchmark::DoNotOptimize(hit);
  }
}
BENCHMARK(BM_ResponseCacheLookupHit);

}  // namespace
}  // namespace seraph

BENCHMARK_MAIN();
