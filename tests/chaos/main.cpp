// seraph_chaos: the chaos suite. Real seraph processes on 127.0.0.1 (a gateway and two backends),
// steady load through the gateway while a backend is killed, hung, slowed or flapping, and an
// overload at 3x the measured capacity. Prints a table, writes a JSON summary, and exits 1 when a
// goal is missed (2 when the suite itself could not run).
#include <sys/resource.h>

#include <algorithm>
#include <cstring>
#include <iostream>

#include <CLI/CLI.hpp>

#include "e2e_env.h"
#include "experiments.h"
#include "report.h"

namespace {

using seraph::chaos::Millis;

// The short form (ctest): a few seconds per experiment, the suite in about a minute.
void use_short_form(seraph::chaos::SuiteSettings& s) {
  s.warm_up = Millis(1000);
  s.disturbance = Millis(3000);
  s.cool_down = Millis(2000);
  s.capacity_probe = Millis(2000);
  s.unloaded_probe = Millis(1000);
}

// The overload holds thousands of connections, here and in the gateway, which inherits the limit.
void raise_file_limit() {
  rlimit files{};
  if (getrlimit(RLIMIT_NOFILE, &files) != 0 || files.rlim_cur >= files.rlim_max) return;
  files.rlim_cur = files.rlim_max;
  if (setrlimit(RLIMIT_NOFILE, &files) != 0) std::cerr << "chaos: cannot raise the file limit: " << std::strerror(errno) << "\n";
}

// A repository with the one model the processes serve: the demo sentiment model.
std::filesystem::path sentiment_repository() {
  const auto repository = seraph::test::make_temp_dir("seraph-chaos-models");
  std::filesystem::copy(seraph::test::demo_models() / "sentiment", repository / "sentiment",
                        std::filesystem::copy_options::recursive);
  return repository;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"seraph chaos experiments"};
  std::string form = "full";
  std::vector<int> experiments = {1, 2, 3, 4, 5};
  std::string summary_path = "chaos-summary.json";
  seraph::chaos::SuiteSettings settings;
  settings.templates = SERAPH_CHAOS_TEMPLATES;
  app.add_option("--form", form, "full (20 s disturbances) or short (a few seconds each)")
      ->check(CLI::IsMember({"full", "short"}));
  app.add_option("--experiments", experiments, "which to run, 1 to 5 (e.g. 1,3)")
      ->delimiter(',')
      ->check(CLI::Range(1, 5));
  app.add_option("--summary", summary_path, "where the JSON summary goes");
  app.add_option("--templates", settings.templates, "the directory of gateway.yaml and backend.yaml");
  app.add_option("--rate", settings.rate, "steady load of experiments 1 to 4, requests per second");
  app.add_option("--clients", settings.clients, "concurrent keep-alive clients of the steady load");
  CLI11_PARSE(app, argc, argv);
  if (form == "short") use_short_form(settings);
  raise_file_limit();

  std::vector<seraph::chaos::ExperimentResult> results;
  try {
    settings.repository = sentiment_repository();
    for (int number : experiments) {
      std::cerr << "chaos: experiment " << number << "\n";
      results.push_back(seraph::chaos::run_experiment(number, settings));
    }
  } catch (const std::exception& e) {
    std::cerr << "chaos: the suite could not run: " << e.what() << "\n";
    return 2;
  }
  seraph::chaos::print_table(std::cout, results);
  std::cout << "\n";
  seraph::chaos::print_goals(std::cout, results);
  const std::filesystem::path summary = std::filesystem::absolute(summary_path);
  seraph::test::write_file(summary, seraph::chaos::summary_json(form, results));
  std::cout << "summary: " << summary.string() << "\n";
  const auto missed = std::count_if(results.begin(), results.end(), [](const auto& r) { return !r.goals_met(); });
  if (missed > 0) std::cout << "chaos: " << missed << " of " << results.size() << " experiments missed a goal\n";
  return missed > 0 ? 1 : 0;
}
