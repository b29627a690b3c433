#include "report.h"

#include <fmt/format.h>
#include <rapidjson/prettywriter.h>
#include <rapidjson/stringbuffer.h>

namespace seraph::chaos {
namespace {

std::string recovery_text(const std::optional<Millis>& recovery) {
  return recovery ? fmt::format("{}", recovery->count()) : "never";
}

void print_row(std::ostream& out, const std::string& name, const Tally& t, const std::string& recovery) {
  out << fmt::format("| {:<26} | {:>7} | {:>8} | {:>9} | {:>8} | {:>6} | {:>6} | {:>5} | {:>7.1f} | {:>7.1f} | {:>10} |\n",
                     name, t.sent, t.answered, t.succeeded, t.fallback, t.failed, t.shed, t.never_answered, t.p50_ms,
                     t.p99_ms, recovery);
}

void write_tally(rapidjson::PrettyWriter<rapidjson::StringBuffer>& w, const Tally& t) {
  w.StartObject();
  for (const auto& [key, value] : {std::pair{"sent", t.sent}, {"answered", t.answered}, {"succeeded", t.succeeded},
                                   {"fallback", t.fallback}, {"failed", t.failed}, {"shed", t.shed},
                                   {"never_answered", t.never_answered}}) {
    w.Key(key);
    w.Int64(value);
  }
  for (const auto& [key, value] : {std::pair{"p50_ms", t.p50_ms}, {"p99_ms", t.p99_ms}, {"max_ms", t.max_ms}}) {
    w.Key(key);
    w.Double(value);
  }
  w.EndObject();
}

}  // namespace

void print_table(std::ostream& out, const std::vector<ExperimentResult>& results) {
  out << "| experiment                 |    sent | answered | succeeded | fallback | failed |   shed | never | p50 ms  | p99 ms  | recover ms |\n"
         "|----------------------------|---------|----------|-----------|----------|--------|--------|-------|---------|---------|------------|\n";
  for (const ExperimentResult& r : results) {
    print_row(out, fmt::format("{} {}", r.number, r.name), r.tally, recovery_text(r.recovery));
    for (const auto& [priority, t] : r.parts) print_row(out, fmt::format("  {} (at 3x)", priority), t, "");
  }
  for (const ExperimentResult& r : results) {
    for (const auto& [name, value] : r.figures) out << fmt::format("{} {}: {:.1f}\n", r.number, name, value);
  }
}

void print_goals(std::ostream& out, const std::vector<ExperimentResult>& results) {
  for (const ExperimentResult& r : results) {
    for (const Goal& g : r.goals) {
      out << fmt::format("{} experiment {} ({}): {}: {}\n", g.met ? "met   " : "MISSED", r.number, r.name, g.name, g.detail);
    }
  }
}

std::string summary_json(const std::string& form, const std::vector<ExperimentResult>& results) {
  rapidjson::StringBuffer buffer;
  rapidjson::PrettyWriter<rapidjson::StringBuffer> w(buffer);
  w.StartObject();
  w.Key("form");
  w.String(form.c_str());
  w.Key("experiments");
  w.StartArray();
  for (const ExperimentResult& r : results) {
    w.StartObject();
    w.Key("number");
    w.Int(r.number);
    w.Key("name");
    w.String(r.name.c_str());
    w.Key("totals");
    write_tally(w, r.tally);
    w.Key("recovery_ms");
    if (r.recovery) {
      w.Int64(r.recovery->count());
    } else {
      w.Null();
    }
    w.Key("priorities");
    w.StartObject();
    for (const auto& [priority, t] : r.parts) {
      w.Key(priority.c_str());
      write_tally(w, t);
    }
    w.EndObject();
    w.Key("figures");
    w.StartObject();
    for (const auto& [name, value] : r.figures) {
      w.Key(name.c_str());
      w.Double(value);
    }
    w.EndObject();
    w.Key("goals");
    w.StartArray();
    for (const Goal& g : r.goals) {
      w.StartObject();
      w.Key("goal");
      w.String(g.name.c_str());
      w.Key("met");
      w.Bool(g.met);
      w.Key("detail");
      w.String(g.detail.c_str());
      w.EndObject();
    }
    w.EndArray();
    w.EndObject();
  }
  w.EndArray();
  w.EndObject();
  return buffer.GetString();
}

}  // namespace seraph::chaos
