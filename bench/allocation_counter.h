// Counts the process's heap allocations, for benchmarks whose target is "no allocation": linking
// allocation_counter.cc replaces the global operator new. Any thread.
#pragma once

#include <cstdint>

namespace partita::bench {

// Allocations through operator new since the process started.
std::uint64_t AllocationCount();

}  // namespace partita::bench
