#include "observe/access_log.h"

#include <chrono>

#include <fmt/chrono.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>
#include <spdlog/async.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

namespace seraph {

void configure_logging(std::string_view level) {
  auto logger = spdlog::stderr_logger_mt("seraph");
  logger->set_pattern(R"({"time":"%Y-%m-%dT%H:%M:%S.%eZ","level":"%l","event":%v})", spdlog::pattern_time_type::utc);
  logger->set_level(spdlog::level::from_str(std::string(level)));
  spdlog::set_default_logger(logger);
}

AccessLog::AccessLog(bool enabled) {
  if (!enabled) return;
  // A bounded queue that drops the oldest lines under overload rather than slowing requests.
  spdlog::init_thread_pool(65536, 1);
  logger_ = spdlog::create_async_nb<spdlog::sinks::stdout_sink_mt>("access");
  logger_->set_pattern("%v");
}

void AccessLog::record(const AccessRecord& r) {
  if (!logger_) return;
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> w(buffer);
  auto str = [&w](std::string_view s) { w.String(s.data(), static_cast<rapidjson::SizeType>(s.size())); };
  const auto now = std::chrono::system_clock::now();
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() % 1000;
  const std::string time = fmt::format("{:%Y-%m-%dT%H:%M:%S}.{:03}Z", std::chrono::time_point_cast<std::chrono::seconds>(now), ms);
  w.StartObject();
  w.Key("time");
  str(time);
  w.Key("request_id");
  str(r.request_id);
  w.Key("method");
  str(r.method);
  w.Key("path");
  str(r.path);
  w.Key("model");
  if (r.model.empty()) w.Null(); else str(r.model);
  w.Key("version");
  if (r.version == 0) w.Null(); else w.Int64(r.version);
  w.Key("status");
  w.Uint(r.status);
  w.Key("latency_ms");
  w.Double(static_cast<double>(static_cast<int64_t>(r.latency_ms * 1000)) / 1000);
  w.EndObject();
  logger_->info(std::string_view(buffer.GetString(), buffer.GetSize()));
}

}  // namespace seraph
