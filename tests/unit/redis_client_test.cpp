// RedisClient against a real redis-server: replies of every type, commands from several threads,
// and what the client does when Redis is absent, slow, overloaded, killed and back.
#include "store/redis_client.h"

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <future>
#include <memory>
#include <thread>

#include "child_process.h"
#include "core/clock.h"
#include "redis_server.h"
#include "test_support.h"

namespace seraph {
namespace {

using namespace std::chrono_literals;

struct Answer {
  Status status;
  RedisReply reply;
};

// Waits for the answer; every command is answered by its timeout, so the bound here only keeps a
// broken client from hanging the suite.
Answer run(RedisClient& client, std::vector<std::string> args) {
  auto promise = std::make_shared<std::promise<Answer>>();
  auto answer = promise->get_future();
  client.command(std::move(args), [promise](Status status, RedisReply reply) {
    promise->set_value({std::move(status), std::move(reply)});
  });
  if (answer.wait_for(10s) != std::future_status::ready) throw std::runtime_error("the Redis client never answered");
  return answer.get();
}

RedisOptions options_for(uint16_t port) {
  RedisOptions options;
  options.port = port;
  options.connect_timeout = 1s;
  options.command_timeout = 2s;  // generous: this machine's cores are shared with other builds
  return options;
}

class RedisClientTest : public ::testing::Test {
 protected:
  // A client connected to the fixture's server.
  std::unique_ptr<RedisClient> connected_client(RedisOptions options) {
    auto client = std::make_unique<RedisClient>(std::move(options));
    if (!testing::eventually([&] { return client->connected(); }, 5s)) throw std::runtime_error("never connected");
    return client;
  }
  std::unique_ptr<RedisClient> connected_client() { return connected_client(options_for(server_.port())); }

  testing::RedisServer server_;
};

TEST_F(RedisClientTest, SetThenGetRoundTripsABinaryValue) {
  auto client = connected_client();
  const std::string value("a\0b\r\nc", 6);
  const Answer set = run(*client, {"SET", "key", value});
  ASSERT_TRUE(set.status.is_ok()) << set.status.message();
  EXPECT_EQ(set.reply.type, RedisReply::Type::kStatus);
  EXPECT_EQ(set.reply.text, "OK");

  const Answer get = run(*client, {"GET", "key"});
  ASSERT_TRUE(get.status.is_ok()) << get.status.message();
  EXPECT_EQ(get.reply.type, RedisReply::Type::kString);
  EXPECT_EQ(get.reply.text, value);
}

TEST_F(RedisClientTest, IntegersArraysAndNilKeepTheirTypes) {
  auto client = connected_client();
  const Answer incremented = run(*client, {"INCRBY", "counter", "5"});
  EXPECT_EQ(incremented.reply.type, RedisReply::Type::kInteger);
  EXPECT_EQ(incremented.reply.integer, 5);

  ASSERT_TRUE(run(*client, {"RPUSH", "list", "x", "y"}).status.is_ok());
  const Answer list = run(*client, {"LRANGE", "list", "0", "-1"});
  ASSERT_EQ(list.reply.type, RedisReply::Type::kArray);
  ASSERT_EQ(list.reply.elements.size(), 2U);
  EXPECT_EQ(list.reply.elements[0].text, "x");
  EXPECT_EQ(list.reply.elements[1].text, "y");

  const Answer missing = run(*client, {"GET", "no-such-key"});
  ASSERT_TRUE(missing.status.is_ok());
  EXPECT_EQ(missing.reply.type, RedisReply::Type::kNil);
}

TEST_F(RedisClientTest, AnErrorReplyIsAnOkStatusWithTheErrorType) {
  auto client = connected_client();
  ASSERT_TRUE(run(*client, {"SET", "text", "not a number"}).status.is_ok());
  const Answer answer = run(*client, {"INCR", "text"});
  ASSERT_TRUE(answer.status.is_ok());
  EXPECT_EQ(answer.reply.type, RedisReply::Type::kError);
  EXPECT_NE(answer.reply.text.find("not an integer"), std::string::npos) << answer.reply.text;
  EXPECT_EQ(client->stats().error_replies, 1U);
}

TEST_F(RedisClientTest, CommandsFromSeveralThreadsAreEachAnsweredOnce) {
  auto client = connected_client();
  constexpr int kThreads = 4, kPerThread = 500;
  std::atomic<int> answered{0}, failed{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < kPerThread; ++i) {
        client->command({"INCR", "shared"}, [&](Status status, RedisReply reply) {
          if (!status.is_ok() || reply.type != RedisReply::Type::kInteger) failed.fetch_add(1);
          answered.fetch_add(1);
        });
      }
    });
  }
  for (auto& thread : threads) thread.join();
  ASSERT_TRUE(testing::eventually([&] { return answered.load() == kThreads * kPerThread; }, 10s)) << answered.load();
  EXPECT_EQ(failed.load(), 0);
  EXPECT_EQ(run(*client, {"GET", "shared"}).reply.text, std::to_string(kThreads * kPerThread));
  EXPECT_EQ(client->stats().commands, static_cast<uint64_t>(kThreads * kPerThread + 1));
}

TEST(RedisClientWithoutServerTest, CommandsFailAtOnceWithUnavailable) {
  RedisClient client(options_for(testing::free_port()));
  const TimePoint start = Clock::now();
  const Answer answer = run(client, {"PING"});
  EXPECT_EQ(answer.status.code(), StatusCode::kUnavailable);
  EXPECT_LT(elapsed_ms(start), 100.0);  // not the 2 s command timeout: nothing was queued
  EXPECT_FALSE(client.connected());
  EXPECT_EQ(client.stats().disconnected, 1U);
}

TEST_F(RedisClientTest, ACommandPastItsTimeoutFailsAndItsLateReplyIsDropped) {
  RedisOptions options = options_for(server_.port());
  options.command_timeout = 50ms;
  auto client = connected_client(options);
  ASSERT_TRUE(run(*client, {"CLIENT", "PAUSE", "300"}).status.is_ok());

  std::atomic<int> calls{0};
  auto first = std::make_shared<std::promise<Status>>();
  auto status = first->get_future();
  const TimePoint start = Clock::now();
  client->command({"GET", "key"}, [&calls, first](Status status, RedisReply) {
    if (calls.fetch_add(1) == 0) first->set_value(std::move(status));
  });
  ASSERT_EQ(status.wait_for(5s), std::future_status::ready);
  const double waited = elapsed_ms(start);
  EXPECT_EQ(status.get().code(), StatusCode::kUnavailable);
  EXPECT_GE(waited, 45.0);
  EXPECT_LT(waited, 250.0);  // by the timeout, well before the pause ends

  // Replies come in order: once a later command is answered, the late GET reply has arrived too.
  ASSERT_TRUE(testing::eventually([&] { return run(*client, {"PING"}).status.is_ok(); }, 5s));
  EXPECT_EQ(calls.load(), 1);
  EXPECT_GE(client->stats().timeouts, 1U);
  EXPECT_TRUE(client->connected());
}

TEST_F(RedisClientTest, PastMaxPendingCommandsFailAtOnce) {
  RedisOptions options = options_for(server_.port());
  options.max_pending = 2;
  auto client = connected_client(options);
  ASSERT_TRUE(run(*client, {"CLIENT", "PAUSE", "500"}).status.is_ok());
  std::atomic<int> answered{0};
  for (int i = 0; i < 2; ++i) client->command({"GET", "key"}, [&](Status, RedisReply) { answered.fetch_add(1); });

  const TimePoint start = Clock::now();
  const Answer third = run(*client, {"GET", "key"});
  EXPECT_EQ(third.status.code(), StatusCode::kUnavailable);
  EXPECT_LT(elapsed_ms(start), 100.0);
  EXPECT_EQ(client->stats().overloaded, 1U);
  EXPECT_EQ(answered.load(), 0);  // the two in flight are still waiting on the paused server
  ASSERT_TRUE(testing::eventually([&] { return answered.load() == 2; }, 5s));
}

TEST_F(RedisClientTest, ACommandInFlightFailsAtOnceWhenTheConnectionDrops) {
  auto client = connected_client();
  ASSERT_TRUE(run(*client, {"CLIENT", "PAUSE", "5000"}).status.is_ok());
  auto promise = std::make_shared<std::promise<Status>>();
  auto status = promise->get_future();
  client->command({"GET", "key"}, [promise](Status status, RedisReply) { promise->set_value(std::move(status)); });

  const TimePoint start = Clock::now();
  server_.kill();
  ASSERT_EQ(status.wait_for(5s), std::future_status::ready);
  EXPECT_EQ(status.get().code(), StatusCode::kUnavailable);
  EXPECT_LT(elapsed_ms(start), 1000.0);  // not the 2 s command timeout: the drop itself failed it
}

TEST_F(RedisClientTest, ReconnectsByItselfAfterRedisIsKilledAndRestarted) {
  auto client = connected_client();
  server_.kill();
  ASSERT_TRUE(testing::eventually([&] { return !client->connected(); }, 2s));
  const TimePoint start = Clock::now();
  EXPECT_EQ(run(*client, {"PING"}).status.code(), StatusCode::kUnavailable);
  EXPECT_LT(elapsed_ms(start), 100.0);

  server_.restart();
  ASSERT_TRUE(testing::eventually([&] { return client->connected(); }, 5s));
  const Answer answer = run(*client, {"SET", "key", "again"});
  EXPECT_TRUE(answer.status.is_ok()) << answer.status.message();
  EXPECT_EQ(client->stats().reconnects, 1U);
}

TEST_F(RedisClientTest, TheDestructorCompletesPendingCommands) {
  auto client = connected_client();
  ASSERT_TRUE(run(*client, {"CLIENT", "PAUSE", "3000"}).status.is_ok());
  std::atomic<int> calls{0};
  Status last;
  client->command({"GET", "key"}, [&](Status status, RedisReply) {
    last = std::move(status);
    calls.fetch_add(1);
  });
  client.reset();
  EXPECT_EQ(calls.load(), 1);
  EXPECT_EQ(last.code(), StatusCode::kUnavailable);
}

TEST(RedisClientAuthTest, AuthenticatesAndSelectsTheConfiguredDatabase) {
  testing::RedisServer server({"--requirepass", "secret"});
  RedisOptions options = options_for(server.port());
  options.password = "secret";
  options.database = 3;
  RedisClient client(options);
  ASSERT_TRUE(testing::eventually([&] { return client.connected(); }, 5s));
  const Answer info = run(client, {"CLIENT", "INFO"});
  ASSERT_EQ(info.reply.type, RedisReply::Type::kString) << info.reply.text;
  EXPECT_NE(info.reply.text.find(" db=3 "), std::string::npos) << info.reply.text;
}

TEST(RedisClientAuthTest, AServerThatNeverAnswersAuthIsGivenUpOnByTheConnectTimeout) {
  // A listening socket that accepts and never says a word.
  const int listener = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  ASSERT_GE(listener, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof address;
  ASSERT_EQ(bind(listener, reinterpret_cast<sockaddr*>(&address), sizeof address), 0);
  ASSERT_EQ(getsockname(listener, reinterpret_cast<sockaddr*>(&address), &length), 0);
  ASSERT_EQ(listen(listener, 16), 0);
  RedisOptions options = options_for(ntohs(address.sin_port));
  options.password = "secret";
  options.connect_timeout = 100ms;
  std::vector<int> accepted;
  {
    RedisClient client(options);
    // The client gives up on each connection after 100 ms and, after its backoff, tries again.
    EXPECT_TRUE(testing::eventually(
        [&] {
          for (int fd; (fd = accept4(listener, nullptr, nullptr, SOCK_CLOEXEC)) >= 0;) accepted.push_back(fd);
          return accepted.size() >= 3;
        },
        5s));
    EXPECT_FALSE(client.connected());
  }
  for (int fd : accepted) close(fd);
  close(listener);
}

TEST(RedisClientAuthTest, AWrongPasswordNeverCountsAsConnected) {
  testing::RedisServer server({"--requirepass", "secret"});
  RedisOptions options = options_for(server.port());
  options.password = "wrong";
  RedisClient client(options);
  // Several connection attempts (50 ms backoff, doubling) are refused meanwhile.
  EXPECT_FALSE(testing::eventually([&] { return client.connected(); }, 500ms));
  EXPECT_EQ(run(client, {"PING"}).status.code(), StatusCode::kUnavailable);
}

}  // namespace
}  // namespace seraph
