#include "outcomes.h"

#include <algorithm>
#include <cmath>

namespace seraph::chaos {

bool succeeded(const RequestRecord& r) { return r.status >= 200 && r.status < 300; }

double latency_ms(const RequestRecord& r) { return std::chrono::duration<double, std::milli>(r.latency).count(); }

double quantile(std::vector<double> values, double q) {
  if (values.empty()) return 0;
  const auto rank = static_cast<size_t>(std::ceil(q * static_cast<double>(values.size())));
  const size_t index = std::clamp<size_t>(rank, 1, values.size()) - 1;
  std::nth_element(values.begin(), values.begin() + static_cast<std::ptrdiff_t>(index), values.end());
  return values[index];
}

Tally tally(const std::vector<RequestRecord>& records, const std::function<bool(const RequestRecord&)>& keep) {
  Tally t;
  std::vector<double> latencies;
  for (const RequestRecord& r : records) {
    if (keep && !keep(r)) continue;
    ++t.sent;
    if (r.status == 0) {
      ++t.never_answered;
      continue;
    }
    ++t.answered;
    latencies.push_back(latency_ms(r));
    t.max_ms = std::max(t.max_ms, latencies.back());
    if (r.shed) ++t.shed;
    if (!succeeded(r)) {
      ++t.failed;
    } else {
      ++t.succeeded;
      if (r.fallback) ++t.fallback;
    }
  }
  t.p50_ms = quantile(latencies, 0.5);
  t.p99_ms = quantile(std::move(latencies), 0.99);
  return t;
}

std::optional<Millis> time_to_recover(const std::vector<RequestRecord>& records, Clock::time_point end, Millis window,
                                      double ratio) {
  std::vector<std::pair<Clock::time_point, bool>> sent;  // (when, succeeded), by time
  sent.reserve(records.size());
  for (const RequestRecord& r : records) sent.emplace_back(r.sent, succeeded(r));
  std::sort(sent.begin(), sent.end());
  if (sent.empty()) return std::nullopt;
  // Slide the window's end from `end` in steps of 10 ms over the records sent since.
  constexpr Millis kStep(10);
  for (Clock::time_point until = end; until <= sent.back().first + kStep; until += kStep) {
    const auto from = std::lower_bound(sent.begin(), sent.end(), std::make_pair(until - window, false));
    const auto to = std::lower_bound(from, sent.end(), std::make_pair(until, false));
    const auto count = to - from;
    if (count == 0) continue;
    const auto good = std::count_if(from, to, [](const auto& s) { return s.second; });
    if (static_cast<double>(good) >= ratio * static_cast<double>(count)) {
      return std::chrono::duration_cast<Millis>(until - end);
    }
  }
  return std::nullopt;
}

}  // namespace seraph::chaos
