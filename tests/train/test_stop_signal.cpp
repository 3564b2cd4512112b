// The stop handlers: the first SIGINT, SIGTERM or SIGUSR1 only records itself; a second SIGINT kills
// the process at once, while a repeated SIGTERM or SIGUSR1 leaves the stop under way.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include "train/stop_signal.h"

namespace krait::train {
namespace {

// In a child: installs the handlers and raises `first` then `second`; returns how the child ended
// (its exit status, or minus the signal that killed it). The child exits with the recorded signal.
int raise_twice(int first, int second) {
  const pid_t pid = fork();
  if (pid == 0) {
    install_stop_handlers();
    ::raise(first);
    ::raise(second);
    _exit(stop_signal());
  }
  int status = 0;
  waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -WTERMSIG(status);
}

TEST(StopSignal, FirstSignalIsRecordedAndASecondCtrlCExitsAtOnce) {
  EXPECT_EQ(raise_twice(SIGINT, SIGINT), -SIGINT);
  EXPECT_EQ(raise_twice(SIGTERM, SIGTERM), SIGTERM);
  EXPECT_EQ(raise_twice(SIGUSR1, SIGTERM), SIGUSR1);
  EXPECT_EQ(raise_twice(SIGTERM, SIGINT), -SIGINT);
}

TEST(StopSignal, NamesAndExitCodes) {
  EXPECT_EQ(signal_name(SIGINT), "SIGINT");
  EXPECT_EQ(signal_name(SIGUSR1), "SIGUSR1");
  EXPECT_EQ(stop_exit_code(SIGINT), 130);
  EXPECT_EQ(stop_exit_code(SIGTERM), 143);
  request_stop(SIGTERM);
  EXPECT_EQ(stop_signal(), SIGTERM);
  request_stop(0);
  EXPECT_EQ(stop_signal(), 0);
}

}  // namespace
}  // namespace krait::train
