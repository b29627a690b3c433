// Micro-benchmarks of JWT verification per algorithm, the auth guard's per-request cost: parsing,
// signature check and claims, for a typical token (kid, issuer, audience, roles, tenant); and the
// same token answered by the cache of verified tokens.
#include <benchmark/benchmark.h>

#include <string>

#include "auth/cached_jwt_verifier.h"
#include "auth/jwt_verifier.h"
#include "jwt_signer.h"

namespace seraph {
namespace {

constexpr int64_t kNow = 1'700'000'000;
const std::string kSecret = "benchmark-hs256-secret-0123456789abcdef";
const std::string kClaims =
    R"({"iss":"https://id.example.com","aud":"seraph","sub":"alice","exp":1700003600,"iat":1700000000,)"
    R"("roles":["reader","writer"],"tenant":"acme"})";

JwtPolicy bench_policy() {
  JwtPolicy policy;
  policy.issuer = "https://id.example.com";
  policy.audiences = {"seraph"};
  return policy;
}

void run_verify(benchmark::State& state, const std::string& token, const JwtKeySet& keys) {
  const JwtPolicy policy = bench_policy();
  VerifiedJwt verified;
  if (Status status = verify_jwt(token, keys, policy, kNow, verified); !status.is_ok()) {
    state.SkipWithError(status.message().c_str());
    return;
  }
  for (auto _ : state) benchmark::DoNotOptimize(verify_jwt(token, keys, policy, kNow, verified));
}

std::shared_ptr<const JwtKeySet> one_key(JwtKeyConfig key) {
  std::shared_ptr<const JwtKeySet> keys;
  if (!build_jwt_key_set({std::move(key)}, "", keys).is_ok()) return nullptr;
  return keys;
}

void BM_VerifyJwtHs256(benchmark::State& state) {
  const auto keys = one_key({"k", JwtAlgorithm::kHs256, kSecret, "", ""});
  run_verify(state, testing::hs256_token(R"({"alg":"HS256","kid":"k","typ":"JWT"})", kClaims, kSecret), *keys);
}
BENCHMARK(BM_VerifyJwtHs256);

void BM_VerifyJwtRs256(benchmark::State& state) {
  const EvpPkeyPtr rsa = testing::generate_rsa_key();
  const auto keys = one_key({"k", JwtAlgorithm::kRs256, "", testing::public_key_pem(rsa.get()), ""});
  run_verify(state, testing::signed_token(R"({"alg":"RS256","kid":"k","typ":"JWT"})", kClaims, rsa.get()), *keys);
}
BENCHMARK(BM_VerifyJwtRs256);

void BM_VerifyJwtEs256(benchmark::State& state) {
  const EvpPkeyPtr ec = testing::generate_p256_key();
  const auto keys = one_key({"k", JwtAlgorithm::kEs256, "", testing::public_key_pem(ec.get()), ""});
  run_verify(state, testing::signed_token(R"({"alg":"ES256","kid":"k","typ":"JWT"})", kClaims, ec.get()), *keys);
}
BENCHMARK(BM_VerifyJwtEs256);

// A client sending the same token again: a SHA-256 of it and a shard lookup instead of the check.
void BM_VerifyJwtRs256Cached(benchmark::State& state) {
  const EvpPkeyPtr rsa = testing::generate_rsa_key();
  const auto keys = one_key({"k", JwtAlgorithm::kRs256, "", testing::public_key_pem(rsa.get()), ""});
  const std::string token = testing::signed_token(R"({"alg":"RS256","kid":"k","typ":"JWT"})", kClaims, rsa.get());
  CachedJwtVerifier cache(bench_policy());
  VerifiedJwt verified;
  if (Status status = cache.verify(token, *keys, kNow, verified); !status.is_ok()) {
    state.SkipWithError(status.message().c_str());
    return;
  }
  for (auto _ : state) benchmark::DoNotOptimize(cache.verify(token, *keys, kNow, verified));
}
BENCHMARK(BM_VerifyJwtRs256Cached)->Threads(1)->Threads(2);

}  // namespace
}  // namespace seraph
