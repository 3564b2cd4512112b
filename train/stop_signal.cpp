// train/stop_signal.cpp — the stop flag and its signal handlers (see stop_signal.h).
#include "train/stop_signal.h"

#include <signal.h>

#include <cerrno>
#include <cstring>

#include "common/error.h"

namespace krait::train {
namespace {

volatile sig_atomic_t g_stop_signal = 0;

void on_stop_signal(int sig) {
  if (g_stop_signal == 0) {
    g_stop_signal = sig;
    return;
  }
  if (sig != SIGINT) return;
  ::signal(SIGINT, SIG_DFL);  // the second Ctrl-C: die of it at once, as an unhandled SIGINT would
  ::raise(SIGINT);
}

}  // namespace

void install_stop_handlers() {
  struct sigaction action {};
  action.sa_handler = on_stop_signal;
  action.sa_flags = SA_RESTART;
  sigemptyset(&action.sa_mask);
  for (const int sig : {SIGINT, SIGTERM, SIGUSR1})
    KRAIT_CHECK(::sigaction(sig, &action, nullptr) == 0, "sigaction(", ::strsignal(sig), "): ", std::strerror(errno));
}

int stop_signal() { return g_stop_signal; }

void request_stop(int signal) { g_stop_signal = signal; }

std::string signal_name(int signal) {
  switch (signal) {
    case SIGINT: return "SIGINT";
    case SIGTERM: return "SIGTERM";
    case SIGUSR1: return "SIGUSR1";
    default: return "signal " + std::to_string(signal);
  }
}

int stop_exit_code(int signal) { return 128 + signal; }

}  // namespace krait::train
