// Plain-language findings: who wins what, the frontier, dominance, tradeoffs against the
// baseline (the first run), and what needs attention. docs/reports.md describes the rules.
#include <algorithm>
#include <cmath>
#include <functional>
#include <iterator>
#include <set>

#include "reports/format.h"
#include "reports/report.h"

namespace partita::reports {

namespace {

// "0.86 vs 0.84"; with a third decimal when two would print the same number twice.
std::string QualityPair(double a, double b) {
  const int decimals = FormatQuality(a) == FormatQuality(b) ? 3 : 2;
  return FormatFixed(a, decimals) + " vs " + FormatFixed(b, decimals);
}

enum class Compare { kBetter, kWorse, kTie, kUnknown };

// One measure the findings compare policies on.
struct Measure {
  bool lower_is_better;
  std::function<std::optional<double>(const RunFigures&)> get;
  std::function<bool(double, double)> tie;  // a difference too small to mention
  // "is 120 ms faster at p95" (a: this run, b: the other)
  std::function<std::string(const RunFigures& a, const RunFigures& b, double, double)> gain;
  // "+120 ms p95"
  std::function<std::string(double, double)> loss;
  // What someone who wants a's gain over b cares about ("battery life").
  std::function<std::string(const RunFigures& a, const RunFigures& b)> cares;
  std::string_view winner;  // "Fastest at p95"
  std::function<std::string(double)> value;
};

bool RelativeTie(double a, double b, double rel, double abs) {
  return std::fabs(a - b) < std::max(abs, rel * std::min(std::fabs(a), std::fabs(b)));
}

// A measure's wording that does not need the runs.
auto Cares(std::string_view what) {
  return [what](const RunFigures&, const RunFigures&) { return std::string(what); };
}
template <typename F>
auto Gain(F f) {
  return [f](const RunFigures&, const RunFigures&, double a, double b) { return f(a, b); };
}

// Whether a's batteries fare better than b's: fewer battery-empty events, or a mean battery
// level that differs as shown (one decimal of a percent). Unknown when neither is recorded.
bool BatteryBetter(const RunFigures& a, const RunFigures& b) {
  if (a.battery_empty_events && b.battery_empty_events &&
      *a.battery_empty_events < *b.battery_empty_events) {
    return true;
  }
  return a.battery.samples > 0 && b.battery.samples > 0 &&
         FormatShareFixed(a.battery.mean_pct / 100) != FormatShareFixed(b.battery.mean_pct / 100) &&
         a.battery.mean_pct > b.battery.mean_pct;
}

bool BatterySame(const RunFigures& a, const RunFigures& b) {
  const bool events = a.battery_empty_events && b.battery_empty_events;
  const bool levels = a.battery.samples > 0 && b.battery.samples > 0;
  if (!events && !levels) return false;
  if (events && *a.battery_empty_events != *b.battery_empty_events) return false;
  return !levels ||
         FormatShareFixed(a.battery.mean_pct / 100) == FormatShareFixed(b.battery.mean_pct / 100);
}

// "0.05%", or "under 0.01%" for what FormatShare would show as 0.00%.
std::string SmallShare(double fraction) {
  return fraction < 0.00005 ? "under 0.01%" : FormatShare(fraction);
}

// a uses less energy on requests than b: by how much, and what that is of everything the
// devices drew (idle drain dwarfs requests), and whether the batteries show it.
std::string EnergyGain(const RunFigures& a, const RunFigures& b, double va, double vb) {
  std::string text = "uses " + FormatRelative((vb - va) / vb) + " less energy on requests";
  std::vector<std::string> context;
  if (b.drain_wh_per_device_day && *b.drain_wh_per_device_day > 0) {
    context.push_back(FormatWh(vb - va) + " per device-day, " +
                      SmallShare((vb - va) / *b.drain_wh_per_device_day) +
                      " of the devices' total drain");
  }
  if (BatterySame(a, b)) context.emplace_back("the batteries fare the same");
  if (!context.empty()) {
    text += " (" + context[0];
    for (std::size_t i = 1; i < context.size(); ++i) text += "; " + context[i];
    text += ")";
  }
  return text;
}

const std::vector<Measure>& Measures() {
  static const std::vector<Measure> kMeasures = {
      {true,
       [](const RunFigures& r) -> std::optional<double> {
         if (r.latency_ms.count == 0) return std::nullopt;
         return r.latency_ms.p95;
       },
       [](double a, double b) { return RelativeTie(a, b, 0.01, 1.0); },
       Gain([](double a, double b) { return "is " + FormatMs(b - a) + " faster at p95"; }),
       [](double a, double b) { return "+" + FormatMs(a - b) + " p95"; }, Cares("latency"),
       "Fastest at p95", [](double v) { return FormatMs(v); }},
      {true, [](const RunFigures& r) { return r.cost_per_1k_usd; },
       [](double a, double b) { return RelativeTie(a, b, 0.01, 1e-9); },
       Gain([](double a, double b) {
         return "costs " + FormatUsd(b - a) + " less per 1,000 requests";
       }),
       [](double a, double b) { return "+" + FormatUsd(a - b) + " per 1,000 requests"; },
       Cares("cloud spend"), "Cheapest",
       [](double v) { return FormatUsd(v) + " per 1,000 requests"; }},
      {true, [](const RunFigures& r) { return r.energy_wh_per_device_day; },
       [](double a, double b) { return RelativeTie(a, b, 0.01, 1e-9); }, EnergyGain,
       [](double a, double b) {
         return "+" + FormatRelative(b > 0 ? (a - b) / b : 1.0) + " energy on requests";
       },
       // Battery life only when the batteries show it; else the energy itself.
       [](const RunFigures& a, const RunFigures& b) {
         return std::string(BatteryBetter(a, b) ? "battery life" : "device energy");
       },
       "Least energy on requests", [](double v) { return FormatWh(v) + " per device-day"; }},
      {false, [](const RunFigures& r) { return r.success_rate; },
       [](double a, double b) { return std::fabs(a - b) < 0.001; }, Gain([](double a, double b) {
         return "answers more requests (" + FormatShare(a) + " vs " + FormatShare(b) + ")";
       }),
       [](double a, double b) {
         return "fewer requests answered (" + FormatShare(a) + " vs " + FormatShare(b) + ")";
       },
       Cares("reliability"), "Most requests answered", [](double v) { return FormatShare(v); }},
      {false, [](const RunFigures& r) { return r.mean_quality; },
       [](double a, double b) { return std::fabs(a - b) < 0.005; }, Gain([](double a, double b) {
         return "gives better answers (quality " + QualityPair(a, b) + ")";
       }),
       [](double a, double b) { return "lower quality (" + QualityPair(a, b) + ")"; },
       Cares("answer quality"), "Best answers",
       [](double v) { return "quality " + FormatQuality(v); }},
  };
  return kMeasures;
}

Compare CompareOn(const Measure& m, const RunFigures& a, const RunFigures& b) {
  const std::optional<double> va = m.get(a), vb = m.get(b);
  if (!va || !vb) return Compare::kUnknown;
  if (m.tie(*va, *vb)) return Compare::kTie;
  const bool a_lower = *va < *vb;
  return a_lower == m.lower_is_better ? Compare::kBetter : Compare::kWorse;
}

// "a", "a and b", "a, b and c"
std::string JoinAnd(const std::vector<std::string>& items) {
  std::string out;
  for (std::size_t i = 0; i < items.size(); ++i) {
    if (i > 0) out += i + 1 == items.size() ? " and " : ", ";
    out += items[i];
  }
  return out;
}

struct Comparison {
  std::vector<std::string> gains, losses;
  std::vector<std::string> gain_cares, loss_cares;
  int known = 0;
};

Comparison CompareRuns(const RunFigures& a, const RunFigures& b) {
  Comparison c;
  for (const Measure& m : Measures()) {
    const Compare cmp = CompareOn(m, a, b);
    if (cmp == Compare::kUnknown) continue;
    ++c.known;
    if (cmp == Compare::kBetter) {
      c.gains.push_back(m.gain(a, b, *m.get(a), *m.get(b)));
      c.gain_cares.push_back(m.cares(a, b));
    } else if (cmp == Compare::kWorse) {
      c.losses.push_back(m.loss(*m.get(a), *m.get(b)));
      c.loss_cares.push_back(m.cares(b, a));
    }
  }
  return c;
}

// Dominance needs latency and cost on both sides.
// Outcomes predicted by a replay, not measured or simulated.
bool Predicted(const RunFigures& r) { return r.info.source == "replay"; }

// Measured and predicted figures are never compared with each other.
bool Comparable(const RunFigures& a, const RunFigures& b) {
  return a.latency_ms.count > 0 && b.latency_ms.count > 0 && a.cost_per_1k_usd &&
         b.cost_per_1k_usd && Predicted(a) == Predicted(b);
}

// "device 46.5%, phone 19.3% and cloud 33.9%": shares of completed requests, as in the tables.
std::string TierMixText(const RunFigures& r) {
  std::vector<std::string> parts;
  if (r.completed == 0) return "";
  for (std::size_t t = 0; t < kTierCount; ++t) {
    parts.push_back(
        std::string(kTierNames[t]) + " " +
        FormatShare(static_cast<double>(r.answered[t]) / static_cast<double>(r.completed)));
  }
  return JoinAnd(parts);
}

void Winners(const std::vector<RunFigures>& runs, std::vector<Finding>& out) {
  std::vector<std::string> sentences;
  for (const Measure& m : Measures()) {
    std::optional<std::size_t> best;
    int known = 0;
    for (std::size_t i = 0; i < runs.size(); ++i) {
      const std::optional<double> v = m.get(runs[i]);
      if (!v) continue;
      ++known;
      if (!best || (m.lower_is_better ? *v < *m.get(runs[*best]) : *v > *m.get(runs[*best]))) {
        best = i;
      }
    }
    if (!best || known < 2) continue;
    const double bv = *m.get(runs[*best]);
    std::vector<std::string> tied = {runs[*best].name};
    for (std::size_t i = 0; i < runs.size(); ++i) {
      const std::optional<double> v = m.get(runs[i]);
      if (i != *best && v && m.tie(*v, bv)) tied.push_back(runs[i].name);
    }
    if (tied.size() == static_cast<std::size_t>(known)) {
      sentences.push_back(std::string(m.winner) + ": a tie (" + m.value(bv) + ")");
    } else if (tied.size() > 1) {
      sentences.push_back(std::string(m.winner) + ": " + JoinAnd(tied) + " (about " + m.value(bv) +
                          ")");
    } else {
      sentences.push_back(std::string(m.winner) + ": " + tied[0] + " (" + m.value(bv) + ")");
    }
  }
  if (sentences.empty()) return;
  std::string text;
  for (const std::string& s : sentences) text += (text.empty() ? "" : ". ") + s;
  out.push_back({Finding::Kind::kSummary, text + "."});
}

void Frontier(const std::vector<RunFigures>& runs, const std::vector<std::size_t>& frontier,
              std::vector<Finding>& out) {
  std::vector<std::size_t> plotted;
  for (std::size_t i = 0; i < runs.size(); ++i) {
    if (runs[i].latency_ms.count > 0 && runs[i].cost_per_1k_usd) plotted.push_back(i);
  }
  if (plotted.size() < 2 || frontier.empty()) return;
  if (frontier.size() == plotted.size()) {
    out.push_back({Finding::Kind::kFrontier,
                   "Every policy is on the Pareto frontier of cost against p95 latency: each "
                   "buys speed with money, and none is both slower and dearer than another."});
    return;
  }
  std::vector<std::string> on, off;
  for (std::size_t i : frontier) {
    on.push_back(runs[i].name + " (" + FormatUsd(*runs[i].cost_per_1k_usd) + ", " +
                 FormatMs(runs[i].latency_ms.p95) + ")");
  }
  for (std::size_t i : plotted) {
    if (!runs[i].on_frontier) off.push_back(runs[i].name);
  }
  std::string text;
  if (frontier.size() == 1) {
    text = runs[frontier[0]].name + " alone is on the Pareto frontier of cost against p95 " +
           "latency: it is at least as cheap and as fast as every other policy (" +
           FormatUsd(*runs[frontier[0]].cost_per_1k_usd) + " per 1,000 requests, p95 " +
           FormatMs(runs[frontier[0]].latency_ms.p95) + ").";
  } else {
    text =
        "On cost against p95 latency, the Pareto frontier runs from the cheapest to the "
        "fastest: ";
    for (std::size_t k = 0; k < on.size(); ++k) text += (k ? " \u2192 " : "") + on[k];
    text += ". ";
    text += JoinAnd(off) + (off.size() == 1 ? " is" : " are") +
            " off the frontier: another policy is both cheaper and faster.";
  }
  out.push_back({Finding::Kind::kFrontier, text});
}

}  // namespace

std::vector<Finding> WriteFindings(const std::vector<RunFigures>& runs,
                                   const std::vector<std::size_t>& frontier) {
  std::vector<Finding> out;
  if (runs.size() == 1) {
    const RunFigures& r = runs[0];
    if (r.completed > 0) {
      std::string text = r.name + " answered " + FormatShare(*r.success_rate) + " of " +
                         FormatCount(r.completed) + " requests";
      const std::string mix = TierMixText(r);
      if (!mix.empty()) text += " (" + mix + ")";
      if (r.latency_ms.count > 0) text += ", with p95 latency " + FormatMs(r.latency_ms.p95);
      text += ", " + FormatUsd(*r.cost_per_1k_usd) + " per 1,000 requests";
      if (r.energy_wh_per_device_day) {
        text += " and " + FormatWh(*r.energy_wh_per_device_day) +
                " of energy on requests per device-day";
      }
      out.push_back({Finding::Kind::kSummary, text + "."});
    }
  } else if (std::any_of(runs.begin(), runs.end(), Predicted) &&
             !std::all_of(runs.begin(), runs.end(), Predicted)) {
    // A replay: the winners among the predictions (the measured run is shown, not ranked).
    std::vector<RunFigures> predicted;
    std::copy_if(runs.begin(), runs.end(), std::back_inserter(predicted), Predicted);
    Winners(predicted, out);
  } else {
    Winners(runs, out);
    Frontier(runs, frontier, out);
  }

  // Dominance, over every ordered pair.
  std::set<std::pair<std::size_t, std::size_t>> dominance;
  for (std::size_t i = 0; i < runs.size(); ++i) {
    for (std::size_t j = 0; j < runs.size(); ++j) {
      if (i == j || !Comparable(runs[i], runs[j])) continue;
      const Comparison c = CompareRuns(runs[i], runs[j]);
      if (c.gains.empty() || !c.losses.empty()) continue;
      dominance.insert({i, j});
      std::string text = runs[i].name + " dominates " + runs[j].name + ": it " + JoinAnd(c.gains);
      if (c.gains.size() < static_cast<std::size_t>(c.known)) {
        text += ", and is as good on every other measure";
      }
      text += ". Prefer " + runs[i].name + " to " + runs[j].name + ".";
      out.push_back({Finding::Kind::kDominance, text});
    }
  }

  // Tradeoffs against the baseline: the first run, or for predicted runs the first predicted
  // one (a replay's "production (predicted)").
  for (std::size_t i = 1; i < runs.size(); ++i) {
    const RunFigures& r = runs[i];
    std::size_t b = 0;
    while (b < i && Predicted(runs[b]) != Predicted(r)) ++b;
    if (b == i) continue;
    const RunFigures& base = runs[b];
    if (!Comparable(r, base) || dominance.count({i, b}) || dominance.count({b, i})) continue;
    const Comparison c = CompareRuns(r, base);
    if (c.gains.empty() && c.losses.empty()) {
      out.push_back({Finding::Kind::kTradeoff,
                     r.name + " and " + base.name +
                         " perform the same within measurement tolerance on every measure."});
      continue;
    }
    std::string text =
        r.name + " " + JoinAnd(c.gains) + " than " + base.name + " for " + JoinAnd(c.losses) + ".";
    text += " Worth it where " + JoinAnd(c.gain_cares) +
            (c.gain_cares.size() == 1 ? " matters" : " matter") + " more than " +
            JoinAnd(c.loss_cares) + ".";
    out.push_back({Finding::Kind::kTradeoff, text});
  }

  // What needs attention. Batteries first, in one sentence when several runs let them run flat.
  std::vector<std::pair<std::string, std::string>> flat;  // run name, "12 times (...)"
  for (const RunFigures& r : runs) {
    if (!r.battery_empty_events || *r.battery_empty_events <= 0) continue;
    const double n = *r.battery_empty_events;
    std::string text = FormatCount(static_cast<std::uint64_t>(n)) + (n == 1 ? " time" : " times");
    if (r.device_days) {
      text += " (" + FormatFixed(n / *r.device_days * 1000.0, 1) + " per 1,000 device-days)";
    }
    flat.emplace_back(r.name, text);
  }
  if (flat.size() == 1) {
    out.push_back({Finding::Kind::kAttention,
                   flat[0].first + " let batteries run flat " + flat[0].second + "."});
  } else if (!flat.empty()) {
    std::vector<std::string> items;
    for (const auto& [name, text] : flat) items.push_back(name + " " + text);
    out.push_back(
        {Finding::Kind::kAttention,
         "Batteries ran flat under " +
             std::string(flat.size() == runs.size() ? "every policy" : "several policies") + ": " +
             JoinAnd(items) + "."});
  }
  for (const RunFigures& r : runs) {
    if (r.completed == 0) continue;
    const double completed = static_cast<double>(r.completed);
    const double failed = completed - static_cast<double>(r.succeeded);
    if (failed / completed >= 0.01) {
      out.push_back({Finding::Kind::kAttention,
                     r.name + " failed " + FormatShare(failed / completed) + " of requests (" +
                         FormatCount(r.completed - r.succeeded) + ")."});
    }
    if (static_cast<double>(r.deadline_missed) / completed >= 0.01) {
      out.push_back({Finding::Kind::kAttention,
                     r.name + " missed the deadline on " +
                         FormatShare(static_cast<double>(r.deadline_missed) / completed) +
                         " of requests (" + FormatCount(r.deadline_missed) + ")."});
    }
    if (static_cast<double>(r.fell_back) / completed >= 0.05 && !r.fallback_causes.empty()) {
      out.push_back(
          {Finding::Kind::kAttention,
           r.name + " fell back to another tier on " +
               FormatShare(static_cast<double>(r.fell_back) / completed) +
               " of requests, mostly after " + CauseWords(r.fallback_causes[0].first) + " (" +
               FormatShare(static_cast<double>(r.fallback_causes[0].second) / completed) + ")."});
    }
  }

  // About the inputs.
  std::set<std::string> worlds;
  for (const RunFigures& r : runs) {
    if (r.info.source == "sim") {
      worlds.insert(r.info.fleet_name + " seed " + std::to_string(r.info.seed) + ", " +
                    FormatFixed(r.info.hours, 1) + " h");
    }
  }
  const bool any_predicted = std::any_of(runs.begin(), runs.end(), Predicted);
  const bool any_measured =
      std::any_of(runs.begin(), runs.end(), [](const RunFigures& r) { return !Predicted(r); });
  if (any_predicted && any_measured) {
    out.push_back({Finding::Kind::kData,
                   "Replayed runs are predictions from the logged facts (the catalog predictor; "
                   "no failures beyond what the facts make unavailable, no queueing beyond the "
                   "logged cloud load); the others are measured or simulated. Findings compare "
                   "predictions only with predictions: production (predicted) is the baseline "
                   "for the replayed policies."});
  }
  if (worlds.size() > 1) {
    std::vector<std::string> list(worlds.begin(), worlds.end());
    out.push_back({Finding::Kind::kData,
                   "The simulation runs come from different worlds (" + JoinAnd(list) +
                       "): their differences mix the policy with the fleet, seed and duration."});
  }
  for (const RunFigures& r : runs) {
    if (r.requests == 0) {
      out.push_back({Finding::Kind::kData, r.name + " has no requests."});
      continue;
    }
    if (r.in_flight() > 0) {
      out.push_back({Finding::Kind::kData,
                     r.name + ": " + FormatCount(r.in_flight()) + " of " + FormatCount(r.requests) +
                         " requests have no outcome yet (in flight) and are left out of the "
                         "latency, cost, energy and quality figures."});
    }
  }
  std::vector<std::string> without_days;
  for (const RunFigures& r : runs) {
    if (r.requests > 0 && !r.device_days) {
      without_days.push_back(r.name +
                             (r.info.source == "router" ? " (a router decision log)" : ""));
    }
  }
  if (!without_days.empty()) {
    out.push_back({Finding::Kind::kData,
                   JoinAnd(without_days) + (without_days.size() == 1 ? " records" : " record") +
                       " no device-days: cost and energy per device-day, battery levels and "
                       "battery-empty events are not recorded."});
  }
  return out;
}

}  // namespace partita::reports
