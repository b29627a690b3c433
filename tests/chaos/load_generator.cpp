#include <utility>  // before Asio: GCC 12 + C++20 needs std::exchange declared first

#include "load_generator.h"

#include <algorithm>
#include <optional>
#include <thread>

#include <boost/asio/error.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

namespace seraph::chaos {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

// What the clients share; touched only on the I/O thread.
struct Shared {
  explicit Shared(LoadSpec load) : spec(std::move(load)) {}
  const LoadSpec spec;
  asio::io_context io;
  tcp::endpoint endpoint{asio::ip::make_address("127.0.0.1"), spec.port};
  double rate = spec.rate;
  bool stopping = false;
  uint64_t sequence = 0;  // requests sent so far: picks the body and the priority
};

// One keep-alive connection sending one request at a time.
class Client : public std::enable_shared_from_this<Client> {
 public:
  explicit Client(Shared& shared) : shared_(shared), socket_(shared.io), pace_(shared.io), give_up_(shared.io) {}

  void start(Clock::time_point first) {
    next_ = first;
    wait_turn();
  }
  // No new requests; the one in flight finishes or times out.
  void halt() { pace_.cancel(); }
  // A waiting client sends its next request at `next` instead (a client in flight keeps its turn).
  void retime(Clock::time_point next) {
    if (in_flight_ || shared_.stopping) return;
    next_ = next;
    wait_turn();  // re-arming the timer aborts the earlier wait
  }
  std::vector<RequestRecord>& records() { return records_; }

 private:
  void wait_turn() {
    if (shared_.stopping) return close();
    pace_.expires_at(next_);
    pace_.async_wait([self = shared_from_this()](beast::error_code ec) {
      if (ec == asio::error::operation_aborted && !self->shared_.stopping) return;  // retimed
      self->send();
    });
  }

  void send() {
    if (shared_.stopping) return close();
    const LoadSpec& spec = shared_.spec;
    const uint64_t n = shared_.sequence++;
    current_ = n;
    record_ = RequestRecord{};
    record_.sent = Clock::now();
    request_ = {http::verb::post, spec.target, 11};
    request_.set(http::field::host, "127.0.0.1");
    request_.set(http::field::content_type, "application/json");
    request_.set("X-Request-Timeout-Ms", std::to_string(spec.deadline.count()));
    if (!spec.priorities.empty()) {
      record_.priority = pick_priority(n);
      request_.set("X-Priority", spec.priorities[static_cast<size_t>(record_.priority)].name);
    }
    request_.body() = spec.bodies[n % spec.bodies.size()];
    request_.prepare_payload();
    in_flight_ = true;
    give_up_.expires_at(record_.sent + spec.deadline + spec.give_up_after);
    // The check of `n` keeps a timer that fired as its request was answered from closing the next.
    give_up_.async_wait([self = shared_from_this(), n](beast::error_code ec) {
      if (!ec && self->in_flight_ && self->current_ == n) self->close();  // the pending I/O fails
    });
    if (socket_.is_open()) return write();
    socket_.async_connect(shared_.endpoint, [self = shared_from_this()](beast::error_code ec) {
      if (ec) return self->unanswered();
      beast::error_code ignored;  // Nagle's delay would only add latency; its absence is harmless
      self->socket_.set_option(tcp::no_delay(true), ignored);
      // Latency runs from the write: a client connects once, on its first request, and at the
      // overload's start thousands of them do at once; that burst is the load generator's, not
      // the gateway's handling of requests (a connect that fails is still an unanswered request).
      self->record_.sent = Clock::now();
      self->write();
    });
  }

  // Percent bands in order: n % 100 falls in one.
  int pick_priority(uint64_t n) const {
    const auto& priorities = shared_.spec.priorities;
    int point = static_cast<int>(n % 100);
    for (size_t i = 0; i < priorities.size(); ++i) {
      if (point < priorities[i].percent) return static_cast<int>(i);
      point -= priorities[i].percent;
    }
    return static_cast<int>(priorities.size()) - 1;
  }

  void write() {
    http::async_write(socket_, request_, [self = shared_from_this()](beast::error_code ec, size_t) {
      if (ec) return self->unanswered();
      self->read();
    });
  }

  void read() {
    parser_.emplace();
    parser_->body_limit(1 << 20);
    http::async_read(socket_, buffer_, *parser_, [self = shared_from_this()](beast::error_code ec, size_t) {
      if (ec) return self->unanswered();
      self->answered();
    });
  }

  void answered() {
    const auto& response = parser_->get();
    record_.latency = Clock::now() - record_.sent;
    record_.status = response.result_int();
    record_.fallback = response.find("X-Fallback") != response.end();
    record_.shed = response.find("X-Shed-Reason") != response.end();
    if (!response.keep_alive()) close();
    done();
  }

  void unanswered() {
    close();
    record_.status = 0;
    done();
  }

  void done() {
    in_flight_ = false;
    give_up_.cancel();
    records_.push_back(record_);
    const Clock::time_point now = Clock::now();
    if (shared_.rate <= 0) {
      next_ = now;
    } else {
      const auto interval = std::chrono::duration_cast<Clock::duration>(
          std::chrono::duration<double>(shared_.spec.clients / shared_.rate));
      next_ = std::max(next_ + interval, now);  // a late client sends at once, never in a burst
    }
    wait_turn();
  }

  void close() {
    beast::error_code ignored;  // closing a socket that failed may fail too; it is closed either way
    socket_.close(ignored);
    buffer_.clear();
  }

  Shared& shared_;
  tcp::socket socket_;
  asio::steady_timer pace_;
  asio::steady_timer give_up_;
  Clock::time_point next_;
  http::request<http::string_body> request_;
  std::optional<http::response_parser<http::string_body>> parser_;
  beast::flat_buffer buffer_;
  RequestRecord record_;
  bool in_flight_ = false;
  uint64_t current_ = 0;  // the sequence number of the request in flight
  std::vector<RequestRecord> records_;
};

}  // namespace

struct LoadGenerator::Impl {
  explicit Impl(LoadSpec spec) : shared(std::move(spec)) {}
  Shared shared;
  std::vector<std::shared_ptr<Client>> clients;
  std::thread thread;
};

LoadGenerator::LoadGenerator(LoadSpec spec) : impl_(std::make_unique<Impl>(std::move(spec))) {
  Shared& shared = impl_->shared;
  const Clock::time_point start = Clock::now();
  for (int i = 0; i < shared.spec.clients; ++i) {
    auto client = std::make_shared<Client>(shared);
    // At a rate, the clients' first requests are spread over one interval instead of one burst.
    const auto offset = shared.rate > 0 ? std::chrono::duration_cast<Clock::duration>(
                                              std::chrono::duration<double>(i / shared.rate))
                                        : Clock::duration::zero();
    client->start(start + offset);
    impl_->clients.push_back(std::move(client));
  }
  impl_->thread = std::thread([&shared] { shared.io.run(); });
}

LoadGenerator::~LoadGenerator() {
  if (impl_->thread.joinable()) stop();
}

void LoadGenerator::set_rate(double rate) {
  asio::post(impl_->shared.io, [this, rate] {
    impl_->shared.rate = rate;
    // The waiting clients' turns spread over one interval of the new rate, as at the start.
    const Clock::time_point now = Clock::now();
    for (size_t i = 0; i < impl_->clients.size(); ++i) {
      impl_->clients[i]->retime(now + std::chrono::duration_cast<Clock::duration>(
                                          std::chrono::duration<double>(static_cast<double>(i) / rate)));
    }
  });
}

std::vector<RequestRecord> LoadGenerator::stop() {
  asio::post(impl_->shared.io, [this] {
    impl_->shared.stopping = true;
    for (auto& client : impl_->clients) client->halt();
  });
  impl_->thread.join();  // run() returns once no client has work left
  std::vector<RequestRecord> all;
  for (auto& client : impl_->clients) {
    all.insert(all.end(), client->records().begin(), client->records().end());
  }
  return all;
}

}  // namespace seraph::chaos
