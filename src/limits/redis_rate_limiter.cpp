// RedisRateLimiter: the GCRA script, its arguments and its answer.
#include "limits/redis_rate_limiter.h"

#include "core/hex.h"

#include <openssl/evp.h>

#include <algorithm>
#include <memory>
#include <stdexcept>
#include <string_view>
#include <utility>
#include <vector>

namespace seraph {
namespace {

// KEYS[i]: the i-th (rule, key) pair's state. ARGV[1]: the cost; ARGV[2i] and ARGV[2i+1]: the i-th
// rule's emission interval (microseconds) and burst. Every number stays an integer below 2^53, where
// Lua's doubles are exact; quotients are corrected to the exact floor. The TAT is written with
// %d: Lua's tostring keeps only 14 digits.
// Returns {admitted (0/1), the deciding pair's index (from 1), remaining, retry_after (us),
// reset_after (us), cost exceeds burst (0/1)}.
constexpr std::string_view kGcraScript = R"lua(
local function floor_div(a, b)
  local q = math.floor(a / b)
  if q * b > a then q = q - 1 elseif (q + 1) * b <= a then q = q + 1 end
  return q
end
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000000 + tonumber(time[2])
local cost = tonumber(ARGV[1])
local tats = {}
local decider, decider_retry, never = 0, 0, 0
for i = 1, #KEYS do
  local interval, burst = tonumber(ARGV[2 * i]), tonumber(ARGV[2 * i + 1])
  local tat = tonumber(redis.call('GET', KEYS[i])) or now
  if tat < now then tat = now end
  tats[i] = tat
  if cost > burst then
    if never == 0 then decider, never = i, 1 end
  elseif never == 0 then
    local retry = tat + (cost - burst) * interval - now
    if retry > decider_retry then decider, decider_retry = i, retry end
  end
end
if decider > 0 then
  local interval, burst = tonumber(ARGV[2 * decider]), tonumber(ARGV[2 * decider + 1])
  local remaining = math.max(0, floor_div(now + burst * interval - tats[decider], interval))
  return {0, decider, remaining, never == 1 and 0 or decider_retry, tats[decider] - now, never}
end
local least, reset
for i = 1, #KEYS do
  local interval, burst = tonumber(ARGV[2 * i]), tonumber(ARGV[2 * i + 1])
  local new_tat = tats[i] + cost * interval
  if new_tat > now then
    redis.call('SET', KEYS[i], string.format('%d', new_tat), 'PX', math.ceil((new_tat - now) / 1000))
  end
  local remaining = math.max(0, floor_div(now + burst * interval - new_tat, interval))
  if least == nil or remaining < least then decider, least, reset = i, remaining, new_tat - now end
end
return {1, decider, least, 0, reset, 0}
)lua";

const std::string& script_sha1() {
  static const std::string sha1 = [] {
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int length = 0;
    if (EVP_Digest(kGcraScript.data(), kGcraScript.size(), digest, &length, EVP_sha1(), nullptr) != 1) {
      throw std::runtime_error("cannot compute SHA1 with OpenSSL");
    }
    return to_hex({digest, length});
  }();
  return sha1;
}

std::chrono::milliseconds ceil_ms(int64_t microseconds) {
  return std::chrono::ceil<std::chrono::milliseconds>(std::chrono::microseconds(microseconds));
}

// What the callback needs of the rules, copied: the caller's rules need not outlive the call.
struct RuleSummary {
  std::string name;
  int64_t limit;
};

struct PendingCheck {
  std::vector<std::string> args;  // EVALSHA's, kept to resend as EVAL on NOSCRIPT
  std::vector<RuleSummary> rules;
  RedisRateLimiter::Callback done;
};

Status decode(const RedisReply& reply, const std::vector<RuleSummary>& rules, RateDecision& decision) {
  if (reply.type == RedisReply::Type::kError)
    return internal_error("the rate limit script failed in Redis: " + reply.text);
  const bool well_formed = reply.type == RedisReply::Type::kArray && reply.elements.size() == 6 &&
                           std::all_of(reply.elements.begin(), reply.elements.end(), [](const RedisReply& element) {
                             return element.type == RedisReply::Type::kInteger;
                           });
  if (!well_formed) return internal_error("unexpected answer from the rate limit script");
  const int64_t decider = reply.elements[1].integer;
  if (decider < 1 || decider > static_cast<int64_t>(rules.size())) {
    return internal_error("the rate limit script named rule " + std::to_string(decider) + " of " +
                          std::to_string(rules.size()));
  }
  decision.allowed = reply.elements[0].integer == 1;
  decision.remaining = reply.elements[2].integer;
  decision.retry_after = ceil_ms(reply.elements[3].integer);
  decision.reset_after = ceil_ms(reply.elements[4].integer);
  decision.cost_exceeds_burst = reply.elements[5].integer == 1;
  decision.limit = rules[decider - 1].limit;
  decision.rule = rules[decider - 1].name;
  return Status::ok();
}

void send(RedisClient& redis, std::shared_ptr<PendingCheck> pending, bool whole_script) {
  std::vector<std::string> args = pending->args;
  if (whole_script) {
    args[0] = "EVAL";
    args[1] = kGcraScript;
  }
  redis.command(std::move(args), [&redis, pending, whole_script](Status status, RedisReply reply) {
    if (!status.is_ok()) return pending->done(std::move(status), {});
    if (!whole_script && reply.type == RedisReply::Type::kError && reply.text.starts_with("NOSCRIPT")) {
      return send(redis, std::move(pending), true);
    }
    RateDecision decision;
    status = decode(reply, pending->rules, decision);
    pending->done(std::move(status), std::move(decision));
  });
}

}  // namespace

RedisRateLimiter::RedisRateLimiter(RedisClient& redis, std::string key_prefix)
    : redis_(redis), key_prefix_(std::move(key_prefix)) {
  script_sha1();  // computed now: a failure shows at construction, not on a request
}

void RedisRateLimiter::check(std::span<const RateCheck> checks, int64_t cost, Callback done) {
  if (cost < 0) return done(invalid_argument("a rate limit cost cannot be negative"), {});
  if (checks.empty()) return done(Status::ok(), RateDecision{});
  auto pending = std::make_shared<PendingCheck>();
  pending->args.reserve(3 + checks.size() * 3 + 1);
  pending->args.insert(pending->args.end(), {"EVALSHA", script_sha1(), std::to_string(checks.size())});
  for (const RateCheck& check : checks) pending->args.push_back(key_prefix_ + check.rule->name + ":" + check.key);
  pending->args.push_back(std::to_string(cost));
  pending->rules.reserve(checks.size());
  for (const RateCheck& check : checks) {
    const GcraRule gcra = gcra_rule<std::chrono::microseconds>(*check.rule);
    pending->args.push_back(std::to_string(gcra.interval));
    pending->args.push_back(std::to_string(gcra.burst));
    pending->rules.push_back({check.rule->name, check.rule->limit});
  }
  pending->done = std::move(done);
  send(redis_, std::move(pending), false);
}

}  // namespace seraph
