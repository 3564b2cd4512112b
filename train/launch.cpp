// train/launch.cpp — `krait launch`: the ranks forked and exec'd with their environment, their output
// pipes relayed line by line, and SIGCHLD, SIGINT, SIGTERM and SIGUSR1 read from a signalfd in the same poll
// loop, so a failed rank stops the others and a stopped launcher stops its ranks.
#include "train/launch.h"

#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <optional>
#include <string_view>
#include <utility>

#include "common/error.h"
#include "common/unique_fd.h"
#include "dist/rendezvous.h"

extern char** environ;

namespace krait::train {
namespace {

using Clock = std::chrono::steady_clock;

// How long the launcher keeps reading pipes that stay open after every rank has exited (a rank's
// own child may hold them).
constexpr int kDrainMs = 1000;

// SIGCHLD, SIGINT, SIGTERM and SIGUSR1, blocked and read from a signalfd while the launcher runs; the
// previous signal mask comes back at the end (and in each rank before it execs).
class SignalWatch {
 public:
  SignalWatch() {
    sigemptyset(&watched_);
    for (const int s : {SIGCHLD, SIGINT, SIGTERM, SIGUSR1}) sigaddset(&watched_, s);
    KRAIT_CHECK(::sigprocmask(SIG_BLOCK, &watched_, &previous_) == 0, "launch: sigprocmask: ", std::strerror(errno));
    fd_ = UniqueFd(::signalfd(-1, &watched_, SFD_NONBLOCK | SFD_CLOEXEC));
    if (!fd_) {
      const int err = errno;
      ::sigprocmask(SIG_SETMASK, &previous_, nullptr);
      KRAIT_FAIL("launch: signalfd: ", std::strerror(err));
    }
  }
  SignalWatch(const SignalWatch&) = delete;
  SignalWatch& operator=(const SignalWatch&) = delete;
  ~SignalWatch() { ::sigprocmask(SIG_SETMASK, &previous_, nullptr); }

  int fd() const { return fd_.get(); }
  const sigset_t& previous_mask() const { return previous_; }

  // The signals that arrived since the last call.
  std::vector<int> take() const {
    std::vector<int> signals;
    signalfd_siginfo info;
    while (::read(fd_.get(), &info, sizeof info) == static_cast<ssize_t>(sizeof info))
      signals.push_back(static_cast<int>(info.ssi_signo));
    return signals;
  }

 private:
  sigset_t watched_, previous_;
  UniqueFd fd_;
};

// One output pipe of one rank, relayed to `sink` line by line.
struct Stream {
  int rank;
  UniqueFd fd;
  std::ostream* sink;
  std::string partial;  // the start of a line whose end has not arrived
};

struct Rank {
  pid_t pid = -1;
  bool running = false;
};

// This process's environment with the rank's torchrun variables set.
std::vector<std::string> rank_environment(int rank, int world_size, int port) {
  return environment_with({{"RANK", std::to_string(rank)},
                           {"LOCAL_RANK", std::to_string(rank)},
                           {"WORLD_SIZE", std::to_string(world_size)},
                           {"MASTER_ADDR", "127.0.0.1"},
                           {"MASTER_PORT", std::to_string(port)}});
}

std::pair<UniqueFd, UniqueFd> make_pipe() {
  int fds[2];
  KRAIT_CHECK(::pipe2(fds, O_CLOEXEC) == 0, "launch: pipe: ", std::strerror(errno));
  return {UniqueFd(fds[0]), UniqueFd(fds[1])};
}

std::string describe_exit(int rank, int status) {
  if (WIFEXITED(status)) return "rank " + std::to_string(rank) + " exited with status " + std::to_string(WEXITSTATUS(status));
  return "rank " + std::to_string(rank) + " was killed by signal " + std::to_string(WTERMSIG(status)) + " (" +
         ::strsignal(WTERMSIG(status)) + ")";
}

// The ranks of one launch: started, relayed, reaped; any still running when it is destroyed are killed.
class Job {
 public:
  Job(std::ostream& out, std::ostream& err) : out_(out), err_(err) {}
  Job(const Job&) = delete;
  Job& operator=(const Job&) = delete;
  ~Job() {
    for (const Rank& r : ranks_) {
      if (!r.running) continue;
      ::kill(r.pid, SIGKILL);
      ::waitpid(r.pid, nullptr, 0);
    }
  }

  void start(const LaunchOptions& options, int port) {
    const std::string exe = self_executable();
    for (int rank = 0; rank < options.nproc; ++rank) {
      std::vector<std::string> argv{exe};
      argv.insert(argv.end(), options.command.begin(), options.command.end());
      start_rank(exe, argv, rank_environment(rank, options.nproc, port));
    }
  }

  // Relays output and reaps ranks until every rank has exited; the first failure, or "" when none.
  std::string wait() {
    while (any_running() || any_open()) {
      std::vector<pollfd> fds{{signals_.fd(), POLLIN, 0}};
      std::vector<Stream*> polled;
      for (Stream& s : streams_) {
        if (!s.fd) continue;
        fds.push_back({s.fd.get(), POLLIN, 0});
        polled.push_back(&s);
      }
      const int ready = ::poll(fds.data(), fds.size(), poll_timeout_ms());
      KRAIT_CHECK(ready >= 0 || errno == EINTR, "launch: poll: ", std::strerror(errno));
      if (ready == 0 && !any_running()) break;
      if (ready > 0 && fds[0].revents != 0) on_signals();
      for (size_t i = 1; ready > 0 && i < fds.size(); ++i)
        if (fds[i].revents != 0) relay(*polled[i - 1]);
      escalate();
    }
    for (Stream& s : streams_) finish(s);
    return failure_;
  }

 private:
  void start_rank(const std::string& exe, std::vector<std::string> argv, std::vector<std::string> env) {
    auto [out_read, out_write] = make_pipe();
    auto [err_read, err_write] = make_pipe();
    const std::vector<char*> c_argv = c_strings(argv), c_env = c_strings(env);
    const pid_t parent = ::getpid();
    const pid_t pid = ::fork();
    KRAIT_CHECK(pid >= 0, "launch: fork: ", std::strerror(errno));
    if (pid == 0) {  // the rank: only async-signal-safe calls until execve
      ::dup2(out_write.get(), STDOUT_FILENO);
      ::dup2(err_write.get(), STDERR_FILENO);
      ::sigprocmask(SIG_SETMASK, &signals_.previous_mask(), nullptr);
      ::prctl(PR_SET_PDEATHSIG, SIGTERM);  // the launcher died: stop too
      if (::getppid() != parent) ::_exit(1);
      ::execve(exe.c_str(), c_argv.data(), c_env.data());
      const char message[] = "krait launch: execve of /proc/self/exe failed\n";
      [[maybe_unused]] const ssize_t ignored = ::write(STDERR_FILENO, message, sizeof message - 1);
      ::_exit(127);
    }
    const int rank = static_cast<int>(ranks_.size());
    ranks_.push_back({pid, true});
    streams_.push_back({rank, std::move(out_read), &out_, {}});
    streams_.push_back({rank, std::move(err_read), &err_, {}});
  }

  bool any_running() const {
    return std::any_of(ranks_.begin(), ranks_.end(), [](const Rank& r) { return r.running; });
  }
  bool any_open() const {
    return std::any_of(streams_.begin(), streams_.end(), [](const Stream& s) { return bool(s.fd); });
  }

  int poll_timeout_ms() const {
    if (!any_running()) return kDrainMs;
    std::optional<Clock::time_point> next = term_at_;
    if (kill_at_ && (!next || *kill_at_ < *next)) next = kill_at_;
    if (!next) return -1;
    const auto left = std::chrono::ceil<std::chrono::milliseconds>(*next - Clock::now()).count();
    return static_cast<int>(std::max<int64_t>(left, 0));
  }

  // The SIGTERM a failure scheduled, then the SIGKILL that follows it, once they are due.
  void escalate() {
    const auto now = Clock::now();
    if (term_at_ && now >= *term_at_) {
      term_at_.reset();
      stop(SIGTERM);
    }
    if (kill_at_ && now >= *kill_at_) {
      kill_at_.reset();
      signal_running(SIGKILL);
    }
  }

  void on_signals() {
    for (const int sig : signals_.take()) {
      if (sig == SIGCHLD) {
        reap();
      } else {
        err_ << "krait launch: got signal " << sig << " (" << ::strsignal(sig) << "), passing it to every rank\n"
             << std::flush;
        // No SIGKILL follows: a training rank checkpoints and exits however long that takes (a
        // second Ctrl-C ends it at once).
        signal_running(sig);
      }
    }
  }

  void reap() {
    for (size_t rank = 0; rank < ranks_.size(); ++rank) {
      Rank& r = ranks_[rank];
      int status = 0;
      if (!r.running || ::waitpid(r.pid, &status, WNOHANG) != r.pid) continue;
      r.running = false;
      if ((WIFEXITED(status) && WEXITSTATUS(status) == 0) || !failure_.empty()) continue;
      failure_ = describe_exit(static_cast<int>(rank), status);
      err_ << "krait launch: " << failure_ << "; stopping the other ranks\n" << std::flush;
      term_at_ = Clock::now() + kFailureSettle;
    }
  }

  // Sends `sig` to every running rank and kills those still running kStopGrace later.
  void stop(int sig) {
    signal_running(sig);
    if (!kill_at_) kill_at_ = Clock::now() + kStopGrace;
  }

  void signal_running(int sig) {
    for (const Rank& r : ranks_)
      if (r.running) ::kill(r.pid, sig);
  }

  void relay(Stream& s) {
    char buffer[1 << 16];
    const ssize_t n = ::read(s.fd.get(), buffer, sizeof buffer);
    if (n < 0) {
      KRAIT_CHECK(errno == EINTR || errno == EAGAIN, "launch: reading rank ", s.rank, "'s output: ",
                  std::strerror(errno));
      return;
    }
    if (n == 0) return finish(s);
    s.partial.append(buffer, static_cast<size_t>(n));
    size_t start = 0;
    for (size_t end; (end = s.partial.find('\n', start)) != std::string::npos; start = end + 1)
      *s.sink << "[rank " << s.rank << "] " << std::string_view(s.partial).substr(start, end + 1 - start);
    s.partial.erase(0, start);
    s.sink->flush();
  }

  // Writes what is left of the stream's last line and closes it.
  void finish(Stream& s) {
    if (!s.partial.empty()) *s.sink << "[rank " << s.rank << "] " << s.partial << "\n" << std::flush;
    s.partial.clear();
    s.fd = UniqueFd();
  }

  std::ostream& out_;
  std::ostream& err_;
  SignalWatch signals_;
  std::vector<Rank> ranks_;
  std::vector<Stream> streams_;
  std::string failure_;  // the first rank that failed, and how
  std::optional<Clock::time_point> term_at_, kill_at_;  // when a failure's SIGTERM and SIGKILL are due
};

}  // namespace

std::string self_executable() {
  char path[PATH_MAX];
  const ssize_t n = ::readlink("/proc/self/exe", path, sizeof path - 1);
  KRAIT_CHECK(n > 0, "cannot read /proc/self/exe: ", std::strerror(errno));
  return std::string(path, static_cast<size_t>(n));
}

std::vector<std::string> environment_with(const std::vector<std::pair<std::string, std::string>>& set) {
  const auto is_set = [&set](const std::string& name) {
    return std::any_of(set.begin(), set.end(), [&name](const auto& entry) { return entry.first == name; });
  };
  std::vector<std::string> env;
  for (char** e = environ; *e != nullptr; ++e) {
    const std::string_view entry(*e);
    if (!is_set(std::string(entry.substr(0, entry.find('='))))) env.emplace_back(entry);
  }
  for (const auto& [name, value] : set) env.push_back(name + "=" + value);
  return env;
}

std::vector<char*> c_strings(std::vector<std::string>& strings) {
  std::vector<char*> pointers;
  for (std::string& s : strings) pointers.push_back(s.data());
  pointers.push_back(nullptr);
  return pointers;
}

int launch(const LaunchOptions& options, std::ostream& out, std::ostream& err) {
  KRAIT_CHECK(options.nproc >= 1, "launch: --nproc must be at least 1, got ", options.nproc);
  KRAIT_CHECK(options.master_port >= 0 && options.master_port <= 65535, "launch: --master-port ",
              options.master_port, " is not a TCP port (1..65535, or 0 for a free one)");
  KRAIT_CHECK(!options.command.empty(), "launch: no command to run; e.g. krait launch --nproc 2 -- train -c RECIPE");
  const int port = options.master_port != 0 ? options.master_port : dist::find_free_port();
  Job job(out, err);
  job.start(options, port);
  const std::string failure = job.wait();
  KRAIT_CHECK(failure.empty(), "launch: ", failure);
  return 0;
}

}  // namespace krait::train
