// Scoring speed of the difficulty scorer: one core, prompts of 2,000 characters (English, and
// Chinese of the same character count), each scored many times after a warm-up; prints the p50
// and p99 per prompt and the heap allocations per score after warm-up (the target is 0).
// usage: scorer_bench [--model FILE] [--iterations N]
// Without --model it trains a throwaway model on generated prompts (the weights' values do not
// change the work a score does).
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <new>
#include <string>
#include <vector>

#include "bench/allocation_counter.h"
#include "scorer/model.h"

namespace partita::scorer {
namespace {

std::string Repeat(const std::string& unit, std::size_t code_points, std::size_t unit_points) {
  std::string s;
  while (code_points >= unit_points) {
    s += unit;
    code_points -= unit_points;
  }
  return s;
}

int Run(int argc, char** argv) {
  std::string model_path;
  int iterations = 20000;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--model" && i + 1 < argc) {
      model_path = argv[++i];
    } else if (a == "--iterations" && i + 1 < argc) {
      iterations = std::max(100, std::atoi(argv[++i]));
    } else {
      std::fprintf(stderr, "usage: scorer_bench [--model FILE] [--iterations N]\n");
      return 2;
    }
  }
  DifficultyModel model;
  if (!model_path.empty()) {
    Result<DifficultyModel> loaded = DifficultyModel::Load(model_path);
    if (!loaded.ok()) {
      std::fprintf(stderr, "%s\n", loaded.status().message().c_str());
      return 1;
    }
    model = std::move(*loaded);
  } else {
    std::vector<LabeledPrompt> rows;
    for (int i = 0; i < 200; ++i) {
      rows.push_back({"s" + std::to_string(i), "", "Question " + std::to_string(i * 7919),
                      i % 3 != 0, true, 0});
    }
    model = DifficultyModel::Train(rows, {}, "bench");
  }
  const std::string english =
      Repeat("Which of the following best explains why the integral of x^2 from 0 to 3 equals 9? ",
             2000, 84);
  const std::string chinese = Repeat("请证明这个定理并计算积分的值，", 2000, 15);
  std::printf("scorer_bench: %d scores per prompt, one thread, model %s\n", iterations,
              model_path.empty() ? "(throwaway)" : model_path.c_str());
  for (const auto& [name, prompt] :
       {std::pair<const char*, const std::string&>{"english, 2,000 characters", english},
        std::pair<const char*, const std::string&>{"chinese, 2,000 characters", chinese}}) {
    FeatureExtractor extractor;
    Features features;
    double sink = 0;
    for (int i = 0; i < 100; ++i) sink += model.Score(prompt, extractor, features);  // warm-up
    std::vector<double> us;
    us.reserve(iterations);
    const std::uint64_t allocations_before = bench::AllocationCount();
    for (int i = 0; i < iterations; ++i) {
      const auto t0 = std::chrono::steady_clock::now();
      sink += model.Score(prompt, extractor, features);
      const auto t1 = std::chrono::steady_clock::now();
      us.push_back(std::chrono::duration<double, std::micro>(t1 - t0).count());
    }
    const std::uint64_t allocations = bench::AllocationCount() - allocations_before;
    std::sort(us.begin(), us.end());
    std::printf("%-28s p50 %6.2f us  p99 %6.2f us  allocations per score %.3f  (score %.3f)\n",
                name, us[us.size() / 2], us[us.size() * 99 / 100],
                static_cast<double>(allocations) / iterations, sink / (iterations + 100));
  }
  std::printf("target: p50 <= 20 us for 2,000 characters, 0 allocations after warm-up\n");
  return 0;
}

}  // namespace
}  // namespace partita::scorer

int main(int argc, char** argv) { return partita::scorer::Run(argc, argv); }
