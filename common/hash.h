// Content hashes: SHA-256 for identities that are shown to people and compared across machines
// (policy versions, fleet hashes, prompt hashes in logs); FNV-1a for fast in-process keys.
// Pure functions; safe from any thread.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace partita {

// Lower-case hex SHA-256 of `data` (64 characters).
std::string Sha256Hex(std::string_view data);

// 64-bit FNV-1a; stable across runs and platforms.
constexpr std::uint64_t Fnv1a64(std::string_view data,
                                std::uint64_t seed = 1469598103934665603ull) {
  std::uint64_t h = seed;
  for (char c : data) {
    h ^= static_cast<unsigned char>(c);
    h *= 1099511628211ull;
  }
  return h;
}

}  // namespace partita
