#pragma once
// Method and path pattern -> handler, so each request is dispatched once, by a table, rather than
// by a chain of ifs. Patterns are literal segments and `{name}` captures ("/v2/models/{model}/infer");
// a final `*` matches any rest ("/admin/*"). A path that matches a pattern but not its method is a
// 405 with the methods that would have matched; HEAD matches GET.
#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "api/http.h"
#include "api/url.h"
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
    std::string allow;               // with no target but a matching path: the methods it takes
  };

  void add(Method method, std::string_view pattern, Handler handler, Target target) {
    std::vector<std::string> segments;
    for (std::string_view segment : split(pattern)) segments.emplace_back(segment);
    routes_.push_back({method, std::move(segments), handler, std::move(target)});
  }

  Found find(Method method, std::string_view path, RouteMatch& match) const {
    Found found;
    const std::vector<std::string_view> segments = split(path);
    for (const Route& route : routes_) {
      RouteMatch candidate;
      if (!matches(route.pattern, segments, candidate)) continue;
      if (route.method == method || (method == Method::kHead && route.method == Method::kGet)) {
        match = std::move(candidate);
        found.target = &route.target;
        found.handler = route.handler;
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

  static bool matches(const std::vector<std::string>& pattern, const std::vector<std::string_view>& segments,
                      RouteMatch& match) {
    for (size_t i = 0; i < pattern.size(); ++i) {
      if (pattern[i] == "*") return true;
      if (i >= segments.size()) return false;
      if (pattern[i].front() == '{') {
        if (match.count == RouteMatch::kMaxCaptures) return false;
        match.captures[match.count++] = percent_decode(segments[i], false);
      } else if (pattern[i] != segments[i]) {
        return false;
      }
    }
    return pattern.size() == segments.size();
  }

  std::vector<Route> routes_;
};

}  // namespace seraph
