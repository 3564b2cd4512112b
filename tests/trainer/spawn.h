// tests/trainer/spawn.h — starting the krait binary as a child process, reading its output and how it
// ended, for the tests that kill, signal or launch it.
#pragma once

#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace krait::testing {

// Starts `krait args...` with its stdout and stderr both written to `output` ("/dev/null" to drop).
// With max_file_bytes >= 0 no file the child writes can grow past that many bytes (RLIMIT_FSIZE, with
// SIGXFSZ ignored, so a write past it fails as on a full disk).
inline pid_t spawn_krait(const std::vector<std::string>& args, const std::string& output,
                         long max_file_bytes = -1) {
  std::vector<std::string> argv{KRAIT_BINARY};
  argv.insert(argv.end(), args.begin(), args.end());
  const pid_t pid = fork();
  if (pid == 0) {
    std::vector<char*> c_argv;
    for (auto& a : argv) c_argv.push_back(a.data());
    c_argv.push_back(nullptr);
    if (std::freopen(output.c_str(), "w", stdout) == nullptr) _exit(126);
    dup2(fileno(stdout), STDERR_FILENO);
    if (max_file_bytes >= 0) {
      signal(SIGXFSZ, SIG_IGN);
      const rlimit limit{static_cast<rlim_t>(max_file_bytes), static_cast<rlim_t>(max_file_bytes)};
      if (setrlimit(RLIMIT_FSIZE, &limit) != 0) _exit(125);
    }
    execv(KRAIT_BINARY, c_argv.data());
    _exit(127);
  }
  return pid;
}

// Starts `krait train --config recipe`, each override as `--set` and then the extra arguments, with its
// output written to `output`.
inline pid_t spawn_train(const std::string& recipe, const std::vector<std::string>& overrides,
                         const std::string& output, const std::vector<std::string>& extra = {},
                         long max_file_bytes = -1) {
  std::vector<std::string> args{"train", "--config", recipe};
  for (const auto& o : overrides) args.insert(args.end(), {"--set", o});
  args.insert(args.end(), extra.begin(), extra.end());
  return spawn_krait(args, output, max_file_bytes);
}

// The exit status, or minus the signal that killed it.
inline int wait_exit_code(pid_t pid) {
  int status = 0;
  waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -WTERMSIG(status);
}

// What a spawned child has written to its output file so far.
inline std::string read_output(const std::string& output) {
  std::ifstream in(output);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// Waits (up to a minute) until the output file holds `text`; false if it never does.
inline bool wait_for_output(const std::string& output, const std::string& text) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (read_output(output).find(text) == std::string::npos) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return true;
}

}  // namespace krait::testing
