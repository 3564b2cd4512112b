// train/stop_signal.h — the stop request behind a graceful shutdown: SIGINT, SIGTERM or SIGUSR1 (what
// Slurm and other schedulers send before a time limit) set a flag that the trainer reads between
// steps; it then writes a checkpoint and returns. Only the CLI installs the handlers (library code
// never exits); a second SIGINT while stopping ends the process at once.
#pragma once

#include <string>

namespace krait::train {

// Installs the async-signal-safe handlers for SIGINT, SIGTERM and SIGUSR1 (SA_RESTART). The first of
// them records its number; a second SIGINT restores SIGINT's default action and re-raises it; further
// SIGTERM / SIGUSR1 are ignored (the stop is already under way).
void install_stop_handlers();

// The signal that asked this process to stop, or 0.
int stop_signal();

// Sets the request as the handler does (for tests and in-process callers); 0 clears it.
void request_stop(int signal);

// "SIGINT", "SIGTERM", "SIGUSR1", or "signal N".
std::string signal_name(int signal);

// The process exit status for a run stopped by `signal`: 128 + signal (130 SIGINT, 143 SIGTERM,
// 138 SIGUSR1), the shell's convention.
int stop_exit_code(int signal);

}  // namespace krait::train
