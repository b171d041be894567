#include "common/status.h"

#include <doctest/doctest.h>

#include "common/diagnostic.h"

namespace partita {
namespace {

Result<int> Half(int x) {
  if (x % 2 != 0) return InvalidArgument(std::to_string(x) + " is odd");
  return x / 2;
}

Status UsesMacro(int x) {
  PARTITA_RETURN_IF_ERROR(Half(x).status());
  return Status::Ok();
}

TEST_CASE("Result carries a value or an error") {
  Result<int> good = Half(8);
  REQUIRE(good.ok());
  CHECK(*good == 4);
  Result<int> bad = Half(3);
  CHECK_FALSE(bad.ok());
  CHECK(bad.status().code() == StatusCode::kInvalidArgument);
  CHECK(bad.status().ToString() == "invalid_argument: 3 is odd");
  CHECK(UsesMacro(3).message() == "3 is odd");
  CHECK(UsesMacro(4).ok());
}

TEST_CASE("Diagnostics print compiler-style and cap their number") {
  Diagnostics d("policy.yaml");
  d.Error({3, 5}, "unknown key 'x'");
  d.Warning({}, "no rules");
  CHECK(d.has_errors());
  CHECK(d.ToString() ==
        "policy.yaml:3:5: error: unknown key 'x'\npolicy.yaml: warning: no rules\n");
  CHECK(d.ToStatus().message() ==
        "policy.yaml:3:5: error: unknown key 'x'\n"
        "policy.yaml: warning: no rules");
  for (int i = 0; i < 1000; ++i) d.Error({1, 1}, "again");
  CHECK(d.all().size() == Diagnostics::kMaxDiagnostics + 1);
  CHECK(d.error_count() == 1001);
}

}  // namespace
}  // namespace partita
