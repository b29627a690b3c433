#pragma once
// Method and path pattern -> handler, so each request is dispatched once, by a table, rather than
// by a chain of ifs. Patterns are literal segments and `{name}` captures ("/v2/models/{model}/infer");
// a final `*` matches any rest ("/admin/*"). A path that matches a pattern but not its method is a
// 405 with the methods that would have matched; HEAD matches GET. Each route names the role its
// callers need, which the auth guard checks before the handler runs.
#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "api/http.h"
#include "api/url.h"
#include "core/principal.h"
#include "observe/request_observer.h"

namespace seraph {

struct RouteMatch {
  static constexpr size_t kMaxCaptures = 4;
  std::array<std::string, kMaxCaptures> captures;  // percent-decoded, in pattern order
  size_t count = 0;
};

template <class Target>
class RouteTable {
 public:
  struct Found {
    const Target* target = nullptr;  // nullptr: no route
    Handler handler = Handler::kNotFound;
    Role role = Role::kNone;         // without a route: any authenticated caller learns it is not there
    std::string allow;               // with no target but a matching path: the methods it takes
  };

  void add(Method method, std::string_view pattern, Handler handler, Role role, Target target) {
    std::vector<std::string> segments;
    for (std::string_view segment : split(pattern)) segments.emplace_back(segment);
    routes_.push_back({method, std::move(segments), handler, role, std::move(target)});
  }

  Found find(Method method, std::string_view path, RouteMatch& match) const {
    Found found;
    for (const Route& route : routes_) {
      RouteMatch candidate;
      if (!matches(route.pattern, path, candidate)) continue;
      if (route.method == method || (method == Method::kHead && route.method == Method::kGet)) {
        match = std::move(candidate);
        found.target = &route.target;
        found.handler = route.handler;
        found.role = route.role;
        found.allow.clear();
        return found;
      }
      found.handler = route.handler;
      if (!found.allow.empty()) found.allow += ", ";
      found.allow += method_name(route.method);
    }
    return found;
  }

 private:
  struct Route {
    Method method;
    std::vector<std::string> pattern;
    Handler handler;
    Role role;
    Target target;
  };

  static std::vector<std::string_view> split(std::string_view path) {
    std::vector<std::string_view> out;
    size_t at = 0;
    while (at < path.size()) {
      size_t end = path.find('/', at);
      if (end == std::string_view::npos) end = path.size();
      if (end > at) out.push_back(path.substr(at, end - at));
      at = end + 1;
    }
    return out;
  }

  // The next non-empty segment of `path` from `at`, advancing `at` past it; empty at the end.
  static std::string_view next_segment(std::string_view path, size_t& at) {
    while (at < path.size() && path[at] == '/') ++at;
    const size_t begin = at;
    while (at < path.size() && path[at] != '/') ++at;
    return path.substr(begin, at - begin);
  }

  static bool matches(const std::vector<std::string>& pattern, std::string_view path, RouteMatch& match) {
    size_t at = 0;
    for (const std::string& expected : pattern) {
      if (expected == "*") return true;
      const std::string_view segment = next_segment(path, at);
      if (segment.empty()) return false;
      if (expected.front() == '{') {
        if (match.count == RouteMatch::kMaxCaptures) return false;
        match.captures[match.count++] = percent_decode(segment, false);
      } else if (expected != segment) {
        return false;
      }
    }
    return next_segment(path, at).empty();
  }

  std::vector<Route> routes_;
};

}  // namespace seraph
