// dist/rendezvous.cpp — the TCP rendezvous: rank 0 accepts every other rank's hello and answers each
// with its payload; non-blocking POSIX sockets, every wait a poll against one deadline.
//
// Wire format (integers big-endian):
//   hello (rank r -> rank 0):  magic u32, version u32, rank u32, world size u32
//   reply (rank 0 -> rank r):  magic u32, version u32, payload length u64, payload bytes
#include "dist/rendezvous.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <utility>

#include "common/error.h"
#include "common/unique_fd.h"

namespace krait::dist {
namespace {

using Clock = std::chrono::steady_clock;

constexpr uint32_t kMagic = 0x4b524456;  // "KRDV"
constexpr uint32_t kVersion = 1;
constexpr size_t kHelloBytes = 16;
constexpr size_t kReplyHeaderBytes = 16;
constexpr uint64_t kMaxPayloadBytes = 1 << 20;
constexpr auto kRetryInterval = std::chrono::milliseconds(50);

// One end of a rendezvous connection, with what error messages say about it.
struct Link {
  int fd;
  std::string context;  // "rendezvous (rank 1 of 4)"
  std::string peer;     // "rank 0 at 10.0.0.1:29500"
  Clock::time_point deadline;
  std::chrono::milliseconds timeout;
};

std::string seconds(std::chrono::milliseconds ms) {
  std::ostringstream os;
  os << static_cast<double>(ms.count()) / 1000.0 << " s";
  return os.str();
}

int ms_left(Clock::time_point deadline) {
  const auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - Clock::now()).count();
  return static_cast<int>(std::clamp<int64_t>(left, 0, 1 << 30));
}

std::string context_of(const LaunchEnv& env) {
  return "rendezvous (rank " + std::to_string(env.rank) + " of " + std::to_string(env.world_size) + ")";
}

void put_u32(std::vector<uint8_t>& out, uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<uint8_t>(v >> shift));
}

void put_u64(std::vector<uint8_t>& out, uint64_t v) {
  put_u32(out, static_cast<uint32_t>(v >> 32));
  put_u32(out, static_cast<uint32_t>(v));
}

uint32_t get_u32(const uint8_t* p) {
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | uint32_t{p[3]};
}

uint64_t get_u64(const uint8_t* p) { return (uint64_t{get_u32(p)} << 32) | get_u32(p + 4); }

// "10.0.0.3:41234", the far end of a connected socket.
std::string peer_address(int fd) {
  sockaddr_storage addr{};
  socklen_t len = sizeof addr;
  char host[NI_MAXHOST], port[NI_MAXSERV];
  if (::getpeername(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0 ||
      ::getnameinfo(reinterpret_cast<sockaddr*>(&addr), len, host, sizeof host, port, sizeof port,
                    NI_NUMERICHOST | NI_NUMERICSERV) != 0)
    return "an unknown address";
  return std::string(host) + ":" + port;
}

// Waits until fd is ready for `events`; false when the deadline passes first.
bool wait_ready(int fd, short events, Clock::time_point deadline) {
  while (true) {
    pollfd p{fd, events, 0};
    const int ready = ::poll(&p, 1, ms_left(deadline));
    if (ready > 0) return true;
    if (ready == 0) return false;
    KRAIT_CHECK(errno == EINTR, "rendezvous: poll: ", std::strerror(errno));
  }
}

void send_all(const Link& link, const std::vector<uint8_t>& bytes, const std::string& what) {
  size_t sent = 0;
  while (sent < bytes.size()) {
    const ssize_t n = ::send(link.fd, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
    if (n > 0) {
      sent += static_cast<size_t>(n);
    } else if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) {
      KRAIT_CHECK(wait_ready(link.fd, POLLOUT, link.deadline), link.context, ": timed out after ",
                  seconds(link.timeout), " sending ", what, " to ", link.peer);
    } else {
      KRAIT_FAIL(link.context, ": sending ", what, " to ", link.peer, " failed: ", std::strerror(errno));
    }
  }
}

std::vector<uint8_t> recv_exact(const Link& link, size_t count, const std::string& what) {
  std::vector<uint8_t> bytes(count);
  size_t got = 0;
  while (got < count) {
    const ssize_t n = ::recv(link.fd, bytes.data() + got, count - got, 0);
    if (n > 0) {
      got += static_cast<size_t>(n);
    } else if (n == 0) {
      KRAIT_FAIL(link.context, ": ", link.peer, " closed the connection after ", got, " of ", count, " bytes of ",
                 what);
    } else if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) {
      KRAIT_CHECK(wait_ready(link.fd, POLLIN, link.deadline), link.context, ": timed out after ",
                  seconds(link.timeout), " waiting for ", what, " from ", link.peer, " (got ", got, " of ", count,
                  " bytes)");
    } else {
      KRAIT_FAIL(link.context, ": receiving ", what, " from ", link.peer, " failed: ", std::strerror(errno));
    }
  }
  return bytes;
}

// ---- rank 0 ----

UniqueFd listen_on(int port) {
  UniqueFd s(::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  KRAIT_CHECK(s, "rendezvous: socket: ", std::strerror(errno));
  const int one = 1;
  ::setsockopt(s.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_ANY);
  addr.sin_port = htons(static_cast<uint16_t>(port));
  if (::bind(s.get(), reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0 || ::listen(s.get(), SOMAXCONN) != 0) {
    const int err = errno;
    KRAIT_CHECK(err != EADDRINUSE, "rendezvous: rank 0 cannot listen on port ", port,
                ": another process holds it (set MASTER_PORT to a free port)");
    KRAIT_FAIL("rendezvous: rank 0 cannot listen on port ", port, ": ", std::strerror(err));
  }
  return s;
}

// A connection rank 0 accepted whose hello has not fully arrived.
struct Pending {
  UniqueFd socket;
  std::vector<uint8_t> hello;
};

// Reads what has arrived of a hello; true once it is complete.
bool read_hello(Pending& p, const LaunchEnv& env) {
  uint8_t buffer[kHelloBytes];
  const ssize_t n = ::recv(p.socket.get(), buffer, kHelloBytes - p.hello.size(), 0);
  if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) return false;
  KRAIT_CHECK(n >= 0, context_of(env), ": reading a hello from ", peer_address(p.socket.get()),
              " failed: ", std::strerror(errno));
  KRAIT_CHECK(n > 0, context_of(env), ": the connection from ", peer_address(p.socket.get()), " to port ",
              env.master_port, " closed after ", p.hello.size(), " of ", kHelloBytes, " bytes of its hello");
  p.hello.insert(p.hello.end(), buffer, buffer + n);
  return p.hello.size() == kHelloBytes;
}

// The rank a complete hello names, after checking it against this job.
int checked_rank(const Pending& p, const LaunchEnv& env, const std::vector<UniqueFd>& ranks) {
  const std::string from = peer_address(p.socket.get()), context = context_of(env);
  const uint32_t magic = get_u32(&p.hello[0]), version = get_u32(&p.hello[4]);
  const uint32_t rank = get_u32(&p.hello[8]), world = get_u32(&p.hello[12]);
  KRAIT_CHECK(magic == kMagic, context, ": the connection from ", from, " to port ", env.master_port,
              " is not a krait rank (bad magic 0x", std::hex, magic, std::dec, ")");
  KRAIT_CHECK(version == kVersion, context, ": the rank at ", from, " speaks rendezvous version ", version,
              ", rank 0 speaks ", kVersion, " (different krait builds?)");
  KRAIT_CHECK(world == static_cast<uint32_t>(env.world_size), context, ": rank ", rank, " at ", from,
              " says the world has ", world, " ranks; rank 0 says ", env.world_size);
  KRAIT_CHECK(rank >= 1 && rank < static_cast<uint32_t>(env.world_size), context, ": the hello from ", from,
              " names rank ", rank, ", outside 1..", env.world_size - 1);
  KRAIT_CHECK(!ranks[rank], context, ": rank ", rank, " connected twice (from ", peer_address(ranks[rank].get()),
              " and ", from, "): two processes were given the same rank");
  return static_cast<int>(rank);
}

std::string missing_ranks(const LaunchEnv& env, const std::vector<UniqueFd>& ranks, std::chrono::milliseconds timeout) {
  std::ostringstream os;
  int missing = 0;
  for (int r = 1; r < env.world_size; ++r) {
    if (ranks[r]) continue;
    os << (missing++ ? ", " : "") << r;
  }
  return context_of(env) + ": " + (missing == 1 ? "rank " : "ranks ") + os.str() + " of " +
         std::to_string(env.world_size) + " never connected to port " + std::to_string(env.master_port) +
         " within " + seconds(timeout);
}

void accept_pending(const UniqueFd& listener, std::vector<Pending>& pending, const LaunchEnv& env) {
  UniqueFd s(::accept4(listener.get(), nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC));
  if (s) {
    pending.push_back({std::move(s), {}});
  } else {
    KRAIT_CHECK(errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR || errno == ECONNABORTED,
                context_of(env), ": accept on port ", env.master_port, ": ", std::strerror(errno));
  }
}

// Accepts connections until every rank 1..world-1 has said hello; the sockets indexed by rank.
std::vector<UniqueFd> gather_ranks(const LaunchEnv& env, Clock::time_point deadline, std::chrono::milliseconds timeout) {
  const UniqueFd listener = listen_on(env.master_port);
  std::vector<UniqueFd> ranks(env.world_size);
  std::vector<Pending> pending;
  for (int arrived = 0; arrived < env.world_size - 1;) {
    KRAIT_CHECK(Clock::now() < deadline, missing_ranks(env, ranks, timeout));
    std::vector<pollfd> fds{{listener.get(), POLLIN, 0}};
    for (const Pending& p : pending) fds.push_back({p.socket.get(), POLLIN, 0});
    const int ready = ::poll(fds.data(), fds.size(), ms_left(deadline));
    KRAIT_CHECK(ready >= 0 || errno == EINTR, context_of(env), ": poll: ", std::strerror(errno));
    if (ready <= 0) continue;
    for (size_t i = fds.size() - 1; i >= 1; --i) {  // back to front: erasing keeps earlier indices
      Pending& p = pending[i - 1];
      if (fds[i].revents == 0 || !read_hello(p, env)) continue;
      const int rank = checked_rank(p, env, ranks);
      ranks[rank] = std::move(p.socket);
      pending.erase(pending.begin() + static_cast<std::ptrdiff_t>(i - 1));
      ++arrived;
    }
    if (fds[0].revents & POLLIN) accept_pending(listener, pending, env);
  }
  return ranks;
}

std::vector<uint8_t> reply_message(const std::vector<uint8_t>& payload) {
  std::vector<uint8_t> message;
  put_u32(message, kMagic);
  put_u32(message, kVersion);
  put_u64(message, payload.size());
  message.insert(message.end(), payload.begin(), payload.end());
  return message;
}

void serve_payload(const LaunchEnv& env, const std::vector<uint8_t>& payload, Clock::time_point deadline,
                   std::chrono::milliseconds timeout) {
  const std::vector<UniqueFd> ranks = gather_ranks(env, deadline, timeout);
  const std::vector<uint8_t> message = reply_message(payload);
  for (int r = 1; r < env.world_size; ++r) {
    const Link link{ranks[r].get(), context_of(env), "rank " + std::to_string(r) + " at " + peer_address(ranks[r].get()),
                    deadline, timeout};
    send_all(link, message, "the payload");
  }
}

// ---- ranks 1..world-1 ----

std::string rank0_address(const LaunchEnv& env) { return env.master_addr + ":" + std::to_string(env.master_port); }

// TCP's simultaneous open: a connect to a local port nobody listens on can land on its own ephemeral port.
bool connected_to_itself(int fd) {
  sockaddr_storage local{}, peer{};
  socklen_t local_len = sizeof local, peer_len = sizeof peer;
  return ::getsockname(fd, reinterpret_cast<sockaddr*>(&local), &local_len) == 0 &&
         ::getpeername(fd, reinterpret_cast<sockaddr*>(&peer), &peer_len) == 0 && local_len == peer_len &&
         std::memcmp(&local, &peer, local_len) == 0;
}

// One attempt at connecting to rank 0 at every address master_addr resolves to; an empty socket (and
// the reason in last_error) when none accepts.
UniqueFd try_connect(const LaunchEnv& env, Clock::time_point deadline, std::string& last_error) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_NUMERICSERV;
  addrinfo* found = nullptr;
  const int rc = ::getaddrinfo(env.master_addr.c_str(), std::to_string(env.master_port).c_str(), &hints, &found);
  if (rc != 0) {
    last_error = ::gai_strerror(rc);
    return UniqueFd();
  }
  const std::unique_ptr<addrinfo, decltype(&::freeaddrinfo)> addresses(found, &::freeaddrinfo);
  for (const addrinfo* a = found; a != nullptr; a = a->ai_next) {
    UniqueFd s(::socket(a->ai_family, a->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, a->ai_protocol));
    if (!s) {
      last_error = std::strerror(errno);
      continue;
    }
    if (::connect(s.get(), a->ai_addr, a->ai_addrlen) != 0 && errno != EINPROGRESS) {
      last_error = std::strerror(errno);
      continue;
    }
    if (!wait_ready(s.get(), POLLOUT, deadline)) {
      last_error = "connection timed out";
      continue;
    }
    int err = 0;
    socklen_t len = sizeof err;
    ::getsockopt(s.get(), SOL_SOCKET, SO_ERROR, &err, &len);
    if (err == 0 && !connected_to_itself(s.get())) return s;
    last_error = err != 0 ? std::strerror(err) : "connected to itself (nobody listens on the port yet)";
  }
  return UniqueFd();
}

// Connects to rank 0, retrying (it may start later) until the deadline.
UniqueFd connect_to_rank0(const LaunchEnv& env, Clock::time_point deadline, std::chrono::milliseconds timeout) {
  std::string last_error;
  while (true) {
    if (UniqueFd s = try_connect(env, deadline, last_error)) return s;
    KRAIT_CHECK(Clock::now() + kRetryInterval < deadline, context_of(env), ": could not reach rank 0 at ",
                rank0_address(env), " within ", seconds(timeout), " (last error: ", last_error,
                "); check MASTER_ADDR and MASTER_PORT and that rank 0 started");
    std::this_thread::sleep_for(kRetryInterval);
  }
}

std::vector<uint8_t> hello_message(const LaunchEnv& env) {
  std::vector<uint8_t> message;
  put_u32(message, kMagic);
  put_u32(message, kVersion);
  put_u32(message, static_cast<uint32_t>(env.rank));
  put_u32(message, static_cast<uint32_t>(env.world_size));
  return message;
}

std::vector<uint8_t> fetch_payload(const LaunchEnv& env, Clock::time_point deadline, std::chrono::milliseconds timeout) {
  KRAIT_CHECK(!env.master_addr.empty(), context_of(env), ": no MASTER_ADDR to reach rank 0 at");
  const UniqueFd s = connect_to_rank0(env, deadline, timeout);
  const Link link{s.get(), context_of(env), "rank 0 at " + rank0_address(env), deadline, timeout};
  send_all(link, hello_message(env), "the hello");
  const std::string what = "the payload (rank 0 sends it once all ranks have connected)";
  const std::vector<uint8_t> header = recv_exact(link, kReplyHeaderBytes, what);
  const uint32_t magic = get_u32(&header[0]), version = get_u32(&header[4]);
  const uint64_t size = get_u64(&header[8]);
  KRAIT_CHECK(magic == kMagic, link.context, ": ", link.peer, " is not krait's rank 0 (bad magic 0x", std::hex, magic,
              std::dec, ")");
  KRAIT_CHECK(version == kVersion, link.context, ": ", link.peer, " speaks rendezvous version ", version,
              ", this rank speaks ", kVersion, " (different krait builds?)");
  KRAIT_CHECK(size <= kMaxPayloadBytes, link.context, ": ", link.peer, " announced a payload of ", size,
              " bytes, more than the ", kMaxPayloadBytes, "-byte limit");
  return recv_exact(link, size, "the payload");
}

}  // namespace

std::vector<uint8_t> rendezvous_broadcast(const LaunchEnv& env, std::vector<uint8_t> payload,
                                          std::chrono::milliseconds timeout) {
  KRAIT_CHECK(env.world_size >= 1 && env.rank >= 0 && env.rank < env.world_size, "rendezvous: rank ", env.rank,
              " of a world of ", env.world_size);
  if (env.world_size == 1) return payload;
  KRAIT_CHECK(env.master_port >= 1 && env.master_port <= 65535, context_of(env), ": MASTER_PORT ", env.master_port,
              " is not a TCP port (1..65535)");
  const Clock::time_point deadline = Clock::now() + timeout;
  if (env.rank != 0) return fetch_payload(env, deadline, timeout);
  serve_payload(env, payload, deadline, timeout);
  return payload;
}

int find_free_port() {
  const UniqueFd s(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  KRAIT_CHECK(s, "find_free_port: socket: ", std::strerror(errno));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_ANY);
  socklen_t len = sizeof addr;
  KRAIT_CHECK(::bind(s.get(), reinterpret_cast<const sockaddr*>(&addr), sizeof addr) == 0 &&
                  ::getsockname(s.get(), reinterpret_cast<sockaddr*>(&addr), &len) == 0,
              "find_free_port: binding port 0: ", std::strerror(errno));
  return ntohs(addr.sin_port);
}

}  // namespace krait::dist
