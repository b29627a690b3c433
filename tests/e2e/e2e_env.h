#pragma once
// The server most end-to-end tests share: the real binary on a free port, serving the demo models
// plus one TorchScript model per V2 datatype.
#include <chrono>
#include <filesystem>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "http_client.h"
#include "server_process.h"

namespace seraph::test {

// A model repository holding copies of the demo models and the typed models; made once.
const std::filesystem::path& shared_repository();
// Writes a config for `repository` into a fresh temp dir and returns its path.
std::filesystem::path write_config(const std::filesystem::path& repository, const std::string& extra_yaml = "");
// Started on first use, stopped when the test program exits.
ServerProcess& shared_server();

// Demo models as built by examples/ (SERAPH_TEST_MODELS).
std::filesystem::path demo_models();

// The value of the first sample in a Prometheus exposition `text` matching `series` (a regex of
// the name and labels), or -1 when there is none; metric() reads /metrics on `port` first.
double sample(const std::string& text, const std::string& series);
double metric(uint16_t port, const std::string& series);
// What `promtool check metrics` finds wrong with an exposition; empty when it passes clean.
std::string promtool_findings(const std::string& text);
// Waits up to `seconds` for `predicate`; true when it came true.
bool eventually(const std::function<bool()>& predicate, int seconds = 10);

// The body of a V2 request to the slow model (typed_models.h) asking for `rounds` of work.
std::string slow_request(int rounds);
// Rounds that keep the slow model busy for about `target` on this machine, measured with one
// request to the (idle) slow model of the server on `port` after a warm-up one, sent with `headers`
// (a key, when auth is on).
int slow_rounds_for(uint16_t port, std::chrono::milliseconds target,
                    const std::vector<std::pair<std::string, std::string>>& headers = {
                        {"Content-Type", "application/json"}});

}  // namespace seraph::test
