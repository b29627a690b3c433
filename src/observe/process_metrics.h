#pragma once
#include "observe/metrics.h"

namespace seraph {

// Registers process gauges (resident memory, CPU seconds, open file descriptors, start time),
// read from /proc at each scrape.
void register_process_metrics(MetricsRegistry& registry);

// The process's resident memory now, in bytes.
double resident_bytes();

}  // namespace seraph
