// JWT verification: the algorithms, the key rules that defeat confusion attacks, the claims, the
// bounds, JWKS parsing and the key store's reloads. Tokens are signed here with OpenSSL, as an
// identity provider would sign them.
#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <thread>

#include <fmt/format.h>
#include <openssl/ec.h>
#include <openssl/evp.h>

#include "auth/base64url.h"
#include "auth/cached_jwt_verifier.h"
#include "auth/jwt_key_store.h"
#include "auth/jwt_verifier.h"
#include "jwt_signer.h"
#include "test_support.h"

namespace seraph {
namespace {

using testing::generate_p256_key;
using testing::generate_rsa_key;
using testing::hs256_token;
using testing::public_key_jwk;
using testing::public_key_pem;
using testing::signed_token;

constexpr int64_t kNow = 1'700'000'000;
const std::string kSecret = "0123456789abcdef0123456789abcdef-hs256-test-secret";

std::string claims(int64_t exp_offset = 3600,
                   std::string_view extra = R"("roles":["reader","writer"],"tenant":"acme")") {
  return fmt::format(R"({{"sub":"alice","exp":{},{}}})", kNow + exp_offset, extra);
}

std::string header(std::string_view alg, std::string_view kid) {
  return kid.empty() ? fmt::format(R"({{"alg":"{}","typ":"JWT"}})", alg)
                     : fmt::format(R"({{"alg":"{}","kid":"{}","typ":"JWT"}})", alg, kid);
}

class JwtTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    rsa_ = generate_rsa_key().release();
    ec_ = generate_p256_key().release();
    other_rsa_ = generate_rsa_key().release();
  }
  static void TearDownTestSuite() {
    EVP_PKEY_free(rsa_);
    EVP_PKEY_free(ec_);
    EVP_PKEY_free(other_rsa_);
  }

  static std::vector<JwtKeyConfig> three_keys() {
    return {{"hs", JwtAlgorithm::kHs256, kSecret, "", ""},
            {"rs", JwtAlgorithm::kRs256, "", public_key_pem(rsa_), ""},
            {"es", JwtAlgorithm::kEs256, "", public_key_pem(ec_), ""}};
  }

  static std::shared_ptr<const JwtKeySet> key_set(const std::vector<JwtKeyConfig>& keys, std::string_view jwks = "") {
    std::shared_ptr<const JwtKeySet> set;
    const Status status = build_jwt_key_set(keys, jwks, set);
    EXPECT_TRUE(status.is_ok()) << status.message();
    return set;
  }

  Status verify(std::string_view token, const JwtKeySet& keys) {
    return verify_jwt(token, keys, policy_, kNow, verified_);
  }
  Status verify(std::string_view token) { return verify(token, *key_set(three_keys())); }

  // Refused with 401, and the message names `reason`.
  static void expect_refused(const Status& status, std::string_view reason) {
    EXPECT_EQ(status.code(), StatusCode::kUnauthenticated) << status.message();
    EXPECT_NE(status.message().find(reason), std::string::npos) << status.message();
  }

  static inline EVP_PKEY* rsa_ = nullptr;
  static inline EVP_PKEY* ec_ = nullptr;
  static inline EVP_PKEY* other_rsa_ = nullptr;
  JwtPolicy policy_;
  VerifiedJwt verified_;
};

// --- the three algorithms

TEST_F(JwtTest, Hs256TokenIsVerifiedAndItsSubjectRolesAndTenantRead) {
  ASSERT_TRUE(verify(hs256_token(header("HS256", "hs"), claims(), kSecret)).is_ok());
  EXPECT_EQ(verified_.subject, "alice");
  EXPECT_EQ(verified_.tenant, "acme");
  EXPECT_EQ(verified_.roles, (std::vector<std::string>{"reader", "writer"}));
  EXPECT_EQ(verified_.kid, "hs");
  EXPECT_EQ(verified_.expires_at, kNow + 3600);
}

TEST_F(JwtTest, Rs256TokenIsVerified) {
  const Status status = verify(signed_token(header("RS256", "rs"), claims(), rsa_));
  ASSERT_TRUE(status.is_ok()) << status.message();
  EXPECT_EQ(verified_.subject, "alice");
  EXPECT_EQ(verified_.tenant, "acme");
  EXPECT_EQ(verified_.roles.size(), 2u);
  EXPECT_EQ(verified_.kid, "rs");
}

TEST_F(JwtTest, Es256TokenIsVerified) {
  const Status status = verify(signed_token(header("ES256", "es"), claims(), ec_));
  ASSERT_TRUE(status.is_ok()) << status.message();
  EXPECT_EQ(verified_.subject, "alice");
  EXPECT_EQ(verified_.tenant, "acme");
  EXPECT_EQ(verified_.roles.size(), 2u);
  EXPECT_EQ(verified_.kid, "es");
}

TEST_F(JwtTest, ThreadsVerifyWithOneKeySetAtOnce) {
  const auto keys = key_set(three_keys());
  const std::vector<std::string> tokens = {hs256_token(header("HS256", "hs"), claims(), kSecret),
                                           signed_token(header("RS256", "rs"), claims(), rsa_),
                                           signed_token(header("ES256", "es"), claims(), ec_)};
  std::atomic<int> verified{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 150; ++i) {
        VerifiedJwt out;
        if (verify_jwt(tokens[i % 3], *keys, policy_, kNow, out).is_ok() && out.subject == "alice") ++verified;
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(verified.load(), 4 * 150);
}

// --- signatures and algorithms

TEST_F(JwtTest, SignatureByAnotherKeyIsRefused) {
  expect_refused(verify(signed_token(header("RS256", "rs"), claims(), other_rsa_)), "signature does not match");
  expect_refused(verify(hs256_token(header("HS256", "hs"), claims(), kSecret + "x")), "signature does not match");
}

TEST_F(JwtTest, EditedPayloadIsRefused) {
  const std::string token = signed_token(header("ES256", "es"), claims(), ec_);
  const size_t first = token.find('.'), second = token.find('.', first + 1);
  const std::string edited = token.substr(0, first + 1) + base64url_encode(claims(7200)) + token.substr(second);
  expect_refused(verify(edited), "signature does not match");
}

TEST_F(JwtTest, Es256SignatureThatIsNotSixtyFourBytesIsRefused) {
  const std::string token = signed_token(header("ES256", "es"), claims(), ec_);
  const std::string der_sized = token.substr(0, token.rfind('.') + 1) + base64url_encode(std::string(70, '\x01'));
  expect_refused(verify(der_sized), "64 bytes");
}

TEST_F(JwtTest, AlgNoneIsRefusedWithOrWithoutASignaturePart) {
  const std::string unsigned_part = base64url_encode(R"({"alg":"none"})") + "." + base64url_encode(claims());
  expect_refused(verify(unsigned_part + "."), "alg none");
  expect_refused(verify(unsigned_part + "." + base64url_encode("whatever")), "alg none");
  expect_refused(verify(base64url_encode(R"({"alg":"NoNe","kid":"hs"})") + "." + base64url_encode(claims()) + "."),
                 "alg none");
}

TEST_F(JwtTest, AlgorithmsOtherThanTheThreeAreRefused) {
  expect_refused(verify(hs256_token(header("HS512", "hs"), claims(), kSecret)), "alg is not");
  expect_refused(verify(hs256_token(R"({"kid":"hs"})", claims(), kSecret)), "no alg");
}

TEST_F(JwtTest, Hs256SignedWithTheRsaPublicKeyPemIsRefused) {
  // Key confusion: a verifier that let the token choose the algorithm would use the PEM as an HMAC secret.
  const std::string pem = public_key_pem(rsa_);
  expect_refused(verify(hs256_token(header("HS256", "rs"), claims(), pem)), "alg is not the algorithm of the key");
  const auto only_rsa = key_set({{"", JwtAlgorithm::kRs256, "", pem, ""}});
  expect_refused(verify(hs256_token(header("HS256", ""), claims(), pem), *only_rsa), "alg is not the algorithm");
}

TEST_F(JwtTest, TokenSignedWithAlgOfAnotherKeyIsRefused) {
  expect_refused(verify(signed_token(header("RS256", "es"), claims(), rsa_)), "alg is not the algorithm of the key");
}

// --- kid

TEST_F(JwtTest, UnknownKidIsRefused) {
  expect_refused(verify(hs256_token(header("HS256", "nope"), claims(), kSecret)), "unknown kid");
}

TEST_F(JwtTest, TokenWithoutKidIsRefusedWhenEveryKeyHasAKid) {
  expect_refused(verify(hs256_token(header("HS256", ""), claims(), kSecret)), "no kid");
}

TEST_F(JwtTest, TokenWithoutKidIsVerifiedByTheOnlyKey) {
  const auto one = key_set({{"rs", JwtAlgorithm::kRs256, "", public_key_pem(rsa_), ""}});
  EXPECT_TRUE(verify(signed_token(header("RS256", ""), claims(), rsa_), *one).is_ok());
}

TEST_F(JwtTest, TokenWithoutKidIsTriedWithEachKeyConfiguredWithoutKid) {
  auto keys = three_keys();
  keys.push_back({"", JwtAlgorithm::kRs256, "", public_key_pem(other_rsa_), ""});
  keys.push_back({"", JwtAlgorithm::kRs256, "", public_key_pem(rsa_), ""});
  const auto set = key_set(keys);
  const Status status = verify(signed_token(header("RS256", ""), claims(), rsa_), *set);
  ASSERT_TRUE(status.is_ok()) << status.message();
  EXPECT_EQ(verified_.kid, "");
  // The kid-less keys are not tried for a token that names a kid.
  expect_refused(verify(signed_token(header("RS256", "rs"), claims(), other_rsa_), *set), "signature does not match");
}

// --- time claims

TEST_F(JwtTest, ExpiredTokenIsRefused) {
  expect_refused(verify(hs256_token(header("HS256", "hs"), claims(-31), kSecret)), "expired");
  expect_refused(verify(hs256_token(header("HS256", "hs"), claims(-30), kSecret)), "expired");  // now >= exp + skew
}

TEST_F(JwtTest, TokenExpiredWithinTheClockSkewPasses) {
  EXPECT_TRUE(verify(hs256_token(header("HS256", "hs"), claims(-29), kSecret)).is_ok());
}

TEST_F(JwtTest, TokenNotYetValidIsRefused) {
  const auto nbf = [](int64_t offset) { return fmt::format(R"("nbf":{})", kNow + offset); };
  expect_refused(verify(hs256_token(header("HS256", "hs"), claims(3600, nbf(31)), kSecret)), "not yet valid");
  EXPECT_TRUE(verify(hs256_token(header("HS256", "hs"), claims(3600, nbf(30)), kSecret)).is_ok());
}

TEST_F(JwtTest, TokenWithoutExpIsRefusedUnlessExpiryIsOptional) {
  const std::string token = hs256_token(header("HS256", "hs"), R"({"sub":"alice"})", kSecret);
  expect_refused(verify(token), "no exp");
  policy_.require_expiry = false;
  ASSERT_TRUE(verify(token).is_ok());
  EXPECT_EQ(verified_.expires_at, 0);
}

TEST_F(JwtTest, TimeClaimsThatAreNotNumbersAreRefused) {
  expect_refused(verify(hs256_token(header("HS256", "hs"), R"({"sub":"a","exp":"tomorrow"})", kSecret)),
                 "exp is not a number");
  expect_refused(verify(hs256_token(header("HS256", "hs"), claims(3600, R"("iat":"now")"), kSecret)),
                 "iat is not a number");
}

TEST_F(JwtTest, FractionalExpIsAccepted) {
  ASSERT_TRUE(
      verify(hs256_token(header("HS256", "hs"), fmt::format(R"({{"sub":"a","exp":{}.5}})", kNow), kSecret)).is_ok());
  EXPECT_EQ(verified_.expires_at, kNow + 1);  // rounded up: the token is valid during that second
}

// --- issuer and audience

TEST_F(JwtTest, WrongIssuerIsRefused) {
  policy_.issuer = "https://id.example.com";
  expect_refused(
      verify(hs256_token(header("HS256", "hs"), claims(3600, R"("iss":"https://evil.example.com")"), kSecret)), "iss");
  expect_refused(verify(hs256_token(header("HS256", "hs"), claims(), kSecret)), "no iss");
  EXPECT_TRUE(
      verify(hs256_token(header("HS256", "hs"), claims(3600, R"("iss":"https://id.example.com")"), kSecret)).is_ok());
}

TEST_F(JwtTest, WrongAudienceIsRefused) {
  policy_.audiences = {"seraph", "gateway"};
  expect_refused(verify(hs256_token(header("HS256", "hs"), claims(3600, R"("aud":"billing")"), kSecret)),
                 "aud is not accepted");
  expect_refused(verify(hs256_token(header("HS256", "hs"), claims(3600, R"("aud":["billing","mail"])"), kSecret)),
                 "aud is not accepted");
  expect_refused(verify(hs256_token(header("HS256", "hs"), claims(), kSecret)), "no aud");
}

TEST_F(JwtTest, AudienceIsAcceptedAsAStringOrInAnArray) {
  policy_.audiences = {"seraph", "gateway"};
  EXPECT_TRUE(verify(hs256_token(header("HS256", "hs"), claims(3600, R"("aud":"gateway")"), kSecret)).is_ok());
  EXPECT_TRUE(
      verify(hs256_token(header("HS256", "hs"), claims(3600, R"("aud":["billing","seraph"])"), kSecret)).is_ok());
}

// --- subject, roles, tenant

TEST_F(JwtTest, RolesMayBeASpaceSeparatedString) {
  policy_.roles_claim = "scope";
  ASSERT_TRUE(
      verify(hs256_token(header("HS256", "hs"), claims(3600, R"("scope":"read  write admin")"), kSecret)).is_ok());
  EXPECT_EQ(verified_.roles, (std::vector<std::string>{"read", "write", "admin"}));
}

TEST_F(JwtTest, MissingRolesAndTenantAreEmpty) {
  ASSERT_TRUE(verify(hs256_token(header("HS256", "hs"), R"({"sub":"bob","exp":1700003600})", kSecret)).is_ok());
  EXPECT_TRUE(verified_.roles.empty());
  EXPECT_TRUE(verified_.tenant.empty());
}

TEST_F(JwtTest, MalformedRolesAndTenantAreRefused) {
  expect_refused(verify(hs256_token(header("HS256", "hs"), claims(3600, R"("roles":["a",1])"), kSecret)),
                 "roles claim holds a non-string");
  expect_refused(verify(hs256_token(header("HS256", "hs"), claims(3600, R"("roles":{"a":1})"), kSecret)),
                 "roles claim is neither");
  expect_refused(verify(hs256_token(header("HS256", "hs"), claims(3600, R"("tenant":7)"), kSecret)),
                 "tenant claim is not a string");
}

TEST_F(JwtTest, ConfiguredClaimNamesAreRead) {
  policy_.subject_claim = "email";
  policy_.tenant_claim = "org";
  policy_.roles_claim = "groups";
  ASSERT_TRUE(verify(hs256_token(header("HS256", "hs"),
                                 claims(3600, R"("email":"a@example.com","org":"o1","groups":["g"])"), kSecret))
                  .is_ok());
  EXPECT_EQ(verified_.subject, "a@example.com");
  EXPECT_EQ(verified_.tenant, "o1");
  EXPECT_EQ(verified_.roles, std::vector<std::string>{"g"});
}

TEST_F(JwtTest, MissingOrEmptySubjectIsRefused) {
  expect_refused(verify(hs256_token(header("HS256", "hs"), R"({"exp":1700003600})", kSecret)), "subject");
  expect_refused(verify(hs256_token(header("HS256", "hs"), R"({"sub":"","exp":1700003600})", kSecret)), "subject");
  expect_refused(verify(hs256_token(header("HS256", "hs"), R"({"sub":42,"exp":1700003600})", kSecret)), "subject");
}

// --- malformed tokens and bounds

TEST_F(JwtTest, BadBase64urlIsRefused) {
  const std::string token = hs256_token(header("HS256", "hs"), claims(), kSecret);
  expect_refused(verify("eyJ+bGciOiJIUzI1NiJ9" + token.substr(token.find('.'))), "the header is not base64url");
  expect_refused(verify(token + "="), "the signature is not base64url");  // padding is not tolerated
  const std::string padded_header = base64url_encode(R"({"alg":"HS256","kid":"hs"})") + "==";
  expect_refused(verify(padded_header + token.substr(token.find('.'))), "not base64url");
}

TEST_F(JwtTest, NonCanonicalBase64urlIsRefused) {
  std::string decoded;
  EXPECT_TRUE(base64url_decode("QQ", decoded));      // "A"
  EXPECT_FALSE(base64url_decode("QR", decoded));     // the same byte with non-zero trailing bits
  EXPECT_FALSE(base64url_decode("QUJDR", decoded));  // a length no byte count encodes to
}

TEST_F(JwtTest, Base64urlRoundTripsEveryLength) {
  std::string bytes;
  for (int length = 0; length < 70; ++length) {
    const std::string text = base64url_encode(bytes);
    EXPECT_EQ(text.find_first_of("+/="), std::string::npos);
    std::string decoded;
    ASSERT_TRUE(base64url_decode(text, decoded)) << text;
    EXPECT_EQ(decoded, bytes);
    bytes.push_back(static_cast<char>(length * 37 + 251));
  }
}

TEST_F(JwtTest, BadJsonIsRefused) {
  expect_refused(verify(hs256_token(R"({"alg":"HS256","kid":"hs")", claims(), kSecret)),
                 "the header is not valid JSON");
  expect_refused(verify(hs256_token(header("HS256", "hs"), R"({"sub":"a",)", kSecret)),
                 "the payload is not valid JSON");
  expect_refused(verify(hs256_token(R"(["HS256"])", claims(), kSecret)), "the header is not a JSON object");
  expect_refused(verify(hs256_token(header("HS256", "hs"), "[1]", kSecret)), "the payload is not a JSON object");
}

TEST_F(JwtTest, WrongNumberOfPartsIsRefused) {
  const std::string token = hs256_token(header("HS256", "hs"), claims(), kSecret);
  expect_refused(verify(token + ".x"), "three");
  expect_refused(verify(token.substr(0, token.rfind('.'))), "three");
  expect_refused(verify(""), "three");
}

TEST_F(JwtTest, CritHeaderIsRefused) {
  expect_refused(verify(hs256_token(R"({"alg":"HS256","kid":"hs","crit":["exp"],"exp":1})", claims(), kSecret)),
                 "crit");
}

TEST_F(JwtTest, DuplicateMemberNamesAreRefused) {
  expect_refused(verify(hs256_token(R"({"alg":"HS256","kid":"hs","alg":"none"})", claims(), kSecret)), "twice");
  expect_refused(verify(hs256_token(header("HS256", "hs"), R"({"sub":"a","exp":1700003600,"sub":"root"})", kSecret)),
                 "twice");
}

TEST_F(JwtTest, OversizeTokenIsRefusedBeforeDecoding) {
  const std::string token =
      hs256_token(header("HS256", "hs"), claims(3600, fmt::format(R"("pad":"{}")", std::string(6200, 'x'))), kSecret);
  ASSERT_GT(token.size(), kMaxJwtBytes);
  expect_refused(verify(token), "longer than 8 KiB");
}

TEST_F(JwtTest, DeeplyNestedClaimsAreRefused) {
  const std::string deep = std::string(40, '[') + std::string(40, ']');
  expect_refused(verify(hs256_token(header("HS256", "hs"), claims(3600, R"("x":)" + deep), kSecret)), "not valid JSON");
}

TEST_F(JwtTest, MessagesNeverQuoteTheToken) {
  const std::string token = hs256_token(header("HS256", "who-knows"), claims(), kSecret);
  const Status status = verify(token);
  EXPECT_EQ(status.message().find("who-knows"), std::string::npos);
  EXPECT_EQ(status.message().find(token.substr(token.rfind('.') + 1)), std::string::npos);
}

// --- configured keys

TEST_F(JwtTest, ParsesTheThreeAlgorithmNames) {
  EXPECT_EQ(parse_jwt_algorithm("HS256"), JwtAlgorithm::kHs256);
  EXPECT_EQ(parse_jwt_algorithm("RS256"), JwtAlgorithm::kRs256);
  EXPECT_EQ(parse_jwt_algorithm("ES256"), JwtAlgorithm::kEs256);
  EXPECT_FALSE(parse_jwt_algorithm("hs256"));
  EXPECT_FALSE(parse_jwt_algorithm("none"));
}

TEST_F(JwtTest, KeyMayBeGivenAsACertificate) {
  const auto set = key_set({{"rs", JwtAlgorithm::kRs256, "", testing::self_signed_certificate_pem(rsa_), ""},
                            {"es", JwtAlgorithm::kEs256, "", testing::self_signed_certificate_pem(ec_), ""}});
  EXPECT_TRUE(verify(signed_token(header("RS256", "rs"), claims(), rsa_), *set).is_ok());
  EXPECT_TRUE(verify(signed_token(header("ES256", "es"), claims(), ec_), *set).is_ok());
}

TEST_F(JwtTest, WeakOrMismatchedConfiguredKeysAreRefused) {
  auto build = [](JwtKeyConfig key) {
    std::shared_ptr<const JwtKeySet> set;
    return build_jwt_key_set({std::move(key)}, "", set);
  };
  EvpPkeyPtr small_rsa = generate_rsa_key(1024);
  EvpPkeyPtr p384(EVP_EC_gen("P-384"));
  EXPECT_EQ(build({"a", JwtAlgorithm::kHs256, "too short", "", ""}).code(), StatusCode::kInvalidArgument);
  EXPECT_NE(build({"a", JwtAlgorithm::kRs256, "", public_key_pem(small_rsa.get()), ""}).message().find("2048"),
            std::string::npos);
  EXPECT_NE(build({"a", JwtAlgorithm::kEs256, "", public_key_pem(p384.get()), ""}).message().find("P-256"),
            std::string::npos);
  EXPECT_NE(build({"a", JwtAlgorithm::kRs256, "", public_key_pem(ec_), ""}).message().find("RSA"), std::string::npos);
  EXPECT_NE(build({"a", JwtAlgorithm::kEs256, "", public_key_pem(rsa_), ""}).message().find("P-256"),
            std::string::npos);
  EXPECT_NE(build({"a", JwtAlgorithm::kRs256, "", "not a pem", ""}).message().find("not a PEM"), std::string::npos);
  EXPECT_FALSE(build({"a", JwtAlgorithm::kHs256, kSecret, public_key_pem(rsa_), ""}).is_ok());
}

TEST_F(JwtTest, KeySetWithoutKeysIsAnError) {
  std::shared_ptr<const JwtKeySet> set;
  EXPECT_FALSE(build_jwt_key_set({}, "", set).is_ok());
  EXPECT_FALSE(build_jwt_key_set({}, R"({"keys":[]})", set).is_ok());
}

// --- JWKS

TEST_F(JwtTest, JwksRsaAndEcKeysVerifyTokens) {
  const std::string jwks = fmt::format(R"({{"keys":[{},{}]}})", public_key_jwk(rsa_, R"("kid":"r1","use":"sig")"),
                                       public_key_jwk(ec_, R"("kid":"e1","alg":"ES256")"));
  const auto set = key_set({}, jwks);
  ASSERT_EQ(set->size(), 2u);
  EXPECT_TRUE(verify(signed_token(header("RS256", "r1"), claims(), rsa_), *set).is_ok());  // RSA defaults to RS256
  EXPECT_TRUE(verify(signed_token(header("ES256", "e1"), claims(), ec_), *set).is_ok());
  expect_refused(verify(hs256_token(header("HS256", "r1"), claims(), public_key_pem(rsa_)), *set), "alg is not");
}

TEST_F(JwtTest, JwksOctKeyVerifiesHs256AndNeedsAlg) {
  const std::string k = base64url_encode(kSecret);
  const auto set = key_set({}, fmt::format(R"({{"keys":[{{"kty":"oct","kid":"o","alg":"HS256","k":"{}"}}]}})", k));
  EXPECT_TRUE(verify(hs256_token(header("HS256", "o"), claims(), kSecret), *set).is_ok());
  std::shared_ptr<const JwtKeySet> unpinned;
  const Status status = build_jwt_key_set({}, fmt::format(R"({{"keys":[{{"kty":"oct","k":"{}"}}]}})", k), unpinned);
  EXPECT_NE(status.message().find("needs 'alg'"), std::string::npos) << status.message();
}

TEST_F(JwtTest, JwksAndConfiguredKeysAreCombined) {
  const auto set =
      key_set(three_keys(), fmt::format(R"({{"keys":[{}]}})", public_key_jwk(other_rsa_, R"("kid":"r2")")));
  EXPECT_EQ(set->size(), 4u);
  EXPECT_TRUE(verify(signed_token(header("RS256", "r2"), claims(), other_rsa_), *set).is_ok());
  EXPECT_TRUE(verify(hs256_token(header("HS256", "hs"), claims(), kSecret), *set).is_ok());
}

TEST_F(JwtTest, JwksKeysNotForUsAreSkippedAndNamed) {
  const std::string jwks =
      fmt::format(R"({{"keys":[{},{},{{"kty":"OKP","crv":"Ed25519","x":"AAAA","kid":"ed"}},{},{}]}})",
                  public_key_jwk(rsa_, R"("kid":"r1")"), public_key_jwk(other_rsa_, R"("kid":"enc1","use":"enc")"),
                  public_key_jwk(other_rsa_, R"("kid":"ps","alg":"PS256")"), public_key_jwk(ec_, R"("kid":"e1")"));
  const auto set = key_set({}, jwks);
  EXPECT_EQ(set->size(), 2u);
  ASSERT_EQ(set->ignored_keys().size(), 3u);
  EXPECT_NE(set->ignored_keys()[0].find("use 'enc'"), std::string::npos);
  EXPECT_NE(set->ignored_keys()[1].find("kty 'OKP'"), std::string::npos);
  EXPECT_NE(set->ignored_keys()[2].find("alg 'PS256'"), std::string::npos);
  // An encryption key's kid does not verify signatures.
  expect_refused(verify(signed_token(header("RS256", "enc1"), claims(), other_rsa_), *set), "unknown kid");
}

TEST_F(JwtTest, MalformedJwksIsAnError) {
  auto error_of = [](std::string_view jwks) {
    std::shared_ptr<const JwtKeySet> set;
    const Status status = build_jwt_key_set({}, jwks, set);
    EXPECT_EQ(status.code(), StatusCode::kInvalidArgument);
    return status.message();
  };
  EXPECT_NE(error_of("{").find("malformed JSON"), std::string::npos);
  EXPECT_NE(error_of(R"({"keys":{}})").find("'keys' array"), std::string::npos);
  EXPECT_NE(error_of(R"({"keys":[1]})").find("not an object"), std::string::npos);
  EXPECT_NE(error_of(R"({"keys":[{"n":"AQAB"}]})").find("'kty' is missing"), std::string::npos);
  EXPECT_NE(error_of(R"({"keys":[{"kty":7}]})").find("'kty' is not a string"), std::string::npos);
  EXPECT_NE(error_of(R"({"keys":[{"kty":"RSA","e":"AQAB"}]})").find("'n' is missing"), std::string::npos);
  EXPECT_NE(error_of(R"({"keys":[{"kty":"RSA","n":"AQ==","e":"AQAB"}]})").find("not base64url"), std::string::npos);
}

TEST_F(JwtTest, JwksDuplicateKidIsAnError) {
  const std::string twice =
      fmt::format(R"({{"keys":[{},{}]}})", public_key_jwk(rsa_, R"("kid":"k")"), public_key_jwk(ec_, R"("kid":"k")"));
  std::shared_ptr<const JwtKeySet> set;
  EXPECT_NE(build_jwt_key_set({}, twice, set).message().find("kid 'k'"), std::string::npos);
  // A kid in the JWKS that a configured key already has.
  const std::string clash = fmt::format(R"({{"keys":[{}]}})", public_key_jwk(ec_, R"("kid":"hs")"));
  EXPECT_NE(build_jwt_key_set(three_keys(), clash, set).message().find("kid 'hs'"), std::string::npos);
}

TEST_F(JwtTest, JwksWeakOrInvalidKeysAreErrors) {
  EvpPkeyPtr small_rsa = generate_rsa_key(1024);
  std::shared_ptr<const JwtKeySet> set;
  const std::string small = fmt::format(R"({{"keys":[{}]}})", public_key_jwk(small_rsa.get(), R"("kid":"s")"));
  EXPECT_NE(build_jwt_key_set({}, small, set).message().find("2048"), std::string::npos);
  // A point that is not on P-256.
  std::string off_curve = public_key_jwk(ec_, R"("kid":"e")");
  const size_t y = off_curve.find(R"("y":")") + 5;
  off_curve[y] = off_curve[y] == 'A' ? 'B' : 'A';
  EXPECT_FALSE(build_jwt_key_set({}, fmt::format(R"({{"keys":[{}]}})", off_curve), set).is_ok());
  // ES256 pinned on another curve, or RS256 pinned on an EC key.
  EXPECT_FALSE(
      build_jwt_key_set({}, R"({"keys":[{"kty":"EC","crv":"P-384","alg":"ES256","x":"AA","y":"AA"}]})", set).is_ok());
  EXPECT_FALSE(
      build_jwt_key_set({}, fmt::format(R"({{"keys":[{}]}})", public_key_jwk(ec_, R"("alg":"RS256")")), set).is_ok());
}

// --- the key store

class JwtKeyStoreTest : public JwtTest {
 protected:
  // Replaces the file as a deploy tool would: a new file renamed over the old one.
  void replace_jwks(const std::string& contents) {
    testing::write_file(dir_ / "jwks.json.new", contents);
    std::filesystem::rename(dir_ / "jwks.json.new", jwks_path());
  }
  std::string jwks_path() const { return (dir_ / "jwks.json").string(); }
  static std::string jwks_of(EVP_PKEY* key, std::string_view kid) {
    return fmt::format(R"({{"keys":[{}]}})", public_key_jwk(key, fmt::format(R"("kid":"{}")", kid)));
  }

  testing::TempDir dir_;
};

TEST_F(JwtKeyStoreTest, LoadFailsOnAMissingOrBrokenFile) {
  JwtKeyStore missing({}, jwks_path());
  EXPECT_FALSE(missing.load().is_ok());
  EXPECT_EQ(missing.current(), nullptr);
  replace_jwks("{not json");
  JwtKeyStore broken({}, jwks_path());
  EXPECT_NE(broken.load().message().find("jwks.json"), std::string::npos);
}

TEST_F(JwtKeyStoreTest, ReloadIfChangedPicksUpARewrittenJwks) {
  replace_jwks(jwks_of(rsa_, "old"));
  JwtKeyStore store({}, jwks_path());
  ASSERT_TRUE(store.load().is_ok());
  const uint64_t loaded = store.version();
  EXPECT_TRUE(store.reload_if_changed().is_ok());
  EXPECT_EQ(store.version(), loaded);  // nothing changed: nothing rebuilt

  replace_jwks(jwks_of(other_rsa_, "new"));
  ASSERT_TRUE(store.reload_if_changed().is_ok());
  EXPECT_GT(store.version(), loaded);
  EXPECT_TRUE(verify(signed_token(header("RS256", "new"), claims(), other_rsa_), *store.current()).is_ok());
  expect_refused(verify(signed_token(header("RS256", "old"), claims(), rsa_), *store.current()), "unknown kid");
}

TEST_F(JwtKeyStoreTest, BrokenJwksKeepsThePreviousSetAndReturnsTheError) {
  replace_jwks(jwks_of(rsa_, "old"));
  JwtKeyStore store({}, jwks_path());
  ASSERT_TRUE(store.load().is_ok());
  const auto before = store.current();
  const uint64_t version = store.version();

  replace_jwks(R"({"keys":[{"kty":"RSA"}]})");
  const Status status = store.reload_if_changed();
  EXPECT_EQ(status.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(status.message().find("'n' is missing"), std::string::npos) << status.message();
  EXPECT_EQ(store.current(), before);
  EXPECT_EQ(store.version(), version);
  EXPECT_TRUE(verify(signed_token(header("RS256", "old"), claims(), rsa_), *store.current()).is_ok());
  EXPECT_FALSE(store.reload().is_ok());  // a forced reload reports it again
  EXPECT_EQ(store.current(), before);
}

TEST_F(JwtKeyStoreTest, ReloadIfChangedPicksUpARewrittenPemFile) {
  testing::write_file(dir_ / "key.pem", public_key_pem(rsa_));
  JwtKeyStore store({{"rs", JwtAlgorithm::kRs256, "", "", (dir_ / "key.pem").string()}}, "");
  ASSERT_TRUE(store.load().is_ok());
  EXPECT_TRUE(verify(signed_token(header("RS256", "rs"), claims(), rsa_), *store.current()).is_ok());

  testing::write_file(dir_ / "key.pem.new", public_key_pem(other_rsa_));
  std::filesystem::rename(dir_ / "key.pem.new", dir_ / "key.pem");
  ASSERT_TRUE(store.reload_if_changed().is_ok());
  EXPECT_TRUE(verify(signed_token(header("RS256", "rs"), claims(), other_rsa_), *store.current()).is_ok());
}

// --- the cache of verified tokens

TEST_F(JwtTest, CachedVerifierAnswersARepeatedTokenFromTheCache) {
  CachedJwtVerifier cache(policy_);
  const auto keys = key_set(three_keys());
  const std::string token = signed_token(header("RS256", "rs"), claims(), rsa_);
  ASSERT_TRUE(cache.verify(token, *keys, kNow, verified_).is_ok());
  EXPECT_EQ(cache.hits(), 0u);
  VerifiedJwt again;
  ASSERT_TRUE(cache.verify(token, *keys, kNow + 1, again).is_ok());
  EXPECT_EQ(cache.hits(), 1u);
  EXPECT_EQ(again.subject, "alice");
  EXPECT_EQ(again.roles, verified_.roles);
  EXPECT_EQ(again.tenant, "acme");
  EXPECT_EQ(again.kid, "rs");
}

TEST_F(JwtTest, CachedVerifierNeverServesAnEntryAtOrPastExp) {
  CachedJwtVerifier cache(policy_);
  const auto keys = key_set(three_keys());
  const std::string token = hs256_token(header("HS256", "hs"), claims(10), kSecret);
  ASSERT_TRUE(cache.verify(token, *keys, kNow, verified_).is_ok());
  // At exp the verifier itself still accepts (within the skew), but not from the cache.
  EXPECT_TRUE(cache.verify(token, *keys, kNow + 10, verified_).is_ok());
  EXPECT_EQ(cache.hits(), 0u);
  expect_refused(cache.verify(token, *keys, kNow + 40, verified_), "expired");
  EXPECT_EQ(cache.hits(), 0u);
}

TEST_F(JwtTest, CachedVerifierDropsItsEntriesWhenTheKeySetChanges) {
  CachedJwtVerifier cache(policy_);
  const std::string token = signed_token(header("RS256", "rs"), claims(), rsa_);
  ASSERT_TRUE(cache.verify(token, *key_set(three_keys()), kNow, verified_).is_ok());
  ASSERT_EQ(cache.size(), 1u);
  // The new set no longer holds the key the token was verified with.
  const auto rotated = key_set({{"rs", JwtAlgorithm::kRs256, "", public_key_pem(other_rsa_), ""}});
  expect_refused(cache.verify(token, *rotated, kNow, verified_), "signature does not match");
  EXPECT_EQ(cache.hits(), 0u);
  EXPECT_EQ(cache.size(), 0u);
}

TEST_F(JwtTest, CachedVerifierDoesNotCacheRefusals) {
  CachedJwtVerifier cache(policy_);
  const auto keys = key_set(three_keys());
  const std::string token = signed_token(header("RS256", "rs"), claims(), other_rsa_);
  expect_refused(cache.verify(token, *keys, kNow, verified_), "signature does not match");
  expect_refused(cache.verify(token, *keys, kNow, verified_), "signature does not match");
  EXPECT_EQ(cache.size(), 0u);
}

TEST_F(JwtTest, CachedVerifierHoldsAtMostItsCapacity) {
  CachedJwtVerifier cache(policy_, 128);
  const auto keys = key_set(three_keys());
  for (int i = 0; i < 1000; ++i) {
    const std::string token = hs256_token(header("HS256", "hs"), claims(3600 + i), kSecret);
    ASSERT_TRUE(cache.verify(token, *keys, kNow, verified_).is_ok());
  }
  EXPECT_EQ(cache.capacity(), 128u);
  EXPECT_LE(cache.size(), 128u);
  EXPECT_GT(cache.size(), 64u);
}

TEST_F(JwtTest, CachedVerifierServesThreadsAtOnce) {
  CachedJwtVerifier cache(policy_);
  const auto keys = key_set(three_keys());
  const std::vector<std::string> tokens = {
      hs256_token(header("HS256", "hs"), claims(), kSecret), signed_token(header("RS256", "rs"), claims(), rsa_),
      signed_token(header("ES256", "es"), claims(), ec_), signed_token(header("RS256", "rs"), claims(), other_rsa_)};
  std::atomic<int> verified{0}, refused{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 200; ++i) {
        VerifiedJwt out;
        const Status status = cache.verify(tokens[i % 4], *keys, kNow, out);
        if (status.is_ok() && out.subject == "alice") ++verified;
        if (status.code() == StatusCode::kUnauthenticated) ++refused;
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(verified.load(), 4 * 150);
  EXPECT_EQ(refused.load(), 4 * 50);
  EXPECT_GE(cache.hits(), 4u * 150 - 3 * 4);  // at most each thread's first sight of each token misses
}

}  // namespace
}  // namespace seraph
