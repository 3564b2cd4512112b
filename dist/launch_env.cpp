// dist/launch_env.cpp — reading the rank, world size and rendezvous address from torchrun's, Slurm's or
// Open MPI's environment variables, and the first host of a Slurm node list.
#include "dist/launch_env.h"

#include <charconv>
#include <cstdint>
#include <cstdlib>
#include <vector>

#include "common/error.h"

namespace krait::dist {
namespace {

// The variables one launcher sets for each process it starts.
struct Launcher {
  const char* source;
  const char* rank;
  const char* world_size;
  const char* local_rank;
};

constexpr Launcher kLaunchers[] = {
    {"torchrun", "RANK", "WORLD_SIZE", "LOCAL_RANK"},
    {"slurm", "SLURM_PROCID", "SLURM_NTASKS", "SLURM_LOCALID"},
    {"openmpi", "OMPI_COMM_WORLD_RANK", "OMPI_COMM_WORLD_SIZE", "OMPI_COMM_WORLD_LOCAL_RANK"},
};

int parse_int(const std::string& name, const std::string& value) {
  int result = 0;
  const char* end = value.data() + value.size();
  const auto [stop, ec] = std::from_chars(value.data(), end, result);
  KRAIT_CHECK(!value.empty() && ec == std::errc() && stop == end, "launch environment: ", name, "=\"", value,
              "\" is not an integer");
  return result;
}

// The integer variable `name`, which the launcher `l` always sets.
int required_int(const EnvLookup& env, const Launcher& l, const char* name) {
  const auto value = env(name);
  KRAIT_CHECK(value.has_value(), "launch environment: ", l.rank, " is set (a ", l.source, " launch) but ", name,
              " is not");
  return parse_int(name, *value);
}

int parse_port(const std::string& name, const std::string& value) {
  const int port = parse_int(name, value);
  KRAIT_CHECK(port >= 1 && port <= 65535, "launch environment: ", name, "=", value,
              " is not a TCP port (1..65535)");
  return port;
}

// Fills master_addr and master_port: MASTER_ADDR / MASTER_PORT, with Slurm's fallbacks.
void read_master(const EnvLookup& env, LaunchEnv& out) {
  const bool slurm = out.source == "slurm";
  if (const auto addr = env("MASTER_ADDR")) {
    out.master_addr = *addr;
  } else if (const auto nodelist = env("SLURM_JOB_NODELIST"); slurm && nodelist) {
    out.master_addr = first_slurm_host(*nodelist);
  }
  if (const auto port = env("MASTER_PORT")) {
    out.master_port = parse_port("MASTER_PORT", *port);
  } else if (slurm) {
    out.master_port = kDefaultMasterPort;
  }
  if (out.world_size == 1) return;
  KRAIT_CHECK(!out.master_addr.empty(), "launch environment: MASTER_ADDR is not set",
              slurm ? " (nor SLURM_JOB_NODELIST)" : "", "; a ", out.source, " launch of ", out.world_size,
              " ranks needs rank 0's address");
  KRAIT_CHECK(out.master_port != 0, "launch environment: MASTER_PORT is not set; a ", out.source, " launch of ",
              out.world_size, " ranks needs the port rank 0 listens on");
}

// Splits a node list at the commas outside brackets.
std::vector<std::string> split_nodelist(const std::string& nodelist) {
  std::vector<std::string> items(1);
  int depth = 0;
  for (const char c : nodelist) {
    if (c == '[') ++depth;
    if (c == ']') --depth;
    KRAIT_CHECK(depth == 0 || depth == 1, "SLURM_JOB_NODELIST=\"", nodelist, "\": unbalanced brackets");
    if (c == ',' && depth == 0) {
      items.emplace_back();
    } else {
      items.back() += c;
    }
  }
  KRAIT_CHECK(depth == 0, "SLURM_JOB_NODELIST=\"", nodelist, "\": unbalanced brackets");
  return items;
}

// A decimal number without sign, small enough to compare.
std::optional<uint64_t> parse_index(const std::string& s) {
  uint64_t value = 0;
  const auto [stop, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
  if (s.empty() || ec != std::errc() || stop != s.data() + s.size()) return std::nullopt;
  return value;
}

// The first number of a bracketed range list ("01-04,07" -> "01"), checking every range.
std::string first_of_ranges(const std::string& ranges, const std::string& nodelist) {
  std::string first;
  size_t start = 0;
  while (start <= ranges.size()) {
    const size_t comma = std::min(ranges.find(',', start), ranges.size());
    const std::string range = ranges.substr(start, comma - start);
    const size_t dash = range.find('-');
    const std::string lo = range.substr(0, dash), hi = dash == std::string::npos ? lo : range.substr(dash + 1);
    const auto lo_index = parse_index(lo), hi_index = parse_index(hi);
    KRAIT_CHECK(lo_index && hi_index && *lo_index <= *hi_index, "SLURM_JOB_NODELIST=\"",
                nodelist, "\": \"", range, "\" is not a number or a range lo-hi");
    if (first.empty()) first = lo;
    start = comma + 1;
  }
  return first;
}

// The first host of one node-list item: "node[01-04]-ib[2,5]" -> "node01-ib2".
std::string first_host_of_item(const std::string& item, const std::string& nodelist) {
  KRAIT_CHECK(!item.empty() && item.front() != '[', "SLURM_JOB_NODELIST=\"", nodelist,
              "\": an empty host name");
  std::string host;
  size_t pos = 0;
  while (pos < item.size()) {
    const size_t open = item.find('[', pos);
    if (open == std::string::npos) {
      host += item.substr(pos);
      break;
    }
    const size_t close = item.find(']', open);
    host += item.substr(pos, open - pos);
    host += first_of_ranges(item.substr(open + 1, close - open - 1), nodelist);
    pos = close + 1;
  }
  return host;
}

}  // namespace

std::optional<std::string> process_env(const std::string& name) {
  const char* value = std::getenv(name.c_str());
  if (value == nullptr) return std::nullopt;
  return std::string(value);
}

std::string first_slurm_host(const std::string& nodelist) {
  std::string first;
  for (const std::string& item : split_nodelist(nodelist)) {
    const std::string host = first_host_of_item(item, nodelist);
    if (first.empty()) first = host;
  }
  return first;
}

LaunchEnv read_launch_env(const EnvLookup& env) {
  LaunchEnv out;
  out.source = "none";
  for (const Launcher& l : kLaunchers) {
    if (!env(l.rank)) continue;
    out.source = l.source;
    out.world_size = required_int(env, l, l.world_size);
    out.rank = required_int(env, l, l.rank);
    out.local_rank = required_int(env, l, l.local_rank);
    KRAIT_CHECK(out.world_size >= 1, "launch environment: ", l.world_size, "=", out.world_size,
                " must be at least 1");
    KRAIT_CHECK(out.rank >= 0 && out.rank < out.world_size, "launch environment: ", l.rank, "=", out.rank,
                " is outside [0, ", l.world_size, "=", out.world_size, ")");
    KRAIT_CHECK(out.local_rank >= 0, "launch environment: ", l.local_rank, "=", out.local_rank,
                " must not be negative");
    read_master(env, out);
    break;
  }
  return out;
}

}  // namespace krait::dist
