#include "engine/sched/scheduler_config.h"

#include <algorithm>
#include <cmath>
#include <set>
#include <utility>
#include <vector>

#include "engine/util/error.h"

namespace ezivk::sched {
namespace {

struct KindName {
  SchedulerKind kind;
  const char* name;
  const char* class_name;
};

constexpr KindName kKinds[] = {
    {SchedulerKind::DDIM, "ddim", "DDIMScheduler"},
    {SchedulerKind::DDPM, "ddpm", "DDPMScheduler"},
    {SchedulerKind::PNDM, "pndm", "PNDMScheduler"},
    {SchedulerKind::Euler, "euler", "EulerDiscreteScheduler"},
    {SchedulerKind::EulerAncestral, "euler-a", "EulerAncestralDiscreteScheduler"},
    {SchedulerKind::DPMSolverPP2M, "dpmpp2m", "DPMSolverMultistepScheduler"},
    {SchedulerKind::DDIMInverse, "ddim-inverse", "DDIMInverseScheduler"},
    {SchedulerKind::DPMSolverPP2MInverse, "dpmpp2m-inverse", "DPMSolverMultistepInverseScheduler"},
};

// Keys whose only implemented value is diffusers' default: any other value is recorded as unsupported and
// rejected by the schedulers that read it. Several accept diffusers' own aliases (deis -> dpmsolver++,
// logrho/bh1/bh2 -> midpoint), which diffusers rewrites silently.
struct FeatureKey {
  const char* key;
  std::vector<nlohmann::json> accepted;  // null is always accepted
};

const std::vector<FeatureKey>& feature_keys() {
  static const std::vector<FeatureKey> keys = {
      {"trained_betas", {}},
      {"thresholding", {false}},
      {"rescale_betas_zero_snr", {false}},
      {"use_exponential_sigmas", {false}},
      {"use_beta_sigmas", {false}},
      {"use_lu_lambdas", {false}},
      {"use_flow_sigmas", {false}},
      {"use_dynamic_shifting", {false}},
      {"timestep_type", {"discrete"}},
      {"interpolation_type", {"linear"}},
      {"algorithm_type", {"dpmsolver++", "deis"}},
      {"solver_type", {"midpoint", "logrho", "bh1", "bh2"}},
      {"sigma_min", {}},
      {"sigma_max", {}},
      {"lambda_min_clipped", {}},
  };
  return keys;
}

// Keys that change nothing while the features above are off.
const std::set<std::string>& inert_keys() {
  static const std::set<std::string> keys = {"dynamic_thresholding_ratio", "sample_max_value", "flow_shift",
                                             "time_shift_type", "predict_epsilon"};
  return keys;
}

const std::set<std::string>& handled_keys() {
  static const std::set<std::string> keys = {
      "num_train_timesteps", "beta_start",       "beta_end",          "beta_schedule",     "prediction_type",
      "steps_offset",        "timestep_spacing", "clip_sample",       "set_alpha_to_one",  "skip_prk_steps",
      "clip_sample_range",   "variance_type",    "use_karras_sigmas", "final_sigmas_type", "eta",
      "solver_order",        "lower_order_final", "euler_at_final"};
  return keys;
}

std::string json_text(const nlohmann::json& v) { return v.dump(); }

class Reader {
 public:
  Reader(const std::string& source, const std::string& key, const nlohmann::json& v)
      : source_(source), key_(key), v_(v) {}

  [[noreturn]] void wrong_type(const char* expected) const {
    fail(source_ + ": '" + key_ + "' must be " + expected + ", got " + json_text(v_));
  }
  [[noreturn]] void bad_value(const std::string& expected) const {
    fail(source_ + ": '" + key_ + "' = " + json_text(v_) + " is not supported (expected " + expected + ")");
  }
  bool boolean() const {
    if (!v_.is_boolean()) wrong_type("true or false");
    return v_.get<bool>();
  }
  double number() const {
    if (!v_.is_number()) wrong_type("a number");
    return v_.get<double>();
  }
  int integer(int lo, int hi) const {
    if (!v_.is_number_integer()) wrong_type("an integer");
    const auto x = v_.get<int64_t>();
    if (x < lo || x > hi) bad_value("an integer in [" + std::to_string(lo) + ", " + std::to_string(hi) + "]");
    return static_cast<int>(x);
  }
  std::string string() const {
    if (!v_.is_string()) wrong_type("a string");
    return v_.get<std::string>();
  }
  // Index of the value among `names`; Error listing them otherwise.
  size_t choice(std::initializer_list<const char*> names) const {
    const std::string s = string();
    size_t i = 0;
    std::string list;
    for (const char* n : names) {
      if (s == n) return i;
      list += (i ? ", " : "one of: ") + std::string(n);
      ++i;
    }
    bad_value(list);
  }

 private:
  const std::string& source_;
  const std::string& key_;
  const nlohmann::json& v_;
};

}  // namespace

SchedulerKind parse_scheduler_kind(const std::string& name) {
  std::string list;
  for (const auto& k : kKinds) {
    if (name == k.name) return k.kind;
    list += (list.empty() ? "" : ", ") + std::string(k.name);
  }
  fail("unknown scheduler '" + name + "' (expected one of: " + list + ")");
}

const char* scheduler_kind_name(SchedulerKind kind) {
  for (const auto& k : kKinds)
    if (k.kind == kind) return k.name;
  return "?";
}

std::optional<SchedulerKind> scheduler_kind_from_class_name(const std::string& class_name) {
  for (const auto& k : kKinds)
    if (class_name == k.class_name) return k.kind;
  return std::nullopt;
}

const char* timestep_spacing_name(TimestepSpacing s) {
  switch (s) {
    case TimestepSpacing::Leading: return "leading";
    case TimestepSpacing::Linspace: return "linspace";
    case TimestepSpacing::Trailing: return "trailing";
  }
  return "?";
}

const char* prediction_type_name(PredictionType p) {
  switch (p) {
    case PredictionType::Epsilon: return "epsilon";
    case PredictionType::VPrediction: return "v_prediction";
    case PredictionType::Sample: return "sample";
  }
  return "?";
}

TimestepSpacing default_timestep_spacing(SchedulerKind kind) {
  switch (kind) {
    case SchedulerKind::DDPM:
    case SchedulerKind::DDIM:
    case SchedulerKind::PNDM:
    case SchedulerKind::DDIMInverse: return TimestepSpacing::Leading;
    case SchedulerKind::Euler:
    case SchedulerKind::EulerAncestral:
    case SchedulerKind::DPMSolverPP2M:
    case SchedulerKind::DPMSolverPP2MInverse: return TimestepSpacing::Linspace;
  }
  return TimestepSpacing::Leading;
}

SchedulerConfig SchedulerConfig::from_json(const nlohmann::json& j, const std::string& file_for_errors) {
  SchedulerConfig c;
  c.source = file_for_errors;
  c.update(j, file_for_errors, false);
  return c;
}

void SchedulerConfig::update(const nlohmann::json& j, const std::string& src, bool strict) {
  if (!j.is_object()) fail(src + ": a scheduler config must be a JSON object, got " + json_text(j));
  for (const auto& [key, v] : j.items()) {
    if (key == "_class_name") {
      if (!v.is_null()) class_name = Reader(src, key, v).string();
      continue;
    }
    if (!key.empty() && key[0] == '_') continue;  // _diffusers_version and other metadata

    const std::string& name = key;  // a structured binding cannot be captured by clang 14 (the fuzz build)
    const auto feature = std::find_if(feature_keys().begin(), feature_keys().end(),
                                      [&](const FeatureKey& f) { return name == f.key; });
    if (feature != feature_keys().end()) {
      const bool ok = v.is_null() || std::find(feature->accepted.begin(), feature->accepted.end(), v) !=
                                         feature->accepted.end();
      if (ok)
        unsupported.erase(key);
      else
        unsupported[key] = Unsupported{json_text(v), src};
      continue;
    }
    if (inert_keys().count(key)) continue;
    if (!handled_keys().count(key)) {
      if (strict) fail(src + ": unknown scheduler setting '" + key + "'");
      continue;
    }
    if (v.is_null()) continue;  // null means "the class default", as for trained_betas in every SD folder

    const Reader r(src, key, v);
    origin[key] = src;
    if (key == "num_train_timesteps") {
      num_train_timesteps = r.integer(2, 100000);
    } else if (key == "beta_start" || key == "beta_end") {
      const double x = r.number();
      if (!(x >= 0.0 && x < 1.0)) r.bad_value("a number in [0, 1)");
      (key == "beta_start" ? beta_start : beta_end) = x;
    } else if (key == "beta_schedule") {
      beta_schedule = static_cast<BetaSchedule>(r.choice({"linear", "scaled_linear", "squaredcos_cap_v2"}));
    } else if (key == "prediction_type") {
      prediction_type = static_cast<PredictionType>(r.choice({"epsilon", "v_prediction", "sample"}));
    } else if (key == "steps_offset") {
      steps_offset = r.integer(0, 100000);
    } else if (key == "timestep_spacing") {
      timestep_spacing = static_cast<TimestepSpacing>(r.choice({"leading", "linspace", "trailing"}));
    } else if (key == "clip_sample") {
      clip_sample = r.boolean();
    } else if (key == "set_alpha_to_one") {
      set_alpha_to_one = r.boolean();
    } else if (key == "skip_prk_steps") {
      skip_prk_steps = r.boolean();
    } else if (key == "clip_sample_range") {
      clip_sample_range = r.number();
      if (!(clip_sample_range > 0.0) || !std::isfinite(clip_sample_range)) r.bad_value("a positive number");
    } else if (key == "variance_type") {
      r.choice({"fixed_small", "fixed_small_log", "fixed_large", "fixed_large_log", "learned", "learned_range"});
      variance_type = r.string();
    } else if (key == "use_karras_sigmas") {
      use_karras_sigmas = r.boolean();
    } else if (key == "final_sigmas_type") {
      final_sigma_zero = r.choice({"zero", "sigma_min"}) == 0;
    } else if (key == "eta") {
      eta = r.number();
      if (!(eta >= 0.0) || !std::isfinite(eta)) r.bad_value("a number >= 0");
    } else if (key == "solver_order") {
      solver_order = r.integer(1, 3);
      // Third order is a valid diffusers setting this engine does not implement.
      if (solver_order == 3)
        unsupported[key] = Unsupported{json_text(v), src};
      else
        unsupported.erase(key);
    } else if (key == "lower_order_final") {
      lower_order_final = r.boolean();
    } else if (key == "euler_at_final") {
      euler_at_final = r.boolean();
    }
  }
}

void SchedulerConfig::set_override(const std::string& assignment) {
  const auto eq = assignment.find('=');
  if (eq == std::string::npos || eq == 0)
    fail("scheduler override '" + assignment + "' must look like key=value");
  const std::string key = assignment.substr(0, eq);
  const std::string text = assignment.substr(eq + 1);
  nlohmann::json v = nlohmann::json::parse(text, nullptr, false);
  if (v.is_discarded() || v.is_object() || v.is_array()) v = text;
  nlohmann::json j = nlohmann::json::object();
  j[key] = v;
  update(j, "command line", true);
}

TimestepSpacing SchedulerConfig::spacing_for(SchedulerKind kind) const {
  return timestep_spacing.value_or(default_timestep_spacing(kind));
}

bool SchedulerConfig::clip_sample_for(SchedulerKind kind) const {
  const bool class_default =
      kind == SchedulerKind::DDPM || kind == SchedulerKind::DDIM || kind == SchedulerKind::DDIMInverse;
  return clip_sample.value_or(class_default);
}

bool SchedulerConfig::set_alpha_to_one_for(SchedulerKind kind) const {
  return set_alpha_to_one.value_or(kind == SchedulerKind::DDIM || kind == SchedulerKind::DDIMInverse);
}

void SchedulerConfig::reject_unsupported(SchedulerKind kind, std::initializer_list<const char*> keys) const {
  for (const char* key : keys) {
    const auto it = unsupported.find(key);
    if (it == unsupported.end()) continue;
    fail(it->second.source + ": '" + key + "' = " + it->second.value + " is not supported by the " +
         scheduler_kind_name(kind) + " scheduler of this engine");
  }
}

void SchedulerConfig::fail_setting(SchedulerKind kind, const std::string& key, const std::string& value,
                                   const std::string& why) const {
  const auto it = origin.find(key);
  const std::string where = it == origin.end() ? source + " (key absent, class default)" : it->second;
  fail(where + ": '" + key + "' = " + value + " is not supported by the " + scheduler_kind_name(kind) +
       " scheduler (" + why + ")");
}

}  // namespace ezivk::sched
