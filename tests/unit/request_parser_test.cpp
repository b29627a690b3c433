#include "server/request_parser.h"

#include <string>
#include <string_view>
#include <vector>

#include <gtest/gtest.h>

namespace seraph {
namespace {

using namespace std::string_literals;

constexpr size_t kHeaderLimit = 1024;
constexpr size_t kBodyLimit = 256;

const std::string kPredictBody = R"({"text": "The battery life is great and the screen is not bad at all"})";
const std::string kPredict =
    "POST /predict?model=sentiment HTTP/1.1\r\nHost: 127.0.0.1\r\n"
    "Content-Type: application/json\r\nContent-Length: " +
    std::to_string(kPredictBody.size()) + "\r\n\r\n" + kPredictBody;
const std::string kChunked =
    "POST /predict HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
    "5;name=value\r\nhello\r\n6 ; quoted=\"a b\"\r\n world\r\n0\r\nX-Checksum: abc\r\n\r\n";

// What one parse ended with, to compare parses of the same bytes.
struct Outcome {
  RequestParser::Result result = RequestParser::Result::kNeedMore;
  size_t consumed = 0;
  Method method = Method::kOther;
  std::string target;
  std::string body;
  std::vector<std::string> headers;  // a few names' values
  bool keep_alive = false;
  bool http10 = false;
  bool expects_continue = false;
  unsigned error_status = 0;
  std::string error_message;

  bool operator==(const Outcome&) const = default;
};

Outcome outcome_of(RequestParser& parser, RequestParser::Result result, size_t consumed) {
  Outcome out;
  out.result = result;
  out.consumed = consumed;
  out.error_status = parser.error_status();
  out.error_message = parser.error_message();
  if (result != RequestParser::Result::kComplete) return out;
  out.method = parser.method();
  out.target = parser.target();
  out.body = parser.body();
  out.keep_alive = parser.keep_alive();
  out.http10 = parser.http10();
  out.expects_continue = parser.expects_continue();
  const HeaderMap headers = parser.take_headers();
  for (std::string_view name : {"host", "content-type", "x-checksum"}) {
    out.headers.emplace_back(headers.header(name));
  }
  return out;
}

// Feeds `bytes` as reads that end at `splits` (ascending), the way a connection does: what a feed
// leaves unconsumed is offered again with the next read. Stops at the first request's end.
Outcome parse_in_reads(std::string_view bytes, const std::vector<size_t>& splits, size_t header_limit = kHeaderLimit,
                       size_t body_limit = kBodyLimit) {
  RequestParser parser(header_limit, body_limit);
  size_t fed = 0;  // bytes the parser has consumed
  size_t total = 0;
  for (size_t i = 0; i <= splits.size(); ++i) {
    const size_t read_end = i < splits.size() ? splits[i] : bytes.size();
    size_t consumed = 0;
    const auto result = parser.feed(bytes.data() + fed, read_end - fed, consumed);
    fed += consumed;
    total += consumed;
    if (result != RequestParser::Result::kNeedMore) return outcome_of(parser, result, total);
    EXPECT_EQ(fed, read_end) << "a feed that needs more must take all it is given";
  }
  return outcome_of(parser, RequestParser::Result::kNeedMore, total);
}

Outcome parse(std::string_view bytes, size_t header_limit = kHeaderLimit, size_t body_limit = kBodyLimit) {
  return parse_in_reads(bytes, {}, header_limit, body_limit);
}

void expect_error(std::string_view bytes, unsigned status, std::string_view message) {
  const Outcome out = parse(bytes);
  EXPECT_EQ(out.result, RequestParser::Result::kError) << bytes;
  EXPECT_EQ(out.error_status, status) << bytes;
  EXPECT_NE(out.error_message.find(message), std::string::npos) << out.error_message;
}

void expect_bad_request(std::string_view bytes, std::string_view message) { expect_error(bytes, 400, message); }

TEST(RequestParser, ParsesASimpleGet) {
  const Outcome out = parse("GET /v2/health/live HTTP/1.1\r\nHost: example\r\n\r\n");
  ASSERT_EQ(out.result, RequestParser::Result::kComplete) << out.error_message;
  EXPECT_EQ(out.method, Method::kGet);
  EXPECT_EQ(out.target, "/v2/health/live");
  EXPECT_EQ(out.body, "");
  EXPECT_EQ(out.headers[0], "example");
  EXPECT_TRUE(out.keep_alive);
  EXPECT_FALSE(out.http10);
}

TEST(RequestParser, ParsesAPostWithContentLength) {
  const Outcome out = parse(kPredict);
  ASSERT_EQ(out.result, RequestParser::Result::kComplete) << out.error_message;
  EXPECT_EQ(out.method, Method::kPost);
  EXPECT_EQ(out.target, "/predict?model=sentiment");
  EXPECT_EQ(out.body, kPredictBody);
  EXPECT_EQ(out.headers[1], "application/json");
  EXPECT_EQ(out.consumed, kPredict.size());
}

TEST(RequestParser, MapsMethodsAndTakesOtherTokensAsOther) {
  EXPECT_EQ(parse("HEAD / HTTP/1.1\r\n\r\n").method, Method::kHead);
  EXPECT_EQ(parse("PUT / HTTP/1.1\r\n\r\n").method, Method::kPut);
  EXPECT_EQ(parse("DELETE / HTTP/1.1\r\n\r\n").method, Method::kDelete);
  const Outcome other = parse("PATCH / HTTP/1.1\r\n\r\n");
  EXPECT_EQ(other.result, RequestParser::Result::kComplete);
  EXPECT_EQ(other.method, Method::kOther);
  EXPECT_EQ(parse("get / HTTP/1.1\r\n\r\n").method, Method::kOther) << "methods are case-sensitive";
}

TEST(RequestParser, AcceptsAsteriskAndAbsoluteFormTargets) {
  EXPECT_EQ(parse("OPTIONS * HTTP/1.1\r\n\r\n").target, "*");
  EXPECT_EQ(parse("GET http://host:8080/v2?x=1 HTTP/1.1\r\n\r\n").target, "http://host:8080/v2?x=1");
}

TEST(RequestParser, TrimsWhitespaceAroundFieldValuesAndAcceptsEmptyOnes) {
  const Outcome out = parse("GET / HTTP/1.1\r\nHost:\t  spaced out \t\r\nX-Empty:\r\n\r\n");
  ASSERT_EQ(out.result, RequestParser::Result::kComplete) << out.error_message;
  EXPECT_EQ(out.headers[0], "spaced out");
}

TEST(RequestParser, DecodesAChunkedBodySkippingExtensionsAndDroppingTrailers) {
  const Outcome out = parse(kChunked);
  ASSERT_EQ(out.result, RequestParser::Result::kComplete) << out.error_message;
  EXPECT_EQ(out.body, "hello world");
  EXPECT_EQ(out.headers[2], "") << "a trailer must not become a header";
  EXPECT_EQ(out.consumed, kChunked.size());
}

TEST(RequestParser, AcceptsUpperCaseHexChunkSizes) {
  const std::string body(0x1A, 'x');
  const Outcome out = parse("POST / HTTP/1.1\r\nTransfer-Encoding: Chunked\r\n\r\n1A\r\n" + body + "\r\n0\r\n\r\n");
  ASSERT_EQ(out.result, RequestParser::Result::kComplete) << out.error_message;
  EXPECT_EQ(out.body, body);
}

TEST(RequestParser, StopsAfterOneRequestSoPipelinedOnesFollow) {
  const std::string second = "GET /second HTTP/1.1\r\n\r\n";
  const std::string bytes = kPredict + second;
  RequestParser parser(kHeaderLimit, kBodyLimit);
  size_t consumed = 0;
  ASSERT_EQ(parser.feed(bytes.data(), bytes.size(), consumed), RequestParser::Result::kComplete);
  EXPECT_EQ(consumed, kPredict.size());
  EXPECT_EQ(parser.body(), kPredictBody);
  parser.reset();
  size_t more = 0;
  ASSERT_EQ(parser.feed(bytes.data() + consumed, bytes.size() - consumed, more), RequestParser::Result::kComplete);
  EXPECT_EQ(more, second.size());
  EXPECT_EQ(parser.target(), "/second");
  EXPECT_EQ(parser.body(), "");
}

TEST(RequestParser, EverySplitPointGivesTheSameResult) {
  for (const std::string& bytes : {kPredict, kChunked}) {
    const Outcome whole = parse(bytes);
    ASSERT_EQ(whole.result, RequestParser::Result::kComplete);
    for (size_t split = 1; split < bytes.size(); ++split) {
      EXPECT_EQ(parse_in_reads(bytes, {split}), whole) << "split at " << split << " of\n" << bytes;
    }
  }
}

TEST(RequestParser, ByteByByteFeedGivesTheSameResult) {
  for (const std::string& bytes : {kPredict, kChunked, std::string("GET / HTTP/1.1\r\nX: a\x01\r\n\r\n")}) {
    std::vector<size_t> every_byte;
    for (size_t at = 1; at < bytes.size(); ++at) every_byte.push_back(at);
    EXPECT_EQ(parse_in_reads(bytes, every_byte), parse(bytes)) << bytes;
  }
}

TEST(RequestParser, NeedsMoreUntilTheBodyIsComplete) {
  const Outcome out = parse(kPredict.substr(0, kPredict.size() - 1));
  EXPECT_EQ(out.result, RequestParser::Result::kNeedMore);
  EXPECT_EQ(out.consumed, kPredict.size() - 1);
}

TEST(RequestParser, ResetStartsAFreshRequest) {
  RequestParser parser(kHeaderLimit, kBodyLimit);
  size_t consumed = 0;
  ASSERT_EQ(parser.feed(kPredict.data(), 20, consumed), RequestParser::Result::kNeedMore);
  parser.reset();
  EXPECT_FALSE(parser.got_some());
  const std::string get = "GET /fresh HTTP/1.1\r\n\r\n";
  ASSERT_EQ(parser.feed(get.data(), get.size(), consumed), RequestParser::Result::kComplete);
  EXPECT_EQ(parser.target(), "/fresh");
}

TEST(RequestParser, SkipsEmptyLinesBeforeTheRequestLine) {
  const Outcome out = parse("\r\n\r\nGET /after HTTP/1.1\r\n\r\n");
  ASSERT_EQ(out.result, RequestParser::Result::kComplete) << out.error_message;
  EXPECT_EQ(out.target, "/after");
}

TEST(RequestParser, Http10ClosesByDefault) {
  const Outcome out = parse("GET / HTTP/1.0\r\n\r\n");
  ASSERT_EQ(out.result, RequestParser::Result::kComplete);
  EXPECT_TRUE(out.http10);
  EXPECT_FALSE(out.keep_alive);
}

TEST(RequestParser, Http10KeepsAliveWhenAsked) {
  EXPECT_TRUE(parse("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n").keep_alive);
}

TEST(RequestParser, ConnectionCloseInAnyCaseOrListEndsKeepAlive) {
  EXPECT_FALSE(parse("GET / HTTP/1.1\r\nConnection: close\r\n\r\n").keep_alive);
  EXPECT_FALSE(parse("GET / HTTP/1.1\r\nConnection: TE, CLOSE\r\n\r\n").keep_alive);
  EXPECT_FALSE(parse("GET / HTTP/1.0\r\nConnection: keep-alive\r\nConnection: close\r\n\r\n").keep_alive);
  EXPECT_TRUE(parse("GET / HTTP/1.1\r\nConnection: keep-alive\r\n\r\n").keep_alive);
  EXPECT_TRUE(parse("GET / HTTP/1.1\r\nConnection: closed\r\n\r\n").keep_alive) << "a token, not a prefix";
}

TEST(RequestParser, ExpectContinueIsKnownOnceTheHeadersAreIn) {
  const std::string head = "POST / HTTP/1.1\r\nExpect: 100-Continue\r\nContent-Length: 4\r\n";
  RequestParser parser(kHeaderLimit, kBodyLimit);
  size_t consumed = 0;
  ASSERT_EQ(parser.feed(head.data(), head.size(), consumed), RequestParser::Result::kNeedMore);
  EXPECT_FALSE(parser.expects_continue()) << "the headers are not complete yet";
  EXPECT_FALSE(parser.headers_complete());
  ASSERT_EQ(parser.feed("\r\n", 2, consumed), RequestParser::Result::kNeedMore);
  EXPECT_TRUE(parser.headers_complete());
  EXPECT_TRUE(parser.expects_continue());
  ASSERT_EQ(parser.feed("body", 4, consumed), RequestParser::Result::kComplete);
  EXPECT_EQ(parser.body(), "body");
}

TEST(RequestParser, ExpectContinueFromAnHttp10ClientIsIgnored) {
  EXPECT_FALSE(parse("POST / HTTP/1.0\r\nExpect: 100-continue\r\n\r\n").expects_continue);
}

TEST(RequestParser, ReadsFramingFieldsInAnyCase) {
  EXPECT_EQ(parse("POST / HTTP/1.1\r\nCONTENT-LENGTH: 3\r\n\r\nabc").body, "abc");
  EXPECT_EQ(parse("POST / HTTP/1.1\r\nTRANSFER-ENCODING: CHUNKED\r\n\r\n3\r\nabc\r\n0\r\n\r\n").body, "abc");
}

TEST(RequestParser, TakesOnlyTheExactNameAsAFramingField) {
  const std::string head = "POST / HTTP/1.1\r\nContent_Length: 3\r\nContent-Lengths: 3\r\n\r\n";
  const Outcome out = parse(head + "abc");
  ASSERT_EQ(out.result, RequestParser::Result::kComplete) << out.error_message;
  EXPECT_EQ(out.body, "") << "neither field is Content-Length";
  EXPECT_EQ(out.consumed, head.size()) << "the bytes after the headers are the next request's";
}

TEST(RequestParser, EqualRepeatedContentLengthsAreAccepted) {
  const Outcome out = parse("POST / HTTP/1.1\r\nContent-Length: 3, 3\r\nContent-Length: 3\r\n\r\nabc");
  ASSERT_EQ(out.result, RequestParser::Result::kComplete) << out.error_message;
  EXPECT_EQ(out.body, "abc");
}

TEST(RequestParser, RejectsContentLengthWithTransferEncoding) {
  expect_bad_request("POST / HTTP/1.1\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
                     "both Content-Length and Transfer-Encoding");
  expect_bad_request("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n0\r\n\r\n",
                     "both Content-Length and Transfer-Encoding");
}

TEST(RequestParser, RejectsDifferingContentLengths) {
  expect_bad_request("POST / HTTP/1.1\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd",
                     "differing Content-Length");
  expect_bad_request("POST / HTTP/1.1\r\nContent-Length: 3, 4\r\n\r\nabcd", "differing Content-Length");
}

TEST(RequestParser, RejectsContentLengthWithASign) {
  expect_bad_request("POST / HTTP/1.1\r\nContent-Length: +3\r\n\r\nabc", "invalid Content-Length");
  expect_bad_request("POST / HTTP/1.1\r\nContent-Length: -1\r\n\r\n", "invalid Content-Length");
}

TEST(RequestParser, RejectsContentLengthWithSpaceInside) {
  expect_bad_request("POST / HTTP/1.1\r\nContent-Length: 1 2\r\n\r\n", "invalid Content-Length");
  expect_bad_request("POST / HTTP/1.1\r\nContent-Length: 0x3\r\n\r\n", "invalid Content-Length");
  expect_bad_request("POST / HTTP/1.1\r\nContent-Length:\r\n\r\n", "invalid Content-Length");
}

TEST(RequestParser, RejectsContentLengthThatOverflows) {
  expect_bad_request("POST / HTTP/1.1\r\nContent-Length: 18446744073709551616\r\n\r\n", "Content-Length is too large");
}

TEST(RequestParser, RejectsATransferCodingOtherThanChunkedLast) {
  expect_bad_request("POST / HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n", "final transfer coding is not chunked");
  expect_bad_request("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: gzip\r\n\r\n",
                     "final transfer coding is not chunked");
  expect_bad_request("POST / HTTP/1.1\r\nTransfer-Encoding: chunked, chunked\r\n\r\n", "more than once");
}

TEST(RequestParser, AnswersAnUnimplementedTransferCodingBeforeChunkedWith501) {
  expect_error("POST / HTTP/1.1\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n", 501, "not implemented");
}

TEST(RequestParser, RejectsTransferEncodingInHttp10) {
  expect_bad_request("POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", "HTTP/1.0");
}

TEST(RequestParser, RejectsAnInvalidChunkSize) {
  expect_bad_request("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nz\r\n", "invalid chunk size");
  expect_bad_request("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5 x\r\nhello\r\n0\r\n\r\n",
                     "invalid chunk size");
  expect_bad_request("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n-5\r\n", "invalid chunk size");
}

TEST(RequestParser, RejectsAChunkSizeThatOverflows) {
  expect_bad_request("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n10000000000000000\r\n",
                     "chunk size is too large");
}

TEST(RequestParser, RejectsChunkDataNotFollowedByCrlf) {
  expect_bad_request("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhelloX\r\n0\r\n\r\n",
                     "not followed by CRLF");
  expect_bad_request("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\n0\r\n\r\n",
                     "not followed by CRLF");
}

TEST(RequestParser, BoundsChunkExtensions) {
  const std::string extension = ";x=" + std::string(kHeaderLimit, 'a');
  expect_bad_request("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5" + extension + "\r\nhello\r\n0\r\n\r\n",
                     "chunk extensions are too long");
  // Split anywhere, the partial line is refused as soon as it cannot fit: it is not buffered whole.
  const std::string unended = "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5" + extension;
  EXPECT_EQ(parse_in_reads(unended, {unended.size() - extension.size()}).error_status, 400u);
}

TEST(RequestParser, BoundsTrailersByTheHeaderLimit) {
  const std::string trailer = "X-Trailer: " + std::string(kHeaderLimit, 'a') + "\r\n";
  expect_error("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n" + trailer + "\r\n", 431,
               "trailers are too large");
}

TEST(RequestParser, RejectsInvalidTrailerFields) {
  expect_bad_request("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nX Y: z\r\n\r\n", "field name");
}

TEST(RequestParser, RejectsObsFold) {
  expect_bad_request("GET / HTTP/1.1\r\nX-Long: a\r\n b\r\n\r\n", "obsolete line folding");
  expect_bad_request("GET / HTTP/1.1\r\nX-Long: a\r\n\tb\r\n\r\n", "obsolete line folding");
}

TEST(RequestParser, RejectsWhitespaceBeforeTheColon) {
  expect_bad_request("GET / HTTP/1.1\r\nContent-Length : 3\r\n\r\nabc", "whitespace between a header field name");
}

TEST(RequestParser, RejectsAnInvalidCharacterInAFieldName) {
  expect_bad_request("GET / HTTP/1.1\r\nX(y): 1\r\n\r\n", "invalid header field name");
  expect_bad_request("GET / HTTP/1.1\r\n: 1\r\n\r\n", "invalid header field name");
  expect_bad_request("GET / HTTP/1.1\r\nno colon\r\n\r\n", "no colon");
}

TEST(RequestParser, RejectsControlCharactersInAFieldValue) {
  expect_bad_request("GET / HTTP/1.1\r\nX: a\0b\r\n\r\n"s, "invalid character in a header field value");
  expect_bad_request("GET / HTTP/1.1\r\nX: a\x7f\r\n\r\n", "invalid character in a header field value");
  expect_bad_request("GET / HTTP/1.1\r\nX: a\rb\r\n\r\n", "invalid character in a header field value");
}

// Values and targets are checked a word at a time: every byte value at every position of one.
TEST(RequestParser, ChecksEveryByteOfALongFieldValue) {
  for (int value = 0; value < 256; ++value) {
    const auto c = static_cast<char>(value);
    const bool allowed = c == '\t' || (value >= 0x20 && value != 0x7f);
    for (size_t position = 1; position < 19; ++position) {  // not at the ends, where whitespace is trimmed
      std::string field(20, 'v');
      field[position] = c;
      const Outcome out = parse("GET / HTTP/1.1\r\nX-Long: " + field + "\r\n\r\n");
      EXPECT_EQ(out.result, allowed ? RequestParser::Result::kComplete : RequestParser::Result::kError)
          << "byte " << value << " at " << position;
    }
  }
}

TEST(RequestParser, ChecksEveryByteOfALongTarget) {
  for (int value = 0; value < 256; ++value) {
    const auto c = static_cast<char>(value);
    const bool allowed = value > 0x20 && value < 0x7f;
    if (c == '\n' || c == ' ') continue;  // a line end or a separator: another error, tested elsewhere
    for (size_t position = 1; position < 20; ++position) {
      std::string target = "/" + std::string(19, 't');
      target[position] = c;
      const Outcome out = parse("GET " + target + " HTTP/1.1\r\n\r\n");
      EXPECT_EQ(out.result, allowed ? RequestParser::Result::kComplete : RequestParser::Result::kError)
          << "byte " << value << " at " << position;
      if (!allowed) {
        EXPECT_EQ(out.error_message, "malformed HTTP request: invalid request target");
      }
    }
  }
}

TEST(RequestParser, AcceptsTabsAndObsTextInAFieldValue) {
  EXPECT_EQ(parse("GET / HTTP/1.1\r\nHost: a\tb\xc3\xa9\r\n\r\n").headers[0], "a\tb\xc3\xa9");
}

TEST(RequestParser, RejectsABareLfLineEnd) {
  expect_bad_request("GET / HTTP/1.1\nHost: x\n\n", "bare LF");
  expect_bad_request("GET / HTTP/1.1\r\nHost: x\n\r\n", "bare LF");
  expect_bad_request("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\n\r\n", "bare LF");
}

TEST(RequestParser, RejectsABareCr) { expect_bad_request("GET / HTTP/1.1\rHost: x\r\n\r\n", "invalid HTTP version"); }

TEST(RequestParser, RejectsAMalformedRequestLine) {
  expect_bad_request("THIS IS NOT HTTP\r\n\r\n", "invalid HTTP version");
  expect_bad_request("GET  / HTTP/1.1\r\n\r\n", "invalid request target");
  expect_bad_request("GET /a b HTTP/1.1\r\n\r\n", "invalid HTTP version");
  expect_bad_request("GET /\x01 HTTP/1.1\r\n\r\n", "invalid request target");
  expect_bad_request("GET /caf\xc3\xa9 HTTP/1.1\r\n\r\n", "invalid request target");
  expect_bad_request("G(T / HTTP/1.1\r\n\r\n", "invalid method");
  expect_bad_request("GET / HTTP/1.1 \r\n\r\n", "invalid HTTP version");
  expect_bad_request("GET / http/1.1\r\n\r\n", "invalid HTTP version");
}

TEST(RequestParser, AnswersAnotherHttpVersionWith505) {
  expect_error("GET / HTTP/2.0\r\n\r\n", 505, "HTTP/2.0 is not supported");
  expect_error("GET / HTTP/1.2\r\n\r\n", 505, "HTTP/1.2 is not supported");
  expect_error("GET / HTTP/0.9\r\n\r\n", 505, "HTTP/0.9 is not supported");
}

TEST(RequestParser, AnswersHeadersOverTheLimitWith431) {
  const std::string big = "GET / HTTP/1.1\r\nX-Big: " + std::string(kHeaderLimit, 'a') + "\r\n\r\n";
  expect_error(big, 431, "request headers are too large");
  expect_error("GET /" + std::string(kHeaderLimit, 'a') + " HTTP/1.1\r\n\r\n", 431, "request headers are too large");
  // Many small fields add up.
  std::string many = "GET / HTTP/1.1\r\n";
  while (many.size() <= kHeaderLimit) many += "X: 1\r\n";
  expect_error(many + "\r\n", 431, "request headers are too large");
}

TEST(RequestParser, RefusesAnUnendedHeaderLineOnceItCannotFit) {
  const std::string unended = "GET / HTTP/1.1\r\nX-Big: " + std::string(kHeaderLimit, 'a');
  const Outcome out = parse(unended);
  EXPECT_EQ(out.result, RequestParser::Result::kError);
  EXPECT_EQ(out.error_status, 431u);
}

TEST(RequestParser, AcceptsHeadersUpToTheLimit) {
  const std::string head = "GET / HTTP/1.1\r\nX: ";
  const std::string exact = head + std::string(kHeaderLimit - head.size() - 4, 'a') + "\r\n\r\n";
  ASSERT_EQ(exact.size(), kHeaderLimit);
  EXPECT_EQ(parse(exact).result, RequestParser::Result::kComplete);
}

TEST(RequestParser, AnswersAContentLengthOverTheLimitWith413AtTheHeaders) {
  // The body is not sent: the answer must not wait for it.
  expect_error("POST / HTTP/1.1\r\nContent-Length: " + std::to_string(kBodyLimit + 1) + "\r\n\r\n", 413,
               "exceeds the limit of 256 bytes");
}

TEST(RequestParser, AnswersAChunkedBodyOverTheLimitWith413) {
  const std::string half(kBodyLimit / 2, 'x');
  const std::string chunk = "80\r\n" + half + "\r\n";
  expect_error("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n" + chunk + chunk + "1\r\n", 413,
               "exceeds the limit of 256 bytes");
  EXPECT_EQ(parse("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n" + chunk + chunk + "0\r\n\r\n").body.size(),
            kBodyLimit);
}

// RFC 9110 7.8: a server may ignore an Upgrade offer (curl --http2 makes an h2c one); the answer
// is HTTP/1.1 and the connection stays HTTP/1.1, as it would behind a proxy that saw no 101.
TEST(RequestParser, TakesAnUpgradeOfferAsAPlainRequest) {
  const Outcome out = parse(
      "GET /v2 HTTP/1.1\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\n"
      "HTTP2-Settings: AAMAAABkAAQAoAAAAAIAAAAA\r\n\r\n");
  EXPECT_EQ(out.result, RequestParser::Result::kComplete);
  EXPECT_EQ(out.target, "/v2");
  EXPECT_TRUE(out.keep_alive);
}

}  // namespace
}  // namespace seraph
