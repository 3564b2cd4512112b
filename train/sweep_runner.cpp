// train/sweep_runner.cpp — run_sweep and print_sweep_status (see sweep_runner.h): a poll loop that
// reaps finished children, starts pending runs on free slots (a GPU each, or CPU slots) and prints
// progress, with the per-run state read back from the run directories.
#include "train/sweep_runner.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>
#include <deque>
#include <fstream>
#include <optional>
#include <sstream>
#include <thread>

#include "common/error.h"
#include "common/unique_fd.h"
#include "train/flops.h"
#include "train/launch.h"
#include "train/metrics_log.h"
#include "train/recipe.h"
#include "train/run_lock.h"
#include "train/run_summary.h"
#include "train/sweep_spec.h"
#include "train/yaml_reader.h"

namespace krait::train {
namespace {

using Clock = std::chrono::steady_clock;

constexpr const char* kLockFile = "sweep.lock";
constexpr const char* kFailedFile = "sweep.failed";
constexpr int kLogTailLines = 20;

// A run with what the runner needs to know of its recipe.
struct Plan {
  SweepRun run;
  int64_t tokens_per_step = 0;
  double flops_per_token = NAN;  // NaN when the model has no parameter count (ETA from others)
};

std::vector<Plan> plan_sweep(const SweepSpec& spec) {
  std::vector<Plan> plans;
  for (SweepRun& run : expand_sweep(spec)) {
    const Recipe recipe = load_recipe(spec.base_recipe.string(), run.sets);
    Plan plan{std::move(run), recipe.tokens_per_step()};
    try {
      plan.flops_per_token = flops_per_token(recipe.model, count_parameters(recipe.model).total, recipe.data.seq_len);
    } catch (const Error&) {  // a classifier whose classes come from the data, or another backbone
    }
    plans.push_back(std::move(plan));
  }
  return plans;
}

std::filesystem::path in_run(const Plan& p, const char* file) { return p.run.run_dir / file; }

// The run's summary when it has finished the steps the sweep asks for.
std::optional<RunSummary> finished_summary(const Plan& p) {
  const std::filesystem::path path = in_run(p, kRunSummaryFile);
  if (!std::filesystem::exists(path)) return std::nullopt;
  RunSummary s = read_run_summary(path);
  if (s.status != "finished" || s.steps < p.run.steps) return std::nullopt;
  return s;
}

// The newest "train" record of a metrics file: its step and tokens/s (0 when absent).
struct TrainRecord {
  int64_t step = 0;
  double tokens_per_s = 0;
};

double field_of(const std::string& line, const std::string& key) {
  const auto at = line.find("\"" + key + "\":");
  return at == std::string::npos ? 0 : std::strtod(line.c_str() + at + key.size() + 3, nullptr);
}

TrainRecord latest_train_record(const Plan& p) {
  std::ifstream in(in_run(p, "metrics.jsonl"), std::ios::binary);
  if (!in) return {};
  in.seekg(0, std::ios::end);
  const std::streamoff size = in.tellg(), tail = std::min<std::streamoff>(size, 1 << 16);
  in.seekg(size - tail);
  std::string text(static_cast<size_t>(tail), '\0');
  in.read(text.data(), tail);
  std::istringstream lines(text);
  TrainRecord record;
  for (std::string line; std::getline(lines, line);) {
    if (line.find("\"kind\":\"train\"") == std::string::npos || line.back() != '}') continue;
    record.step = static_cast<int64_t>(field_of(line, "step"));
    record.tokens_per_s = field_of(line, "tokens_per_s");
  }
  return record;
}

std::string read_text(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// The last n lines of a file, each indented.
std::string tail_lines(const std::filesystem::path& path, int n) {
  std::istringstream in(read_text(path));
  std::deque<std::string> lines;
  for (std::string line; std::getline(in, line);) {
    lines.push_back(line);
    if (static_cast<int>(lines.size()) > n) lines.pop_front();
  }
  std::string out;
  for (const std::string& line : lines) out += "    " + line + "\n";
  return out;
}

// The run's sweep lock, RUN_DIR/sweep.lock: the runner takes it, and the `krait train` child it starts
// inherits it.
std::optional<PidLockFile> take_run_lock(const std::filesystem::path& run_dir) {
  return PidLockFile::try_take(run_dir / kLockFile);
}

std::vector<std::string> train_arguments(const SweepSpec& spec, const Plan& p) {
  std::vector<std::string> args{"train", "-c", spec.base_recipe.string()};
  for (const std::string& set : p.run.sets) args.insert(args.end(), {"--set", set});
  return args;
}

std::string command_line(const std::vector<std::string>& args) {
  std::string line = "krait";
  for (const std::string& a : args) line += " " + a;
  return line;
}

// Starts `krait train` for the run with its output appended to RUN_DIR/train.log; the child keeps
// the run's lock and is sent SIGTERM if the runner dies.
pid_t start_child(const SweepSpec& spec, const Plan& p, std::optional<int> gpu, const PidLockFile& lock) {
  const std::vector<std::string> args = train_arguments(spec, p);
  const std::string log_path = in_run(p, "train.log").string();
  UniqueFd log(::open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644));
  KRAIT_CHECK(log, "sweep: cannot open '", log_path, "': ", std::strerror(errno));
  const std::string header = "== krait sweep: " + command_line(args) +
                             (gpu ? " (CUDA_VISIBLE_DEVICES=" + std::to_string(*gpu) + ")" : "") + "\n";
  KRAIT_CHECK(::write(log.get(), header.data(), header.size()) == ssize_t(header.size()), "sweep: cannot write '",
              log_path, "'");
  const std::string exe = self_executable();
  std::vector<std::string> argv{exe};
  argv.insert(argv.end(), args.begin(), args.end());
  std::vector<std::string> env =
      gpu ? environment_with({{"CUDA_VISIBLE_DEVICES", std::to_string(*gpu)}}) : environment_with({});
  const std::vector<char*> c_argv = c_strings(argv), c_env = c_strings(env);
  const pid_t parent = ::getpid();
  const pid_t pid = ::fork();
  KRAIT_CHECK(pid >= 0, "sweep: fork: ", std::strerror(errno));
  if (pid == 0) {  // only async-signal-safe calls until execve
    ::dup2(log.get(), STDOUT_FILENO);
    ::dup2(log.get(), STDERR_FILENO);
    ::fcntl(lock.fd(), F_SETFD, 0);  // the trainer holds the run's lock for as long as it lives
    ::prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (::getppid() != parent) ::_exit(1);
    ::execve(exe.c_str(), c_argv.data(), c_env.data());
    ::_exit(127);
  }
  return pid;
}

std::string describe_status(int status) {
  if (WIFEXITED(status)) return "exited with status " + std::to_string(WEXITSTATUS(status));
  return std::string("killed by signal ") + std::to_string(WTERMSIG(status)) + " (" + ::strsignal(WTERMSIG(status)) + ")";
}

enum class State { Pending, Running, Elsewhere, Finished, Failed };

struct Slot {
  explicit Slot(std::optional<int> gpu = std::nullopt) : gpu(gpu) {}
  std::optional<int> gpu;
  int plan = -1;  // the run it trains, or -1
  pid_t pid = -1;
  std::optional<PidLockFile> lock;
};

class Runner {
 public:
  Runner(const SweepSpec& spec, std::vector<Plan> plans, const SweepRunOptions& options, std::ostream& out)
      : spec_(spec), plans_(std::move(plans)), options_(options), out_(out), states_(plans_.size(), State::Pending),
        started_(Clock::now()) {
    if (options.gpus.empty()) {
      slots_.resize(static_cast<size_t>(std::max(options.parallel, 1)));
    } else {
      for (const int gpu : options.gpus) slots_.emplace_back(gpu);
    }
    for (size_t i = 0; i < plans_.size(); ++i)
      if (finished_summary(plans_[i])) states_[i] = State::Finished;
  }

  ~Runner() {  // a thrown error stops the children this runner started
    for (const Slot& s : slots_) {
      if (s.plan < 0) continue;
      ::kill(s.pid, SIGTERM);
      ::waitpid(s.pid, nullptr, 0);
    }
  }

  int run() {
    out_ << "sweep " << spec_.file.string() << ": " << plans_.size() << " runs, " << count(State::Finished)
         << " already finished; " << slots_.size() << (options_.gpus.empty() ? " at a time" : " GPUs") << "\n";
    auto reported = Clock::now();
    while (true) {
      bool changed = reap();
      changed |= fill_slots();
      if (count(State::Running) == 0 && count(State::Pending) == 0 && count(State::Elsewhere) == 0) break;
      if (changed || Clock::now() - reported >= std::chrono::duration<double>(options_.report_s)) {
        report();
        reported = Clock::now();
      }
      std::this_thread::sleep_for(std::chrono::duration<double>(options_.poll_s));
    }
    out_ << "sweep done: " << count(State::Finished) << " finished, " << count(State::Failed) << " failed, in "
         << format_duration(seconds_since(started_)) << "\n"
         << std::flush;
    return count(State::Failed) == 0 ? 0 : 1;
  }

 private:
  static double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

  int count(State s) const { return static_cast<int>(std::count(states_.begin(), states_.end(), s)); }

  bool reap() {
    bool changed = false;
    for (Slot& slot : slots_) {
      int status = 0;
      if (slot.plan < 0 || ::waitpid(slot.pid, &status, WNOHANG) != slot.pid) continue;
      const Plan& p = plans_[static_cast<size_t>(slot.plan)];
      const std::optional<RunSummary> summary = status == 0 ? finished_summary(p) : std::nullopt;
      if (summary) {
        states_[static_cast<size_t>(slot.plan)] = State::Finished;
        out_ << "finished " << p.run.name << ": " << summary->steps << " steps, train loss " << summary->final_train_loss
             << ", eval loss " << summary->final_eval_loss << ", " << format_duration(summary->wall_s) << "\n";
      } else {
        states_[static_cast<size_t>(slot.plan)] = State::Failed;
        const std::string why = status == 0 ? "exited 0 without a finished summary" : describe_status(status);
        std::ofstream(in_run(p, kFailedFile)) << why << "\n";
        out_ << "FAILED " << p.run.name << ": " << why << "; the end of " << in_run(p, "train.log").string() << ":\n"
             << tail_lines(in_run(p, "train.log"), kLogTailLines);
      }
      slot = Slot(slot.gpu);
      changed = true;
    }
    return changed;
  }

  // Starts pending runs (and runs another process held, once free) on the free slots.
  bool fill_slots() {
    bool changed = false;
    for (size_t i = 0; i < plans_.size(); ++i) {
      if (states_[i] != State::Pending && states_[i] != State::Elsewhere) continue;
      const auto free = std::find_if(slots_.begin(), slots_.end(), [](const Slot& s) { return s.plan < 0; });
      if (free == slots_.end()) break;
      std::optional<PidLockFile> lock = take_run_lock(plans_[i].run.run_dir);
      if (!lock) {
        if (states_[i] != State::Elsewhere) out_ << plans_[i].run.name << ": another process holds its lock; waiting\n";
        states_[i] = State::Elsewhere;
        continue;
      }
      changed = true;
      if (finished_summary(plans_[i])) {  // another runner finished it
        states_[i] = State::Finished;
        continue;
      }
      std::filesystem::remove(in_run(plans_[i], kFailedFile));
      free->pid = start_child(spec_, plans_[i], free->gpu, *lock);
      free->plan = static_cast<int>(i);
      free->lock = std::move(lock);
      states_[i] = State::Running;
      out_ << "started " << plans_[i].run.name << (free->gpu ? " on GPU " + std::to_string(*free->gpu) : "") << "\n";
    }
    return changed;
  }

  // Seconds per training FLOP: from the finished runs' summaries, else from the running runs' rates.
  double seconds_per_flop(const std::vector<TrainRecord>& records) const {
    double seconds = 0, flops = 0;
    for (size_t i = 0; i < plans_.size(); ++i) {
      if (states_[i] != State::Finished) continue;
      const std::optional<RunSummary> s = finished_summary(plans_[i]);
      if (s && s->wall_s > 0 && s->steps > 0) {
        seconds += s->wall_s;
        flops += s->train_flops;
      }
    }
    if (flops > 0) return seconds / flops;
    double rate = 0;  // FLOPs/s summed over the running runs
    for (size_t i = 0; i < plans_.size(); ++i)
      if (states_[i] == State::Running && std::isfinite(plans_[i].flops_per_token))
        rate += records[i].tokens_per_s * plans_[i].flops_per_token;
    return rate > 0 ? double(count(State::Running)) / rate : NAN;
  }

  void report() {
    std::vector<TrainRecord> records(plans_.size());
    std::ostringstream line;
    line << "[sweep " << format_duration(seconds_since(started_)) << "] " << count(State::Finished) << " finished, "
         << count(State::Running) << " running, " << count(State::Pending) + count(State::Elsewhere) << " pending, "
         << count(State::Failed) << " failed";
    double remaining_flops = 0;
    for (size_t i = 0; i < plans_.size(); ++i) {
      if (states_[i] == State::Finished || states_[i] == State::Failed) continue;
      records[i] = latest_train_record(plans_[i]);
      const int64_t left = std::max<int64_t>(plans_[i].run.steps - records[i].step, 0);
      remaining_flops += double(left) * double(plans_[i].tokens_per_step) * plans_[i].flops_per_token;
      if (states_[i] == State::Running)
        line << " | " << plans_[i].run.name << " step " << records[i].step << "/" << plans_[i].run.steps;
    }
    const double eta = remaining_flops * seconds_per_flop(records) / double(slots_.size());
    line << " | ETA " << format_duration(eta) << "\n";
    out_ << line.str() << std::flush;
  }

  const SweepSpec& spec_;
  std::vector<Plan> plans_;
  SweepRunOptions options_;
  std::ostream& out_;
  std::vector<State> states_;
  std::vector<Slot> slots_;
  Clock::time_point started_;
};

}  // namespace

int run_sweep(const std::filesystem::path& sweep_file, const SweepRunOptions& options, std::ostream& out) {
  const SweepSpec spec = read_sweep(sweep_file);
  std::vector<Plan> plans = plan_sweep(spec);
  if (options.dry_run) {
    for (const Plan& p : plans)
      out << p.run.name << " (" << p.run.steps << " steps):\n  " << command_line(train_arguments(spec, p)) << "\n";
    return 0;
  }
  KRAIT_CHECK(options.gpus.empty() || options.parallel == 1, "sweep run: give --gpus or --parallel, not both");
  KRAIT_CHECK(options.parallel >= 1, "sweep run: --parallel must be >= 1, got ", options.parallel);
  std::filesystem::create_directories(spec.out_dir);
  const std::filesystem::path copy = spec.out_dir / "sweep.yaml";
  if (!std::filesystem::exists(copy) || !std::filesystem::equivalent(copy, sweep_file))
    std::filesystem::copy_file(sweep_file, copy, std::filesystem::copy_options::overwrite_existing);
  return Runner(spec, std::move(plans), options, out).run();
}

void print_sweep_status(const std::filesystem::path& sweep_file, std::ostream& out) {
  const SweepSpec spec = read_sweep(sweep_file);
  out << "| run | arch | size | lr | seq_len | steps | state |\n|---|---|---|---|---|---|---|\n";
  for (const Plan& p : plan_sweep(spec)) {
    std::ostringstream state;
    const TrainRecord record = latest_train_record(p);
    if (const std::optional<RunSummary> s = finished_summary(p)) {
      state << "finished: eval loss " << s->final_eval_loss << ", train loss " << s->final_train_loss << ", "
            << format_duration(s->wall_s);
    } else if (const std::optional<std::string> pid = PidLockFile::holder(p.run.run_dir / kLockFile)) {
      state << "running (pid " << *pid << "): step " << record.step;
    } else if (std::filesystem::exists(in_run(p, kFailedFile))) {
      std::string why = read_text(in_run(p, kFailedFile));
      while (!why.empty() && why.back() == '\n') why.pop_back();
      state << "failed: " << why;
    } else if (record.step > 0) {
      state << "partial: step " << record.step;
    } else {
      state << "pending";
    }
    out << "| " << p.run.name << " | " << p.run.arch << " | " << p.run.size << " | " << format_number(p.run.lr)
        << " | " << p.run.seq_len << " | " << p.run.steps << " | " << state.str() << " |\n";
  }
}

}  // namespace krait::train
