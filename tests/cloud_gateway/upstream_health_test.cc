// Passive health (ejection after consecutive failures, growing) and the retry budget.
#include "cloud_gateway/upstream_health.h"

#include <doctest/doctest.h>

namespace partita::cloud_gateway {
namespace {

using namespace std::chrono_literals;
constexpr SteadyNanos kSec = 1'000'000'000;

TEST_CASE("five consecutive failures eject for the base time") {
  UpstreamHealth h(5, 30s, 300s);
  SteadyNanos t = 1000 * kSec;
  for (int i = 0; i < 4; ++i) CHECK_FALSE(h.RecordFailure(t));
  CHECK(h.Available(t));
  CHECK(h.RecordFailure(t));
  CHECK_FALSE(h.Available(t));
  CHECK(h.EjectedFor(t) == 30 * kSec);
  CHECK_FALSE(h.Available(t + 29 * kSec));
  CHECK(h.Available(t + 30 * kSec));
  CHECK(h.ejections() == 1);
}

TEST_CASE("a success resets the count of consecutive failures") {
  UpstreamHealth h(5, 30s, 300s);
  for (int i = 0; i < 4; ++i) h.RecordFailure(kSec);
  h.RecordSuccess(kSec);
  for (int i = 0; i < 4; ++i) CHECK_FALSE(h.RecordFailure(kSec));
  CHECK(h.Available(kSec));
}

TEST_CASE("repeated ejections grow, capped") {
  UpstreamHealth h(5, 30s, 100s);
  SteadyNanos t = 0;
  SteadyNanos expected[] = {30 * kSec, 60 * kSec, 100 * kSec, 100 * kSec};
  for (SteadyNanos want : expected) {
    for (int i = 0; i < 5; ++i) h.RecordFailure(t);
    CHECK(h.EjectedFor(t) == want);
    t += want;  // back, and failing again at once
  }
  CHECK(h.ejections() == 4);
}

TEST_CASE("the streak ends after a success a full period after returning") {
  UpstreamHealth h(5, 30s, 300s);
  for (int i = 0; i < 5; ++i) h.RecordFailure(0);
  const SteadyNanos back = 30 * kSec;
  h.RecordSuccess(back + 40 * kSec);
  for (int i = 0; i < 5; ++i) h.RecordFailure(back + 41 * kSec);
  CHECK(h.EjectedFor(back + 41 * kSec) == 30 * kSec);  // not 60
}

TEST_CASE("failures while ejected do not extend the ejection") {
  UpstreamHealth h(2, 30s, 300s);
  h.RecordFailure(0);
  CHECK(h.RecordFailure(0));
  for (int i = 0; i < 10; ++i) CHECK_FALSE(h.RecordFailure(kSec));
  CHECK(h.EjectedFor(kSec) == 29 * kSec);
}

TEST_CASE("retry budget: at least min_concurrent, else ratio of active requests") {
  RetryBudget b(0.2, 3);
  for (int i = 0; i < 5; ++i) b.RequestStarted();
  CHECK(b.TryStartRetry());
  CHECK(b.TryStartRetry());
  CHECK(b.TryStartRetry());
  CHECK_FALSE(b.TryStartRetry());  // 5 active: 20% is 1, the minimum 3 applies
  b.RetryFinished();
  CHECK(b.TryStartRetry());
  for (int i = 0; i < 45; ++i) b.RequestStarted();  // 50 active: 10 retries
  int more = 0;
  while (b.TryStartRetry()) ++more;
  CHECK(b.active_retries() == 10);
  CHECK(more == 7);
}

}  // namespace
}  // namespace partita::cloud_gateway
