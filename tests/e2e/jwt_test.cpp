// JWTs as bearer tokens, with the real binary and every refusal RFC 8725 asks for as a client
// sees it: the signature, the algorithm pinned per key (no `none`, no HS256 signed with the RSA
// public key), the key id, the time claims, issuer and audience; roles and per-deployment allow
// lists from the claims; and a JWKS file replaced while the server runs.
#include <gtest/gtest.h>

#include <openssl/evp.h>

#include <chrono>
#include <map>

#include "e2e_env.h"
#include "jwt_signer.h"
#include "server_process.h"

namespace seraph::test {
namespace {

int64_t now_s() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

class Jwt : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    rsa_ = testing::generate_rsa_key().release();
    ec_ = testing::generate_p256_key().release();
    ec_next_ = testing::generate_p256_key().release();
    dir_ = new std::filesystem::path(make_temp_dir("seraph-jwt"));
    write_file(*dir_ / "rsa.pem", testing::public_key_pem(rsa_));
    write_file(*dir_ / "jwks.json", jwks(ec_, "ec1"));
    const std::string yaml =
        "guards:\n  auth:\n    enabled: true\n"
        "    deployments:\n      mlp: {subjects: [bob]}\n"
        "    jwt:\n      enabled: true\n      issuer: https://id.example\n      audiences: [seraph]\n"
        "      clock_skew_s: 5\n      jwks_file: " + (*dir_ / "jwks.json").string() + "\n"
        "      keys:\n        - {kid: rsa1, alg: RS256, public_key_file: " + (*dir_ / "rsa.pem").string() + "}\n";
    server_ = new ServerProcess(write_config(shared_repository(), yaml));
  }
  static void TearDownTestSuite() {
    delete server_;
    EVP_PKEY_free(rsa_);
    EVP_PKEY_free(ec_);
    EVP_PKEY_free(ec_next_);
    delete dir_;
  }

  static std::string jwks(EVP_PKEY* key, const std::string& kid) {
    return R"({"keys":[)" + testing::public_key_jwk(key, R"("kid":")" + kid + R"(","alg":"ES256","use":"sig")") + "]}";
  }

  // Claims valid now for `sub` with `roles`; each test changes one of them.
  static std::string claims(const std::string& sub = "alice", const std::string& roles = R"(["predictor"])",
                            int64_t exp_offset = 600, const std::string& aud = "seraph",
                            const std::string& iss = "https://id.example", int64_t nbf_offset = -10) {
    return R"({"sub":")" + sub + R"(","roles":)" + roles + R"(,"aud":")" + aud + R"(","iss":")" + iss +
           R"(","exp":)" + std::to_string(now_s() + exp_offset) + R"(,"nbf":)" + std::to_string(now_s() + nbf_offset) +
           "}";
  }

  static std::string rs256(const std::string& payload, const std::string& kid = "rsa1") {
    return testing::signed_token(R"({"alg":"RS256","kid":")" + kid + R"("})", payload, rsa_);
  }

  Response predict(const std::string& token, const std::string& model = "sentiment") {
    return client_.request("POST", "/predict?model=" + model, R"({"text":"good"})",
                           {{"Content-Type", "application/json"}, {"Authorization", "Bearer " + token}});
  }

  unsigned status_of(const std::string& token) { return predict(token).status; }

  static EVP_PKEY* rsa_;
  static EVP_PKEY* ec_;
  static EVP_PKEY* ec_next_;
  static std::filesystem::path* dir_;
  static ServerProcess* server_;
  HttpClient client_{server_->port()};
};
EVP_PKEY* Jwt::rsa_ = nullptr;
EVP_PKEY* Jwt::ec_ = nullptr;
EVP_PKEY* Jwt::ec_next_ = nullptr;
std::filesystem::path* Jwt::dir_ = nullptr;
ServerProcess* Jwt::server_ = nullptr;

TEST_F(Jwt, AValidTokenCallsWhatItsRolesAllow) {
  Response ok = predict(rs256(claims()));
  EXPECT_EQ(ok.status, 200u) << ok.body;
  Response reader_route = client_.get("/models", {{"Authorization", "Bearer " + rs256(claims())}});
  EXPECT_EQ(reader_route.status, 403u) << "a predictor token is not a reader";
  EXPECT_EQ(client_.get("/models", {{"Authorization", "Bearer " + rs256(claims("carol", R"(["reader"])"))}}).status, 200u);
  EXPECT_EQ(client_.get("/models", {{"Authorization", "Bearer " + rs256(claims("dave", R"("reader predictor")"))}}).status,
            200u)
      << "roles may be one space-separated string, as OAuth scopes are";
}

TEST_F(Jwt, EveryBadTokenIs401) {
  const std::string good = rs256(claims());
  std::string bad_signature = good;
  bad_signature[bad_signature.size() - 5] = bad_signature[bad_signature.size() - 5] == 'A' ? 'B' : 'A';
  const std::string payload_b64 = good.substr(good.find('.') + 1, good.rfind('.') - good.find('.') - 1);
  const std::string alg_none = "eyJhbGciOiJub25lIiwia2lkIjoicnNhMSJ9." + payload_b64 + ".";  // {"alg":"none","kid":"rsa1"}
  // Key confusion: HS256 "signed" with the RSA public key's PEM as the HMAC secret.
  const std::string confused =
      testing::hs256_token(R"({"alg":"HS256","kid":"rsa1"})", claims(), testing::public_key_pem(rsa_));
  const std::map<std::string, std::string> cases = {
      {"bad signature", bad_signature},
      {"alg none", alg_none},
      {"HS256 with the RSA public key", confused},
      {"expired", rs256(claims("alice", R"(["predictor"])", -60))},
      {"not yet valid", rs256(claims("alice", R"(["predictor"])", 600, "seraph", "https://id.example", 120))},
      {"wrong audience", rs256(claims("alice", R"(["predictor"])", 600, "someone-else"))},
      {"wrong issuer", rs256(claims("alice", R"(["predictor"])", 600, "seraph", "https://evil.example"))},
      {"unknown kid", rs256(claims(), "rsa9")},
      {"not a JWT", "just-some-words"},
  };
  for (const auto& [name, token] : cases) {
    Response r = predict(token);
    EXPECT_EQ(r.status, 401u) << name << ": " << r.body;
    EXPECT_EQ(r.header("www-authenticate"), R"(Bearer realm="seraph", error="invalid_token")") << name;
    EXPECT_EQ(r.body.find(token), std::string::npos) << name << ": the token is never echoed";
  }
  EXPECT_EQ(status_of(rs256(claims("alice", R"(["predictor"])", -3))), 200u) << "expired within the clock skew";
}

TEST_F(Jwt, ADeploymentsAllowListAdmitsOnlyItsSubjects) {
  Response alice = predict(rs256(claims("alice")), "mlp");
  EXPECT_EQ(alice.status, 403u) << alice.body;
  EXPECT_NE(predict(rs256(claims("bob")), "mlp").status, 403u) << "bob is on mlp's list";
}

TEST_F(Jwt, AReplacedJwksFileIsPickedUpWithoutARestart) {
  const std::string header = R"({"alg":"ES256","kid":")";
  EXPECT_EQ(status_of(testing::signed_token(header + R"(ec1"})", claims(), ec_)), 200u);
  EXPECT_EQ(status_of(testing::signed_token(header + R"(ec2"})", claims(), ec_next_)), 401u);
  const auto temporary = *dir_ / "jwks.json.new";
  write_file(temporary, jwks(ec_next_, "ec2"));
  std::filesystem::rename(temporary, *dir_ / "jwks.json");  // replaced at once, as a deploy tool does it
  EXPECT_TRUE(eventually([&] { return status_of(testing::signed_token(header + R"(ec2"})", claims(), ec_next_)) == 200u; }, 10));
  EXPECT_EQ(status_of(testing::signed_token(header + R"(ec1"})", claims(), ec_)), 401u) << "the old key is gone";
  EXPECT_EQ(status_of(rs256(claims())), 200u) << "keys from the config stay";
}

}  // namespace
}  // namespace seraph::test
