#include "reports/charts.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <functional>
#include <optional>

#include "reports/format.h"

namespace partita::reports {

namespace {

// Okabe-Ito-like, dark enough for lines and text on white.
constexpr std::array<std::string_view, 8> kPolicyColours = {
    "#1f6fb5", "#d97706", "#138a63", "#c03f8c", "#6a4fb0", "#b5432a", "#3a9bd9", "#7d7d1a"};
// device, phone, cloud, unanswered
constexpr std::array<std::string_view, kOutcomeSlots> kTierColours = {"#2a9d8f", "#e9b44c",
                                                                      "#5b7db8", "#c8553d"};
constexpr std::array<std::string_view, kOutcomeSlots> kSlotNames = {"device", "phone", "cloud",
                                                                    "unanswered"};

std::string Num(double v) {
  if (!std::isfinite(v)) v = 0;
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f", v);
  std::string s = buf;
  if (s.size() > 2 && s.compare(s.size() - 2, 2, ".0") == 0) s.resize(s.size() - 2);
  if (s == "-0") s = "0";
  return s;
}

// Rough width of a label in user units at the chart font size (12px system-ui).
double TextWidth(std::string_view text, double px = 12) {
  double w = 0;
  for (unsigned char c : text) {
    if ((c & 0xC0) == 0x80) continue;
    w += (c >= 'A' && c <= 'Z') ? 0.68 : (c == ' ' || c == '.' || c == ',') ? 0.3 : 0.56;
  }
  return w * px;
}

class Svg {
 public:
  Svg(std::string_view name, double width, double height, std::string_view label)
      : width_(width), height_(height) {
    out_ = "<svg class=\"chart\" data-chart=\"" + Escape(name) + "\" viewBox=\"0 0 " + Num(width) +
           " " + Num(height) + "\" role=\"img\" aria-label=\"" + Escape(label) +
           "\" xmlns=\"http://www.w3.org/2000/svg\">";
  }
  double width() const { return width_; }
  double height() const { return height_; }

  void Line(double x1, double y1, double x2, double y2, std::string_view cls) {
    out_ += "<line class=\"" + std::string(cls) + "\" x1=\"" + Num(x1) + "\" y1=\"" + Num(y1) +
            "\" x2=\"" + Num(x2) + "\" y2=\"" + Num(y2) + "\"/>";
  }
  void Rect(double x, double y, double w, double h, std::string_view fill,
            std::string_view title = {}, std::string_view cls = {}) {
    out_ += "<rect x=\"" + Num(x) + "\" y=\"" + Num(y) + "\" width=\"" + Num(w) + "\" height=\"" +
            Num(h) + "\" fill=\"" + std::string(fill) + "\"";
    if (!cls.empty()) out_ += " class=\"" + std::string(cls) + "\"";
    if (title.empty()) {
      out_ += "/>";
    } else {
      out_ += "><title>" + Escape(title) + "</title></rect>";
    }
  }
  void Circle(double cx, double cy, double r, std::string_view colour, bool hollow,
              std::string_view title) {
    out_ += "<circle cx=\"" + Num(cx) + "\" cy=\"" + Num(cy) + "\" r=\"" + Num(r) + "\" fill=\"" +
            std::string(hollow ? "#fff" : colour) + "\" stroke=\"" + std::string(colour) +
            "\" stroke-width=\"2.2\"><title>" + Escape(title) + "</title></circle>";
  }
  void Path(std::string_view d, std::string_view attrs, std::string_view title = {}) {
    out_ += "<path d=\"" + std::string(d) + "\" " + std::string(attrs);
    if (title.empty()) {
      out_ += "/>";
    } else {
      out_ += "><title>" + Escape(title) + "</title></path>";
    }
  }
  void Text(double x, double y, std::string_view text, std::string_view anchor = "start",
            std::string_view cls = {}, std::string_view extra = {}) {
    out_ += "<text x=\"" + Num(x) + "\" y=\"" + Num(y) + "\"";
    if (anchor != "start") out_ += " text-anchor=\"" + std::string(anchor) + "\"";
    if (!cls.empty()) out_ += " class=\"" + std::string(cls) + "\"";
    if (!extra.empty()) out_ += " " + std::string(extra);
    out_ += ">" + Escape(text) + "</text>";
  }
  std::string Finish() { return out_ + "</svg>"; }

 private:
  double width_, height_;
  std::string out_;
};

struct Box {
  double left, top, right, bottom;
  double width() const { return right - left; }
  double height() const { return bottom - top; }
};

struct LinearScale {
  double d0, d1, r0, r1;
  double operator()(double v) const {
    if (d1 == d0) return (r0 + r1) / 2;
    return r0 + (v - d0) / (d1 - d0) * (r1 - r0);
  }
};

struct LogScale {
  double d0, d1, r0, r1;
  double operator()(double v) const {
    v = std::clamp(v, d0, d1);
    return r0 + (std::log10(v) - std::log10(d0)) / (std::log10(d1) - std::log10(d0)) * (r1 - r0);
  }
};

// Ticks at 1, 2 or 5 times a power of ten covering [lo, hi]; widens lo and hi to ticks.
std::vector<double> NiceTicks(double& lo, double& hi, int target) {
  if (!(hi > lo)) {
    const double pad = lo == 0 ? 1 : std::fabs(lo) * 0.1;
    lo -= pad;
    hi += pad;
  }
  const double raw = (hi - lo) / target;
  const double mag = std::pow(10, std::floor(std::log10(raw)));
  const double norm = raw / mag;
  const double step = (norm < 1.5 ? 1 : norm < 3 ? 2 : norm < 7 ? 5 : 10) * mag;
  lo = std::floor(lo / step + 1e-9) * step;
  hi = std::ceil(hi / step - 1e-9) * step;
  std::vector<double> ticks;
  for (double v = lo; v <= hi + step / 2; v += step)
    ticks.push_back(std::fabs(v) < step / 1e6 ? 0 : v);
  return ticks;
}

// Log ticks at 1-2-5 x 10^k; lo and hi widen to the nearest such values.
std::vector<double> LogTicks(double& lo, double& hi) {
  lo = std::max(lo, 0.01);
  hi = std::max(hi, lo * 1.5);
  std::vector<double> candidates;
  for (int k = static_cast<int>(std::floor(std::log10(lo))) - 1;
       k <= static_cast<int>(std::ceil(std::log10(hi))) + 1; ++k) {
    for (double m : {1.0, 2.0, 5.0}) candidates.push_back(m * std::pow(10.0, k));
  }
  double new_lo = candidates.front(), new_hi = candidates.back();
  for (double c : candidates) {
    if (c <= lo * (1 + 1e-9)) new_lo = c;
  }
  for (auto it = candidates.rbegin(); it != candidates.rend(); ++it) {
    if (*it >= hi * (1 - 1e-9)) new_hi = *it;
  }
  lo = new_lo;
  hi = new_hi;
  const bool decades_only = std::log10(hi / lo) > 4;
  std::vector<double> ticks;
  for (double c : candidates) {
    if (c < lo * (1 - 1e-9) || c > hi * (1 + 1e-9)) continue;
    const double mantissa = c / std::pow(10.0, std::floor(std::log10(c) + 1e-9));
    if (decades_only && std::fabs(mantissa - 1) > 1e-6) continue;
    ticks.push_back(c);
  }
  return ticks;
}

std::string MsTick(double ms) {
  if (ms >= 1000)
    return FormatFixed(ms / 1000, ms >= 10000 || std::fmod(ms, 1000) == 0 ? 0 : 1) + " s";
  if (ms >= 1) return FormatFixed(ms, 0) + " ms";
  return FormatFixed(ms, 2) + " ms";
}

// Decimals that tell ticks `step` apart (step 0.5 -> 1, 0.0005 -> 4, 200 -> 0).
int StepDecimals(double step) {
  if (step <= 0) return 0;
  return std::clamp(static_cast<int>(std::ceil(-std::log10(step) - 1e-9)), 0, 8);
}

// Labels for a linear axis of milliseconds: seconds when the axis reaches a second.
std::vector<std::string> MsLabels(const std::vector<double>& ticks) {
  std::vector<std::string> out;
  const double step = ticks.size() > 1 ? ticks[1] - ticks[0] : 1;
  const bool seconds = !ticks.empty() && ticks.back() >= 1000;
  for (double t : ticks) {
    out.push_back(seconds ? FormatFixed(t / 1000, StepDecimals(step / 1000)) + " s"
                          : FormatFixed(t, StepDecimals(step)) + " ms");
  }
  return out;
}

std::vector<std::string> UsdLabels(const std::vector<double>& ticks) {
  std::vector<std::string> out;
  const double step = ticks.size() > 1 ? ticks[1] - ticks[0] : 1;
  const int decimals = std::max(2, StepDecimals(step));
  for (double t : ticks) out.push_back("$" + FormatFixed(t, decimals));
  return out;
}

std::vector<std::string> FixedLabels(const std::vector<double>& ticks) {
  std::vector<std::string> out;
  const double step = ticks.size() > 1 ? ticks[1] - ticks[0] : 1;
  for (double t : ticks) out.push_back(FormatFixed(t, StepDecimals(step)));
  return out;
}

std::string PctTick(double fraction) { return FormatFixed(fraction * 100, 0) + "%"; }

void YAxisTitle(Svg& svg, const Box& plot, std::string_view title) {
  const double x = 14, y = (plot.top + plot.bottom) / 2;
  svg.Text(x, y, title, "middle", "axis-title",
           "transform=\"rotate(-90 " + Num(x) + " " + Num(y) + ")\"");
}

void XAxisTitle(Svg& svg, const Box& plot, std::string_view title) {
  svg.Text((plot.left + plot.right) / 2, svg.height() - 8, title, "middle", "axis-title");
}

// Horizontal grid lines and labels for a linear y axis.
void YGrid(Svg& svg, const Box& plot, const LinearScale& y, const std::vector<double>& ticks,
           const std::function<std::string(double)>& label) {
  for (double t : ticks) {
    const double py = y(t);
    svg.Line(plot.left, py, plot.right, py, "grid");
    svg.Text(plot.left - 6, py + 4, label(t), "end", "tick");
  }
}

void YGridLabels(Svg& svg, const Box& plot, const LinearScale& y, const std::vector<double>& ticks,
                 const std::vector<std::string>& labels) {
  for (std::size_t i = 0; i < ticks.size(); ++i) {
    const double py = y(ticks[i]);
    svg.Line(plot.left, py, plot.right, py, "grid");
    svg.Text(plot.left - 6, py + 4, labels[i], "end", "tick");
  }
}

void Frame(Svg& svg, const Box& plot) {
  svg.Line(plot.left, plot.bottom, plot.right, plot.bottom, "axis");
  svg.Line(plot.left, plot.top, plot.left, plot.bottom, "axis");
}

struct ScatterPoint {
  double x = 0, y = 0;
  std::string label;
  std::string_view colour;
  bool hollow = false;
  std::string tip;
};

struct ScatterSpec {
  std::string name, aria, x_title, y_title;
  std::function<std::vector<std::string>(const std::vector<double>&)> x_labels, y_labels;
  bool frontier = false;  // draw the Pareto staircase through the filled points
  bool y_higher_is_better = false;
};

double OverlapArea(const Box& a, const Box& b) {
  const double w = std::min(a.right, b.right) - std::max(a.left, b.left);
  const double h = std::min(a.bottom, b.bottom) - std::max(a.top, b.top);
  return w > 0 && h > 0 ? w * h : 0;
}

std::pair<double, double> PaddedRange(const std::vector<double>& values, bool from_zero_ok) {
  double lo = *std::min_element(values.begin(), values.end());
  double hi = *std::max_element(values.begin(), values.end());
  double pad = (hi - lo) * 0.15;
  if (pad == 0) pad = std::max(std::fabs(hi) * 0.1, 1e-3);
  lo -= pad;
  hi += pad;
  if (from_zero_ok && (lo < 0 || lo < 0.3 * hi)) lo = 0;
  return {lo, hi};
}

std::string ScatterChart(const ScatterSpec& spec, const std::vector<ScatterPoint>& points) {
  Svg svg(spec.name, 520, 380, spec.aria);
  const Box plot{80, 18, 488, 322};
  std::vector<double> xs, ys;
  for (const ScatterPoint& p : points) {
    xs.push_back(p.x);
    ys.push_back(p.y);
  }
  auto [x0, x1] = PaddedRange(xs, true);
  auto [y0, y1] = PaddedRange(ys, !spec.y_higher_is_better);
  if (spec.y_higher_is_better) y1 = std::min(y1, 1.0);
  const std::vector<double> xticks = NiceTicks(x0, x1, 5);
  const std::vector<double> yticks = NiceTicks(y0, y1, 5);
  const LinearScale x{x0, x1, plot.left, plot.right};
  const LinearScale y{y0, y1, plot.bottom, plot.top};
  YGridLabels(svg, plot, y, yticks, spec.y_labels(yticks));
  const std::vector<std::string> xlabels = spec.x_labels(xticks);
  for (std::size_t i = 0; i < xticks.size(); ++i) {
    svg.Line(x(xticks[i]), plot.top, x(xticks[i]), plot.bottom, "grid");
    svg.Text(x(xticks[i]), plot.bottom + 18, xlabels[i], "middle", "tick");
  }

  std::vector<Box> frontier_boxes;
  if (spec.frontier) {
    std::vector<const ScatterPoint*> front;
    for (const ScatterPoint& p : points) {
      if (!p.hollow) front.push_back(&p);
    }
    std::sort(front.begin(), front.end(),
              [](const ScatterPoint* a, const ScatterPoint* b) { return a->x < b->x; });
    if (!front.empty()) {
      std::string line = "M" + Num(x(front[0]->x)) + " " + Num(plot.top);
      for (std::size_t i = 0; i < front.size(); ++i) {
        if (i > 0) line += " L" + Num(x(front[i]->x)) + " " + Num(y(front[i - 1]->y));
        line += " L" + Num(x(front[i]->x)) + " " + Num(y(front[i]->y));
      }
      line += " L" + Num(plot.right) + " " + Num(y(front.back()->y));
      svg.Path(line + " L" + Num(plot.right) + " " + Num(plot.top) + " Z", "class=\"dominated\"",
               "Dominated: slower and dearer than a frontier policy");
      svg.Path(line, "class=\"frontier\"", "Pareto frontier");
      // Labels keep off the frontier's lines.
      for (std::size_t i = 0; i < front.size(); ++i) {
        const double fx = x(front[i]->x), fy = y(front[i]->y);
        const double top = i == 0 ? plot.top : y(front[i - 1]->y);
        frontier_boxes.push_back({fx - 2, std::min(top, fy), fx + 2, std::max(top, fy)});
        const double right = i + 1 < front.size() ? x(front[i + 1]->x) : plot.right;
        frontier_boxes.push_back({fx, fy - 2, right, fy + 2});
      }
    }
  }
  Frame(svg, plot);

  std::vector<Box> taken = frontier_boxes;
  for (const ScatterPoint& p : points) {
    taken.push_back({x(p.x) - 9, y(p.y) - 9, x(p.x) + 9, y(p.y) + 9});
  }
  for (const ScatterPoint& p : points) svg.Circle(x(p.x), y(p.y), 7, p.colour, p.hollow, p.tip);
  for (const ScatterPoint& p : points) {
    const double px = x(p.x), py = y(p.y);
    const double w = TextWidth(p.label, 12.5) + 2;
    struct Candidate {
      double tx, ty;
      std::string_view anchor;
      Box box;
    };
    const std::vector<Candidate> candidates = {
        {px + 12, py + 4, "start", {px + 12, py - 9, px + 12 + w, py + 6}},
        {px - 12, py + 4, "end", {px - 12 - w, py - 9, px - 12, py + 6}},
        {px, py - 14, "middle", {px - w / 2, py - 27, px + w / 2, py - 12}},
        {px, py + 24, "middle", {px - w / 2, py + 11, px + w / 2, py + 26}},
        {px + 10, py - 12, "start", {px + 10, py - 25, px + 10 + w, py - 10}},
        {px + 10, py + 22, "start", {px + 10, py + 9, px + 10 + w, py + 24}},
        {px - 10, py - 12, "end", {px - 10 - w, py - 25, px - 10, py - 10}},
        {px - 10, py + 22, "end", {px - 10 - w, py + 9, px - 10, py + 24}},
    };
    const Candidate* chosen = nullptr;
    double least = 1e18;
    for (const Candidate& c : candidates) {
      double cost = 0;
      const bool inside = c.box.left >= plot.left + 2 && c.box.right <= plot.right - 2 &&
                          c.box.top >= plot.top && c.box.bottom <= plot.bottom - 2;
      if (!inside) cost += 1e6;
      for (const Box& b : taken) cost += OverlapArea(c.box, b);
      if (cost < least) {
        least = cost;
        chosen = &c;
      }
      if (cost == 0) break;
    }
    taken.push_back(chosen->box);
    svg.Text(chosen->tx, chosen->ty, p.label, chosen->anchor, "point-label",
             "fill=\"" + std::string(p.colour) + "\"");
  }
  XAxisTitle(svg, plot, spec.x_title);
  YAxisTitle(svg, plot, spec.y_title);
  return svg.Finish();
}

}  // namespace

std::string_view PolicyColour(std::size_t run_index) {
  return kPolicyColours[run_index % kPolicyColours.size()];
}

std::string_view TierColour(std::size_t slot) {
  return kTierColours[std::min(slot, kTierColours.size() - 1)];
}

std::string Escape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default: out += c;
    }
  }
  return out;
}

std::string LatencyCdfChart(const Report& report, bool tail) {
  const double from = tail ? 0.9 : 0.0;
  Svg svg(tail ? "latency-tail" : "latency-cdf", 520, 380,
          tail ? "The slowest 10% of successful answers per policy"
               : "Latency distribution of successful answers per policy");
  const Box plot{64, 16, 504, 322};
  double lo = 1e18, hi = 0;
  for (const RunFigures& r : report.runs) {
    for (const CdfPoint& p : r.latency_cdf) {
      if (p.fraction >= from) {
        lo = std::min(lo, p.ms);
        break;
      }
    }
    if (!r.latency_cdf.empty()) hi = std::max(hi, r.latency_cdf.back().ms);
  }
  if (hi <= 0) {
    lo = 10;
    hi = 1000;
  }
  lo = std::max(lo, 0.1);
  const std::vector<double> xticks = LogTicks(lo, hi);
  const LogScale x{lo, hi, plot.left, plot.right};
  const LinearScale y{from, 1, plot.bottom, plot.top};
  YGrid(svg, plot, y,
        tail ? std::vector<double>{0.9, 0.92, 0.94, 0.96, 0.98, 1.0}
             : std::vector<double>{0, 0.2, 0.4, 0.6, 0.8, 1.0},
        PctTick);
  double last_right = -1e9;  // right end of the last label drawn
  for (double t : xticks) {
    svg.Line(x(t), plot.top, x(t), plot.bottom, "grid");
    const std::string label = MsTick(t);
    const double half = TextWidth(label) / 2;
    if (x(t) - half < last_right + 10) continue;
    last_right = x(t) + half;
    svg.Text(x(t), plot.bottom + 18, label, "middle", "tick");
  }
  for (double q : {0.95, 0.99}) {
    svg.Line(plot.left, y(q), plot.right, y(q), "reference");
    // On the full chart the two lines are only 4% apart: p99 above its line, p95 below.
    const bool below = !tail && q == 0.95;
    svg.Text(plot.left + 6, below ? y(q) + 12 : y(q) - 3, q == 0.95 ? "p95" : "p99", "start",
             "reference-label");
  }
  Frame(svg, plot);
  for (std::size_t i = 0; i < report.runs.size(); ++i) {
    const RunFigures& r = report.runs[i];
    if (r.latency_cdf.empty()) continue;
    std::string d;
    for (std::size_t k = 0; k < r.latency_cdf.size(); ++k) {
      const CdfPoint& p = r.latency_cdf[k];
      const bool next_in = k + 1 < r.latency_cdf.size() && r.latency_cdf[k + 1].fraction >= from;
      if (p.fraction < from && !next_in) continue;
      if (d.empty()) {
        d = "M" + Num(x(p.ms)) + " " + Num(y(from));
        if (p.fraction < from) continue;
      }
      d += " L" + Num(x(p.ms)) + " " + Num(y(std::max(p.fraction, from)));
    }
    svg.Path(d,
             "fill=\"none\" stroke=\"" + std::string(PolicyColour(i)) +
                 "\" stroke-width=\"2.4\" stroke-linejoin=\"round\"",
             r.name + ": p50 " + FormatMs(r.latency_ms.p50) + ", p95 " +
                 FormatMs(r.latency_ms.p95) + ", p99 " + FormatMs(r.latency_ms.p99));
  }
  XAxisTitle(svg, plot, "Total latency of successful answers (log scale)");
  YAxisTitle(svg, plot, "Share of answers at or below");
  return svg.Finish();
}

// One point per run that `point_of_run` places (in the run's policy colour), or "no answers".
std::string RunsScatterChart(
    const ScatterSpec& spec, const Report& report,
    const std::function<std::optional<ScatterPoint>(const RunFigures&, std::string_view colour)>&
        point_of_run) {
  std::vector<ScatterPoint> points;
  for (std::size_t i = 0; i < report.runs.size(); ++i) {
    if (auto p = point_of_run(report.runs[i], PolicyColour(i))) points.push_back(std::move(*p));
  }
  if (points.empty()) points.push_back({0, 0, "no answers", "#888", true, "no answers"});
  return ScatterChart(spec, points);
}

std::string CostLatencyChart(const Report& report) {
  const ScatterSpec spec{"cost-latency",
                         "Cost per 1,000 requests against p95 latency, with the Pareto frontier",
                         "p95 latency of successful answers",
                         "Cost per 1,000 requests",
                         MsLabels,
                         UsdLabels,
                         true,
                         false};
  return RunsScatterChart(
      spec, report,
      [](const RunFigures& r, std::string_view colour) -> std::optional<ScatterPoint> {
        if (r.latency_ms.count == 0 || !r.cost_per_1k_usd) return std::nullopt;
        return ScatterPoint{r.latency_ms.p95,
                            *r.cost_per_1k_usd,
                            r.name,
                            colour,
                            !r.on_frontier,
                            r.name + ": p95 " + FormatMs(r.latency_ms.p95) + ", " +
                                FormatUsd(*r.cost_per_1k_usd) + " per 1,000 requests" +
                                (r.on_frontier ? " (on the frontier)" : " (dominated)")};
      });
}

std::string QualityCostChart(const Report& report) {
  const ScatterSpec spec{"quality-cost",
                         "Mean answer quality against cost per 1,000 requests",
                         "Cost per 1,000 requests",
                         "Mean quality of answers (0..1)",
                         UsdLabels,
                         FixedLabels,
                         false,
                         true};
  return RunsScatterChart(
      spec, report,
      [](const RunFigures& r, std::string_view colour) -> std::optional<ScatterPoint> {
        if (!r.mean_quality || !r.cost_per_1k_usd) return std::nullopt;
        return ScatterPoint{*r.cost_per_1k_usd,
                            *r.mean_quality,
                            r.name,
                            colour,
                            false,
                            r.name + ": quality " + FormatQuality(*r.mean_quality) + ", " +
                                FormatUsd(*r.cost_per_1k_usd) + " per 1,000 requests"};
      });
}

std::string TierMixByHourChart(const Report& report, std::size_t run_index) {
  const RunFigures& r = report.runs[run_index];
  Svg svg("tier-mix-by-hour-" + std::to_string(run_index + 1), 340, 206,
          "Share of requests answered by each tier, by hour of day, for " + r.name);
  const Box plot{40, 8, 334, 168};
  const LinearScale y{0, 1, plot.bottom, plot.top};
  YGrid(svg, plot, y, {0, 0.5, 1.0}, PctTick);
  const double band = plot.width() / 24;
  const double bar = band * 0.8;
  for (std::size_t h = 0; h < 24; ++h) {
    const auto& counts = r.by_hour[h];
    std::uint64_t total = 0;
    for (std::uint64_t c : counts) total += c;
    const double bx = plot.left + band * static_cast<double>(h) + (band - bar) / 2;
    if (h % 3 == 0) {
      char label[8];
      std::snprintf(label, sizeof label, "%02zu", h);
      svg.Text(bx + bar / 2, plot.bottom + 16, label, "middle", "tick");
    }
    if (total == 0) {
      svg.Rect(bx, plot.top, bar, plot.height(), "#f3f4f6", "no requests at this hour");
      continue;
    }
    double base = 0;
    for (std::size_t s = 0; s < kOutcomeSlots; ++s) {
      if (counts[s] == 0) continue;
      const double share = static_cast<double>(counts[s]) / static_cast<double>(total);
      char hour[8];
      std::snprintf(hour, sizeof hour, "%02zu:00", h);
      svg.Rect(bx, y(base + share), bar, y(base) - y(base + share), TierColour(s),
               std::string(hour) + " " + std::string(kSlotNames[s]) + ": " + FormatShare(share) +
                   " (" + FormatCount(counts[s]) + " of " + FormatCount(total) + ")");
      base += share;
    }
  }
  Frame(svg, plot);
  svg.Text((plot.left + plot.right) / 2, svg.height() - 4, "Hour of day (local)", "middle",
           "axis-title");
  return svg.Finish();
}

std::string TierMixChart(const Report& report) {
  double label_w = 60;
  for (const RunFigures& r : report.runs) label_w = std::max(label_w, TextWidth(r.name, 12.5));
  label_w = std::min(label_w, 220.0);
  const double row = 40;
  const double height = 16 + row * static_cast<double>(report.runs.size()) + 48;
  Svg svg("tier-mix", 1000, height, "Share of requests answered by each tier, per policy");
  const Box plot{label_w + 18, 12, 980, height - 48};
  const LinearScale x{0, 1, plot.left, plot.right};
  for (double t : {0.0, 0.25, 0.5, 0.75, 1.0}) {
    svg.Line(x(t), plot.top, x(t), plot.bottom, "grid");
    svg.Text(x(t), plot.bottom + 18, PctTick(t), "middle", "tick");
  }
  for (std::size_t i = 0; i < report.runs.size(); ++i) {
    const RunFigures& r = report.runs[i];
    const double top = plot.top + row * static_cast<double>(i) + 6;
    const double h = row - 14;
    std::string name = r.name;
    while (TextWidth(name, 12.5) > label_w && name.size() > 4) {
      name.resize(name.size() - 4);
      name += "...";
    }
    svg.Text(plot.left - 8, top + h / 2 + 4, name, "end", "row-label",
             "fill=\"" + std::string(PolicyColour(i)) + "\"");
    if (r.completed == 0) {
      svg.Rect(plot.left, top, plot.width(), h, "#f3f4f6", "no completed requests");
      continue;
    }
    double base = 0;
    for (std::size_t s = 0; s < kOutcomeSlots; ++s) {
      if (r.answered[s] == 0) continue;
      const double share = static_cast<double>(r.answered[s]) / static_cast<double>(r.completed);
      svg.Rect(x(base), top, x(base + share) - x(base), h, TierColour(s),
               r.name + " " + std::string(kSlotNames[s]) + ": " + FormatShare(share) + " (" +
                   FormatCount(r.answered[s]) + ")");
      const std::string text = FormatShareFixed(share);
      if (x(base + share) - x(base) > TextWidth(text, 11.5) + 8) {
        svg.Text((x(base) + x(base + share)) / 2, top + h / 2 + 4, text, "middle",
                 s == 1 ? "bar-label dark" : "bar-label");
      }
      base += share;
    }
  }
  svg.Line(plot.left, plot.bottom, plot.right, plot.bottom, "axis");
  XAxisTitle(svg, plot, "Share of completed requests, by the tier that answered");
  return svg.Finish();
}

std::string BatteryChart(const Report& report) {
  double max_share = 0;
  bool any = false;
  for (const RunFigures& r : report.runs) {
    if (r.battery.samples == 0) continue;
    any = true;
    for (std::uint64_t b : r.battery.buckets) {
      max_share =
          std::max(max_share, static_cast<double>(b) / static_cast<double>(r.battery.samples));
    }
  }
  if (!any) return "";
  Svg svg("battery", 520, 380, "Distribution of battery levels per policy");
  const Box plot{64, 18, 500, 322};
  const LinearScale x{0, 100, plot.left, plot.right};
  double y0 = 0, y1 = max_share * 1.1;
  const std::vector<double> yticks = NiceTicks(y0, y1, 5);
  const LinearScale y{y0, y1, plot.bottom, plot.top};
  svg.Rect(x(0), plot.top, x(20) - x(0), plot.height(), "#fdecea", "Below 20%: low battery");
  svg.Text(x(10), plot.top + 14, "low", "middle", "reference-label");
  YGrid(svg, plot, y, yticks, [](double v) {
    return FormatFixed(v * 100, v * 100 < 10 && std::fmod(v * 100, 1) != 0 ? 1 : 0) + "%";
  });
  for (int t = 0; t <= 100; t += 20) {
    svg.Line(x(t), plot.top, x(t), plot.bottom, "grid");
    svg.Text(x(t), plot.bottom + 18, std::to_string(t) + "%", "middle", "tick");
  }
  Frame(svg, plot);
  for (std::size_t i = 0; i < report.runs.size(); ++i) {
    const RunFigures& r = report.runs[i];
    if (r.battery.samples == 0) continue;
    std::string d;
    for (std::size_t b = 0; b < kBatteryBuckets; ++b) {
      const double share =
          static_cast<double>(r.battery.buckets[b]) / static_cast<double>(r.battery.samples);
      d += (b == 0 ? "M" : " L") + Num(x(2.5 + 5.0 * static_cast<double>(b))) + " " + Num(y(share));
    }
    svg.Path(d,
             "fill=\"none\" stroke=\"" + std::string(PolicyColour(i)) +
                 "\" stroke-width=\"2.4\" stroke-linejoin=\"round\"",
             r.name + ": mean battery " + FormatShare(r.battery.mean_pct / 100) + ", " +
                 FormatShare(static_cast<double>(r.battery.below_20) /
                             static_cast<double>(r.battery.samples)) +
                 " of samples under 20%");
  }
  XAxisTitle(svg, plot, "Battery level of battery-powered devices (5% bins)");
  YAxisTitle(svg, plot, "Share of samples");
  return svg.Finish();
}

}  // namespace partita::reports
