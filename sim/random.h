// Deterministic, counter-based randomness for the simulator.
//
// Every random draw is a pure function of (seed, stream, counter), so a draw does not depend on
// what else was drawn before it: two policies simulated on the same seed see the same arrivals,
// request features, network draws and failures, whatever they decide. SplitMix64 finalisers
// make the bits; the transforms to uniform/normal/exponential are written out here (not
// std:: distributions, whose output differs between standard libraries), so results are
// identical on every platform. Pure functions; safe from any thread.
#pragma once

#include <cmath>
#include <cstdint>

namespace partita::sim {

constexpr std::uint64_t Mix64(std::uint64_t z) {
  z += 0x9e3779b97f4a7c15ull;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

// Names of independent random streams.
enum class Stream : std::uint64_t {
  kArrival = 1,
  kRequest = 2,
  kNetwork = 3,
  kFailure = 4,
  kDevice = 5,
  kCharging = 6,
  kRtt = 7,
};

// A reproducible source of draws for one (seed, stream, key) triple; `Next*` advance a counter.
class Rng {
 public:
  constexpr Rng(std::uint64_t seed, Stream stream, std::uint64_t key)
      : base_(Mix64(Mix64(seed ^ (static_cast<std::uint64_t>(stream) << 56)) ^ key)) {}

  constexpr std::uint64_t NextBits() { return Mix64(base_ + counter_++ * 0x632be59bd9b4e019ull); }
  // Uniform in [0, 1) with 53 random bits.
  double Uniform() { return static_cast<double>(NextBits() >> 11) * 0x1.0p-53; }
  // Uniform in (0, 1], safe for log().
  double UniformOpen() { return 1.0 - Uniform(); }
  double Exponential(double rate) { return -std::log(UniformOpen()) / rate; }
  double Normal() {
    // Box-Muller; one of the pair is discarded so each call costs the same draws.
    const double u1 = UniformOpen();
    const double u2 = Uniform();
    return std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2);
  }
  bool Bernoulli(double p) { return Uniform() < p; }
  std::uint64_t counter() const { return counter_; }
  // Continues a stream from a saved counter (per-device arrival streams).
  void Seek(std::uint64_t counter) { counter_ = counter; }

 private:
  std::uint64_t base_;
  std::uint64_t counter_ = 0;
};

}  // namespace partita::sim
