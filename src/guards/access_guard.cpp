#include "guards/access_guard.h"

#include <algorithm>

#include <fmt/format.h>

namespace seraph {
namespace {

bool contains(const std::vector<std::string>& list, const std::string& item) {
  return !item.empty() && std::find(list.begin(), list.end(), item) != list.end();
}

}  // namespace

RequestVerdict AccessGuard::on_request(Exchange& exchange) {
  const std::string& called = exchange.request->model;
  const Principal& caller = exchange.principal;
  if (!caller.may_call(called)) {
    exchange.status = {StatusCode::kPermissionDenied,
                       fmt::format("this credential may not call '{}' (it may call: {})", called,
                                   fmt::join(caller.deployments, ", "))};
    return RequestVerdict::kRespond;
  }
  if (auto it = deployments_.find(called); it != deployments_.end()) {
    const AllowList& allowed = it->second;
    if (!contains(allowed.subjects, caller.subject) && !contains(allowed.tenants, caller.tenant)) {
      exchange.status = {StatusCode::kPermissionDenied,
                         fmt::format("'{}' admits only the subjects and tenants on its allow list", called)};
      return RequestVerdict::kRespond;
    }
  }
  return RequestVerdict::kContinue;
}

}  // namespace seraph
