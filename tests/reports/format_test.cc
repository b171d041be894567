#include "reports/format.h"

#include <doctest/doctest.h>

namespace partita::reports {
namespace {

TEST_CASE("Numbers are formatted for people") {
  CHECK(FormatCount(0) == "0");
  CHECK(FormatCount(999) == "999");
  CHECK(FormatCount(1234) == "1,234");
  CHECK(FormatCount(5'000'000) == "5,000,000");
  CHECK(FormatMs(0.42) == "0.42 ms");
  CHECK(FormatMs(12.34) == "12.3 ms");
  CHECK(FormatMs(812.4) == "812 ms");
  CHECK(FormatMs(999.4) == "999 ms");
  CHECK(FormatMs(1234) == "1.23 s");
  CHECK(FormatMs(123456) == "123 s");
  CHECK(FormatMs(12345) == "12.3 s");
  CHECK(FormatUsd(0.42) == "$0.42");
  CHECK(FormatUsd(0.8) == "$0.80");
  CHECK(FormatUsd(12.345) == "$12.35");
  CHECK(FormatUsd(1234.6) == "$1,235");
  CHECK(FormatUsd(0.0031) == "$0.0031");
  CHECK(FormatUsd(0) == "$0.00");
  CHECK(FormatShare(0.123) == "12.3%");
  CHECK(FormatShare(0.5) == "50%");
  CHECK(FormatShare(1) == "100%");
  CHECK(FormatShare(0.9999) == "99.99%");
  CHECK(FormatShare(0.00042) == "0.04%");
  CHECK(FormatWh(1.234) == "1.23 Wh");
  CHECK(FormatWh(0.045) == "0.045 Wh");
  CHECK(FormatRelative(0.41) == "41%");
  CHECK(FormatRelative(-0.045) == "4.5%");
  CHECK(FormatFixed(-0.0001, 2) == "0.00");
  CHECK(ShortHash("0123456789abcdef0123") == "0123456789ab");
}

}  // namespace
}  // namespace partita::reports
