#include "core/status.h"

#include <gtest/gtest.h>

#include <utility>

namespace seraph {
namespace {

TEST(HttpStatusOf, MapsEveryStatusCodeToItsHttpStatus) {
  const std::pair<StatusCode, unsigned> kMapping[] = {
      {StatusCode::kOk, 200},
      {StatusCode::kInvalidArgument, 400},
      {StatusCode::kNotFound, 404},
      {StatusCode::kMethodNotAllowed, 405},
      {StatusCode::kPayloadTooLarge, 413},
      {StatusCode::kUnsupportedMediaType, 415},
      {StatusCode::kResourceExhausted, 429},
      {StatusCode::kInternal, 500},
      {StatusCode::kUnavailable, 503},
      {StatusCode::kDeadlineExceeded, 504},
  };
  for (const auto& [code, http] : kMapping) {
    EXPECT_EQ(http_status_of(code), http) << "StatusCode " << static_cast<int>(code);
  }
}

TEST(Status, DefaultIsOkWithNoMessage) {
  Status s;
  EXPECT_TRUE(s.is_ok());
  EXPECT_EQ(s.code(), StatusCode::kOk);
  EXPECT_EQ(s.message(), "");
}

TEST(Status, HelpersCarryTheirCodeAndMessage) {
  EXPECT_EQ(invalid_argument("bad").code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(not_found("gone").code(), StatusCode::kNotFound);
  EXPECT_EQ(unavailable("busy").code(), StatusCode::kUnavailable);
  EXPECT_EQ(internal_error("oops").code(), StatusCode::kInternal);
  EXPECT_EQ(invalid_argument("bad").message(), "bad");
  EXPECT_FALSE(invalid_argument("bad").is_ok());
}

}  // namespace
}  // namespace seraph
