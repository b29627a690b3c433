#pragma once
// What a run's request records add up to: the counts and latencies of the suite's table, and the
// time a disturbance took to wear off.
#include <functional>
#include <optional>
#include <vector>

#include "load_generator.h"

namespace seraph::chaos {

struct Tally {
  int64_t sent = 0;
  int64_t answered = 0;
  int64_t succeeded = 0;       // 2xx, fallback answers included
  int64_t fallback = 0;        // 2xx served by a fallback (X-Fallback)
  int64_t failed = 0;          // answered with an error
  int64_t shed = 0;            // answered with X-Shed-Reason
  int64_t never_answered = 0;  // no answer by the deadline plus the grace
  double p50_ms = 0;           // latency of the answered requests
  double p99_ms = 0;
  double max_ms = 0;

  double success_ratio() const { return sent ? static_cast<double>(succeeded) / static_cast<double>(sent) : 0; }
};

bool succeeded(const RequestRecord& r);
double latency_ms(const RequestRecord& r);

// The records `keep` selects (all of them without it).
Tally tally(const std::vector<RequestRecord>& records, const std::function<bool(const RequestRecord&)>& keep = {});

// The `q` quantile (0..1) of `values`, nearest rank; 0 when empty.
double quantile(std::vector<double> values, double q);

// From `end` (a disturbance's end) until the requests sent in the trailing `window` succeed at
// `ratio` or better; nullopt when that never happens among the records.
std::optional<Millis> time_to_recover(const std::vector<RequestRecord>& records, Clock::time_point end,
                                      Millis window = Millis(250), double ratio = 0.99);

}  // namespace seraph::chaos
