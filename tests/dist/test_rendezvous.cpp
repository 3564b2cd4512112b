// rendezvous_broadcast on localhost: every rank of 1, 2 and 4 (one thread each) gets rank 0's bytes,
// also when rank 0 starts late; and each failure ends within the timeout with an error that names it:
// missing ranks, a busy port, an unreachable or unresolvable rank 0, bad hellos and replies, a peer
// that closes mid-message.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <thread>
#include <utility>

#include "common/error.h"
#include "dist/rendezvous.h"

namespace krait::dist {
namespace {

using std::chrono::milliseconds;
using Clock = std::chrono::steady_clock;

const milliseconds kTimeout(1000);

LaunchEnv env_for(int rank, int world, int port, const std::string& addr = "127.0.0.1") {
  LaunchEnv env;
  env.rank = rank;
  env.world_size = world;
  env.master_addr = addr;
  env.master_port = port;
  env.source = "torchrun";
  return env;
}

// 128 bytes, like an ncclUniqueId, different for every rank.
std::vector<uint8_t> payload_of(int rank) {
  std::vector<uint8_t> bytes(128);
  for (size_t i = 0; i < bytes.size(); ++i) bytes[i] = static_cast<uint8_t>(rank * 31 + i);
  return bytes;
}

// What one rank's rendezvous_broadcast returned, or the message of what it threw.
struct Outcome {
  std::vector<uint8_t> payload;
  std::string error;
};

Outcome rendezvous(const LaunchEnv& env, milliseconds timeout = kTimeout) {
  try {
    return {rendezvous_broadcast(env, payload_of(env.rank), timeout), ""};
  } catch (const Error& e) {
    return {{}, e.what()};
  }
}

// Runs `ranks` of a world of `world` on threads; rank 0 starts after `rank0_delay`.
std::vector<Outcome> run_ranks(int world, int port, const std::vector<int>& ranks,
                               milliseconds rank0_delay = milliseconds(0)) {
  std::vector<Outcome> outcomes(ranks.size());
  std::vector<std::thread> threads;
  for (size_t i = 0; i < ranks.size(); ++i) {
    threads.emplace_back([&, i] {
      if (ranks[i] == 0) std::this_thread::sleep_for(rank0_delay);
      outcomes[i] = rendezvous(env_for(ranks[i], world, port));
    });
  }
  for (auto& t : threads) t.join();
  return outcomes;
}

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

// A raw TCP socket, for playing a misbehaving peer.
class RawSocket {
 public:
  explicit RawSocket(int fd) : fd_(fd) {}
  RawSocket(RawSocket&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
  ~RawSocket() {
    if (fd_ >= 0) ::close(fd_);
  }
  int fd() const { return fd_; }
  void send_bytes(const std::vector<uint8_t>& bytes) const {
    ASSERT_EQ(::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL), static_cast<ssize_t>(bytes.size()));
  }
  std::vector<uint8_t> recv_bytes(size_t count) const {
    std::vector<uint8_t> bytes(count);
    EXPECT_EQ(::recv(fd_, bytes.data(), count, MSG_WAITALL), static_cast<ssize_t>(count));
    return bytes;
  }

 private:
  int fd_;
};

sockaddr_in localhost(int port) {
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<uint16_t>(port));
  return addr;
}

RawSocket raw_listener(int port) {
  RawSocket s(::socket(AF_INET, SOCK_STREAM, 0));
  const sockaddr_in addr = localhost(port);
  EXPECT_EQ(::bind(s.fd(), reinterpret_cast<const sockaddr*>(&addr), sizeof addr), 0);
  EXPECT_EQ(::listen(s.fd(), 4), 0);
  return s;
}

// Accepts one connection, waiting at most 2 s.
RawSocket raw_accept(const RawSocket& listener) {
  pollfd p{listener.fd(), POLLIN, 0};
  EXPECT_EQ(::poll(&p, 1, 2000), 1) << "nobody connected";
  return RawSocket(::accept(listener.fd(), nullptr, nullptr));
}

// Connects to a rank 0 that may not be listening yet, retrying for up to 2 s.
RawSocket raw_connect(int port) {
  const sockaddr_in addr = localhost(port);
  for (const auto end = Clock::now() + std::chrono::seconds(2); Clock::now() < end;) {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    if (::connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) == 0) return RawSocket(fd);
    ::close(fd);
    std::this_thread::sleep_for(milliseconds(10));
  }
  ADD_FAILURE() << "could not connect to port " << port;
  return RawSocket(-1);
}

std::vector<uint8_t> be32(std::initializer_list<uint32_t> words) {
  std::vector<uint8_t> bytes;
  for (const uint32_t w : words)
    for (int shift = 24; shift >= 0; shift -= 8) bytes.push_back(static_cast<uint8_t>(w >> shift));
  return bytes;
}

constexpr uint32_t kMagic = 0x4b524456, kVersion = 1;

// The error rank 0 (world of `world`) throws after a raw peer sends `hello` and closes.
std::string rank0_error_after_hello(int world, const std::vector<uint8_t>& hello) {
  const int port = find_free_port();
  Outcome rank0;
  std::thread server([&] { rank0 = rendezvous(env_for(0, world, port)); });
  {
    const RawSocket peer = raw_connect(port);
    peer.send_bytes(hello);
  }
  server.join();
  return rank0.error;
}

// The error rank 1 of 2 throws when a raw rank 0 answers its hello with `reply` and closes.
std::string rank1_error_after_reply(const std::vector<uint8_t>& reply) {
  const int port = find_free_port();
  const RawSocket listener = raw_listener(port);
  Outcome rank1;
  std::thread client([&] { rank1 = rendezvous(env_for(1, 2, port)); });
  {
    const RawSocket peer = raw_accept(listener);
    EXPECT_EQ(peer.recv_bytes(16), be32({kMagic, kVersion, 1, 2}));
    peer.send_bytes(reply);
  }
  client.join();
  return rank1.error;
}

TEST(Rendezvous, EveryRankGetsRankZerosPayload) {
  for (const int world : {1, 2, 4}) {
    std::vector<int> ranks(world);
    for (int r = 0; r < world; ++r) ranks[r] = r;
    const auto outcomes = run_ranks(world, find_free_port(), ranks);
    for (int r = 0; r < world; ++r) {
      EXPECT_EQ(outcomes[r].error, "") << "world " << world << " rank " << r;
      EXPECT_EQ(outcomes[r].payload, payload_of(0)) << "world " << world << " rank " << r;
    }
  }
}

TEST(Rendezvous, SingleRankOpensNoSocket) {
  const LaunchEnv env = env_for(0, 1, 0, "");
  EXPECT_EQ(rendezvous_broadcast(env, payload_of(0), milliseconds(0)), payload_of(0));
}

TEST(Rendezvous, RankZeroStartingLateStillWorks) {
  const auto outcomes = run_ranks(3, find_free_port(), {1, 2, 0}, milliseconds(400));
  for (const Outcome& o : outcomes) {
    EXPECT_EQ(o.error, "");
    EXPECT_EQ(o.payload, payload_of(0));
  }
}

TEST(Rendezvous, MissingRanksAreNamedWithinTheTimeout) {
  const int port = find_free_port();
  const auto start = Clock::now();
  auto outcomes = run_ranks(4, port, {0, 1, 2});
  EXPECT_LT(Clock::now() - start, std::chrono::seconds(3));
  EXPECT_TRUE(contains(outcomes[0].error, "rank 3 of 4 never connected to port " + std::to_string(port) +
                                              " within 1 s"))
      << outcomes[0].error;
  // The ranks that did arrive fail too rather than wait forever for a payload that never comes.
  EXPECT_NE(outcomes[1].error, "");
  EXPECT_NE(outcomes[2].error, "");

  outcomes = run_ranks(4, port, {0, 2});
  EXPECT_TRUE(contains(outcomes[0].error, "ranks 1, 3 of 4 never connected")) << outcomes[0].error;
}

TEST(Rendezvous, BusyPortIsAnError) {
  const int port = find_free_port();
  const RawSocket holder = raw_listener(port);
  const Outcome o = rendezvous(env_for(0, 2, port));
  EXPECT_TRUE(contains(o.error, "cannot listen on port " + std::to_string(port) + ": another process holds it"))
      << o.error;
}

TEST(Rendezvous, UnreachableRankZeroTimesOutNamingTheAddress) {
  const int port = find_free_port();
  const auto start = Clock::now();
  const Outcome o = rendezvous(env_for(1, 2, port));
  const auto elapsed = Clock::now() - start;
  EXPECT_GE(elapsed, milliseconds(900));
  EXPECT_LT(elapsed, std::chrono::seconds(3));
  EXPECT_TRUE(contains(o.error, "(rank 1 of 2): could not reach rank 0 at 127.0.0.1:" + std::to_string(port) +
                                    " within 1 s"))
      << o.error;
}

TEST(Rendezvous, UnresolvableAddressTimesOutNamingIt) {
  const Outcome o = rendezvous(env_for(2, 3, 29999, "no-such-host.invalid"), milliseconds(300));
  EXPECT_TRUE(contains(o.error, "could not reach rank 0 at no-such-host.invalid:29999 within 0.3 s")) << o.error;
}

TEST(Rendezvous, BadHellosAreErrors) {
  EXPECT_TRUE(contains(rank0_error_after_hello(2, be32({0x47455420, kVersion, 1, 2})), "bad magic 0x47455420"));
  EXPECT_TRUE(contains(rank0_error_after_hello(2, be32({kMagic, 7, 1, 2})), "speaks rendezvous version 7"));
  EXPECT_TRUE(contains(rank0_error_after_hello(2, be32({kMagic, kVersion, 1, 3})),
                       "rank 1 at 127.0.0.1:"));
  EXPECT_TRUE(contains(rank0_error_after_hello(2, be32({kMagic, kVersion, 1, 3})),
                       "says the world has 3 ranks; rank 0 says 2"));
  EXPECT_TRUE(contains(rank0_error_after_hello(3, be32({kMagic, kVersion, 5, 3})), "names rank 5, outside 1..2"));
  EXPECT_TRUE(contains(rank0_error_after_hello(3, be32({kMagic, kVersion, 0, 3})), "names rank 0, outside 1..2"));
  EXPECT_TRUE(contains(rank0_error_after_hello(2, {0x4b, 0x52, 0x44, 0x56, 0, 0, 0}),
                       "closed after 7 of 16 bytes of its hello"));
}

TEST(Rendezvous, DuplicateRankIsAnError) {
  const auto outcomes = run_ranks(3, find_free_port(), {0, 1, 1});
  EXPECT_TRUE(contains(outcomes[0].error, "rank 1 connected twice")) << outcomes[0].error;
}

TEST(Rendezvous, BadRepliesAreErrors) {
  EXPECT_TRUE(contains(rank1_error_after_reply(be32({0x48545450, kVersion, 0, 128})),
                       "is not krait's rank 0 (bad magic 0x48545450)"));
  EXPECT_TRUE(contains(rank1_error_after_reply(be32({kMagic, kVersion, 1, 0})), "more than the 1048576-byte limit"));
  EXPECT_TRUE(contains(rank1_error_after_reply(be32({kMagic, kVersion})),
                       "closed the connection after 8 of 16 bytes of the payload"));
  std::vector<uint8_t> partial = be32({kMagic, kVersion, 0, 128});
  partial.resize(partial.size() + 10, 0xab);
  EXPECT_TRUE(contains(rank1_error_after_reply(partial),
                       "closed the connection after 10 of 128 bytes of the payload"));
}

}  // namespace
}  // namespace krait::dist
