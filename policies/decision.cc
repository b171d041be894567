#include "policies/decision.h"

#include <algorithm>

#include "policies/availability.h"
#include "policies/internal/evaluate.h"
#include "policies/policy.h"

namespace partita::policy {

namespace {

using internal::Action;
using internal::FieldValues;
using internal::Program;
using internal::RouteKind;
using internal::Span;

constexpr std::uint8_t TierBit(Tier t) {
  return static_cast<std::uint8_t>(1u << static_cast<unsigned>(t));
}

Availability Check(const Policy& policy, const Program& p, const DecisionInput& in, Tier tier,
                   ModelIndex m) {
  if (m >= p.model_count) return Availability::kProfileCannotRun;
  switch (tier) {
    case Tier::kDevice: {
      const ModelRuntime* rt = p.RuntimeOn(in.device.profile, m);
      if (rt == nullptr) return Availability::kProfileCannotRun;
      if (!in.device.models.Contains(m)) return Availability::kNotInstalled;
      if (in.device.free_mem_mb > 0 && !rt->resident && !in.device.models_warm.Contains(m) &&
          policy.catalog()->model(m).memory_mb > in.device.free_mem_mb) {
        return Availability::kNotEnoughMemory;
      }
      return Availability::kAvailable;
    }
    case Tier::kPhone: {
      if (in.network.type == NetworkType::kOffline) return Availability::kOffline;
      if (!in.peer.phone_available) return Availability::kNoPhone;
      if (in.peer.phone_profile >= p.device_count || !p.accepts_offload[in.peer.phone_profile]) {
        return Availability::kPhoneRefusesOffload;
      }
      if (p.RuntimeOn(in.peer.phone_profile, m) == nullptr) {
        return Availability::kProfileCannotRun;
      }
      if (!in.peer.phone_models.Contains(m)) return Availability::kNotInstalled;
      return Availability::kAvailable;
    }
    case Tier::kCloud: {
      if (in.network.type == NetworkType::kOffline) return Availability::kOffline;
      if (!in.fleet.cloud_healthy) return Availability::kCloudUnhealthy;
      if (p.cloud_runtimes[m] == nullptr) return Availability::kNotServedByCloud;
      return Availability::kAvailable;
    }
  }
  return Availability::kProfileCannotRun;
}

Prediction PredictAt(const Policy& policy, const Program& p, const DecisionInput& in, Route r) {
  if (r.model >= p.model_count) return {};
  const Catalog& c = *policy.catalog();
  ExecutionSite site;
  site.tier = r.tier;
  site.model = &c.model(r.model);
  if (in.device.profile < p.device_count) site.asker = &c.device(in.device.profile);
  switch (r.tier) {
    case Tier::kDevice:
      site.runtime = p.RuntimeOn(in.device.profile, r.model);
      site.executor = site.asker;
      site.executor_thermal = in.device.thermal;
      site.warm = in.device.models_warm.Contains(r.model);
      break;
    case Tier::kPhone:
      site.runtime = p.RuntimeOn(in.peer.phone_profile, r.model);
      if (in.peer.phone_profile < p.device_count) {
        site.executor = &c.device(in.peer.phone_profile);
      }
      site.executor_thermal = in.peer.phone_thermal;
      site.warm = in.peer.phone_models_warm.Contains(r.model);
      site.rtt_ms = in.peer.phone_rtt_ms;
      break;
    case Tier::kCloud:
      site.runtime = p.cloud_runtimes[r.model];
      site.rtt_ms = in.network.rtt_ms;
      site.cloud_load = in.fleet.cloud_load;
      site.cloud_queue_reference_ms = c.cloud().queue_reference_ms;
      break;
  }
  if (site.runtime == nullptr) return {};
  return Predict(site,
                 RequestShape{in.request.tokens_in, in.request.tokens_out, in.request.difficulty});
}

// Models a tier's executor has a runtime for (what route: best enumerates).
ModelSet RunnableOn(const Program& p, const DecisionInput& in, Tier tier) {
  switch (tier) {
    case Tier::kDevice:
      return in.device.profile < p.device_count ? p.device_runs[in.device.profile] : ModelSet{};
    case Tier::kPhone:
      return in.peer.phone_available && in.peer.phone_profile < p.device_count
                 ? p.device_runs[in.peer.phone_profile]
                 : ModelSet{};
    case Tier::kCloud: return p.cloud_runs;
  }
  return {};
}

class Decider {
 public:
  Decider(const Policy& policy, const DecisionInput& in, DecisionResult& out)
      : policy_(policy), p_(policy.program()), in_(in), out_(out) {}

  void Run() {
    out_.ok = false;
    out_.route = Route{};
    out_.fallback_count = 0;
    out_.candidate_count = 0;
    out_.rule_index = -1;
    out_.guards_applied = 0;
    out_.prediction = Prediction{};

    FieldValues values;
    values.Gather(in_);
    for (std::size_t g = 0; g < p_.guards.size(); ++g) {
      if (internal::Evaluate(p_, p_.guards[g].when, values)) {
        forbidden_ |= p_.guards[g].never;
        out_.guards_applied |= std::uint32_t{1} << g;
      }
    }
    const Action* action = &p_.defaults;
    for (std::size_t r = 0; r < p_.rules.size(); ++r) {
      if (internal::Evaluate(p_, p_.rules[r].when, values)) {
        action = &p_.rules[r].action;
        out_.rule_index = static_cast<std::int32_t>(r);
        break;
      }
    }
    out_.deadline_ms = action->deadline_ms;
    if (in_.request.latency_budget_ms > 0) {
      out_.deadline_ms = std::min(out_.deadline_ms, in_.request.latency_budget_ms);
    }
    if (internal::IsTier(action->route)) {
      Primary(internal::TierOf(action->route), *action);
    } else if (action->route == RouteKind::kBest) {
      Best(*action);
    }
    WalkFallback(action->fallback);
  }

 private:
  struct Choice {
    Route route;
    Availability availability = Availability::kAvailable;
  };

  // The model a tier runs: the first available of `models` (the rule's), else of
  // defaults.models for the tier, else the best-quality model available there. When none is
  // available, the first candidate with the reason it is not.
  Choice ChooseModel(Tier tier, Span models) const {
    if (models.count == 0) models = p_.default_models[static_cast<std::size_t>(tier)];
    Choice first;
    first.route.tier = tier;
    bool have_first = false;
    auto consider = [&](ModelIndex m) {
      const Availability a = Check(policy_, p_, in_, tier, m);
      if (!have_first || a == Availability::kAvailable) {
        first.route.model = m;
        first.availability = a;
        have_first = true;
      }
      return a == Availability::kAvailable;
    };
    if (models.count > 0) {
      for (std::uint32_t i = 0; i < models.count; ++i) {
        if (consider(p_.model_lists[models.begin + i])) return first;
      }
      return first;
    }
    const ModelSet runnable = RunnableOn(p_, in_, tier);
    for (ModelIndex m : p_.by_quality) {
      if (!runnable.empty() && !runnable.Contains(m)) continue;
      if (consider(m)) return first;
    }
    return first;
  }

  Exclusion Exclude(Route r, Availability a, const Prediction& pred, Span require) const {
    if (forbidden_ & TierBit(r.tier)) return Exclusion::kGuard;
    if (a != Availability::kAvailable) return Exclusion::kUnavailable;
    if (in_.request.max_cost_usd > 0 && pred.cost_usd > in_.request.max_cost_usd) {
      return Exclusion::kBudget;
    }
    if (r.tier == Tier::kCloud && pred.cost_usd > in_.fleet.budget_left_usd) {
      return Exclusion::kBudget;
    }
    for (std::uint32_t i = 0; i < require.count; ++i) {
      const internal::Requirement& req = p_.requirements[require.begin + i];
      if (!req.Holds(internal::MetricOf(pred, req.metric))) return Exclusion::kRequirement;
    }
    return Exclusion::kNone;
  }

  double Score(const Prediction& pred) const {
    const internal::Objective& o = p_.objective;
    return o.latency_ms * pred.latency_ms + o.cost_usd * pred.cost_usd +
           o.energy_j * pred.energy_j - o.quality * pred.quality;
  }

  int Find(Route r) const {
    for (int i = 0; i < out_.candidate_count; ++i) {
      if (out_.candidates[static_cast<std::size_t>(i)].route == r) return i;
    }
    return -1;
  }

  void Record(Route r, const Prediction& pred, Exclusion e, double score) {
    if (out_.candidate_count >= kMaxCandidates) return;
    Candidate& c = out_.candidates[out_.candidate_count++];
    c.route = r;
    c.prediction = pred;
    c.exclusion = e;
    c.score = score;
  }

  void Choose(Route r, const Prediction& pred) {
    out_.ok = true;
    out_.route = r;
    out_.prediction = pred;
  }

  void Primary(Tier tier, const Action& action) {
    const Choice choice = ChooseModel(tier, action.models);
    const Prediction pred = PredictAt(policy_, p_, in_, choice.route);
    const Exclusion e = Exclude(choice.route, choice.availability, pred, action.require);
    Record(choice.route, pred, e, Score(pred));
    if (e == Exclusion::kNone) Choose(choice.route, pred);
  }

  void Best(const Action& action) {
    bool found = false;
    Route best_route;
    Prediction best_pred;
    double best_score = 0;
    for (std::size_t t = 0; t < kTierCount; ++t) {
      const Tier tier = static_cast<Tier>(t);
      const ModelSet runnable = RunnableOn(p_, in_, tier);
      Span list = action.models.count > 0 ? action.models : p_.default_models[t];
      const std::uint32_t n =
          list.count > 0 ? list.count : static_cast<std::uint32_t>(p_.model_count);
      for (std::uint32_t i = 0; i < n; ++i) {
        const ModelIndex m =
            list.count > 0 ? p_.model_lists[list.begin + i] : static_cast<ModelIndex>(i);
        if (!runnable.Contains(m)) continue;
        const Route r{tier, m};
        if (Find(r) >= 0) continue;
        const Prediction pred = PredictAt(policy_, p_, in_, r);
        const Exclusion e = Exclude(r, Check(policy_, p_, in_, tier, m), pred, action.require);
        const double score = Score(pred);
        Record(r, pred, e, score);
        if (e == Exclusion::kNone && (!found || score < best_score)) {
          found = true;
          best_route = r;
          best_pred = pred;
          best_score = score;
        }
      }
    }
    if (!found) return;
    for (std::uint8_t i = 0; i < out_.candidate_count; ++i) {
      Candidate& c = out_.candidates[i];
      if (c.exclusion == Exclusion::kNone && !(c.route == best_route)) {
        c.exclusion = Exclusion::kNotBest;
      }
    }
    Choose(best_route, best_pred);
  }

  // Walks the fallback chain: before a route is chosen, the first allowed entry becomes the
  // route; after, allowed entries (not the route's tier, not repeated) become the fallback.
  void WalkFallback(Span fallback) {
    std::uint8_t seen = 0;
    for (std::uint32_t i = 0; i < fallback.count; ++i) {
      const Tier tier = p_.tier_lists[fallback.begin + i];
      if ((seen & TierBit(tier)) || (out_.ok && tier == out_.route.tier)) continue;
      seen |= TierBit(tier);
      const Choice choice = ChooseModel(tier, Span{});
      const Prediction pred = PredictAt(policy_, p_, in_, choice.route);
      const Exclusion e = Exclude(choice.route, choice.availability, pred, Span{});
      const int existing = Find(choice.route);
      if (existing < 0) {
        Record(choice.route, pred, e, Score(pred));
      } else if (e == Exclusion::kNone && !out_.ok) {
        out_.candidates[static_cast<std::size_t>(existing)].exclusion = Exclusion::kNone;
      }
      if (e != Exclusion::kNone) continue;
      if (!out_.ok) {
        Choose(choice.route, pred);
      } else if (out_.fallback_count < kMaxFallback) {
        out_.fallback[out_.fallback_count++] = choice.route;
      }
    }
  }

  const Policy& policy_;
  const Program& p_;
  const DecisionInput& in_;
  DecisionResult& out_;
  std::uint8_t forbidden_ = 0;
};

}  // namespace

void Decide(const Policy& policy, const DecisionInput& input, DecisionResult& out) {
  Decider(policy, input, out).Run();
}

Availability CheckAvailability(const Policy& policy, const DecisionInput& input, Route route) {
  return Check(policy, policy.program(), input, route.tier, route.model);
}

Prediction PredictRoute(const Policy& policy, const DecisionInput& input, Route route) {
  return PredictAt(policy, policy.program(), input, route);
}

std::string_view Describe(Availability a) {
  switch (a) {
    case Availability::kAvailable: return "available";
    case Availability::kOffline: return "the network is offline";
    case Availability::kCloudUnhealthy: return "the cloud is unhealthy (fleet.cloud_healthy)";
    case Availability::kNotServedByCloud: return "the cloud does not serve this model";
    case Availability::kNoPhone: return "no phone is available (peer.phone_available)";
    case Availability::kPhoneRefusesOffload: return "the phone's profile does not accept offloads";
    case Availability::kProfileCannotRun: return "the device class has no runtime for this model";
    case Availability::kNotInstalled: return "the model is not installed there";
    case Availability::kNotEnoughMemory: return "not enough free memory to load the model";
  }
  return "unavailable";
}

std::string_view Name(Exclusion e) {
  switch (e) {
    case Exclusion::kNone: return "";
    case Exclusion::kGuard: return "guard";
    case Exclusion::kUnavailable: return "unavailable";
    case Exclusion::kRequirement: return "requirement";
    case Exclusion::kBudget: return "budget";
    case Exclusion::kNotBest: return "not best";
  }
  return "";
}

std::string FallbackTierList(const DecisionResult& result) {
  std::string list;
  for (std::size_t i = 0; i < result.fallback_count; ++i) {
    if (!list.empty()) list += ',';
    list += Name(result.fallback[i].tier);
  }
  return list;
}

}  // namespace partita::policy
