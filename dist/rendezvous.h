// dist/rendezvous.h — rendezvous_broadcast, which gathers every rank of a job at rank 0's address
// over TCP and hands each of them rank 0's bytes (the ncclUniqueId the communicator is built from),
// and find_free_port.
#pragma once

#include <chrono>
#include <cstdint>
#include <vector>

#include "dist/launch_env.h"

namespace krait::dist {

// Rank 0 listens on env.master_port (all IPv4 interfaces) until every other rank has connected and
// said hello (a magic, the protocol version, its rank and the world size), then sends each of them
// `payload` (length-prefixed) and returns it. Every other rank connects to
// env.master_addr:env.master_port, retrying until rank 0 listens, and returns the bytes rank 0 sent.
// A world of one returns `payload` without opening a socket. Nothing waits longer than `timeout`
// (counted from the call; only a slow DNS lookup of master_addr can overrun it): throws krait::Error
// naming the ranks that never arrived (rank 0), the address and port it could not reach (other
// ranks), a busy port, a hello with a bad magic, version, world size or a duplicate or out-of-range
// rank, and a peer that closed the connection mid-message.
std::vector<uint8_t> rendezvous_broadcast(const LaunchEnv& env, std::vector<uint8_t> payload,
                                          std::chrono::milliseconds timeout);

// A TCP port nobody listens on now (the kernel's pick when binding port 0), for rank 0 to use.
int find_free_port();

}  // namespace krait::dist
