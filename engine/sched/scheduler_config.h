#pragma once
// What a scheduler_config.json says, plus the command-line overrides. Keys mean what they mean in diffusers;
// a key a diffusers class would ignore is ignored, a key whose value this engine does not implement is kept
// aside and rejected (with the file and key named) by the schedulers whose diffusers class reads it.
#include <map>
#include <optional>
#include <string>
#include <nlohmann/json.hpp>

namespace ezivk::sched {

enum class SchedulerKind { DDPM, DDIM, PNDM, Euler, EulerAncestral, DPMSolverPP2M, DDIMInverse, DPMSolverPP2MInverse };

// "ddim|ddpm|pndm|euler|euler-a|dpmpp2m|ddim-inverse|dpmpp2m-inverse"; Error listing these otherwise.
SchedulerKind parse_scheduler_kind(const std::string& name);
const char* scheduler_kind_name(SchedulerKind kind);
// The kind a folder's "_class_name" names (DDIMScheduler, EulerDiscreteScheduler, ...), if this engine has it.
std::optional<SchedulerKind> scheduler_kind_from_class_name(const std::string& class_name);

enum class BetaSchedule { Linear, ScaledLinear, SquaredCosCapV2 };
enum class TimestepSpacing { Leading, Linspace, Trailing };
enum class PredictionType { Epsilon, VPrediction, Sample };

const char* timestep_spacing_name(TimestepSpacing s);
const char* prediction_type_name(PredictionType p);

// diffusers' class defaults when the file is silent: "leading" for DDPM, DDIM, PNDM and DDIM inverse;
// "linspace" for Euler, Euler ancestral, DPM-Solver++ and its inverse.
TimestepSpacing default_timestep_spacing(SchedulerKind kind);

struct SchedulerConfig {
  std::string source = "scheduler config";  // the file (or "command line") that errors name
  std::string class_name;                   // "_class_name", empty when absent

  int num_train_timesteps = 1000;
  double beta_start = 0.0001;
  double beta_end = 0.02;
  BetaSchedule beta_schedule = BetaSchedule::Linear;
  PredictionType prediction_type = PredictionType::Epsilon;
  int steps_offset = 0;

  // Absent keys whose default differs between diffusers classes; see the *_for(kind) accessors.
  std::optional<TimestepSpacing> timestep_spacing;
  std::optional<bool> clip_sample;       // DDPM, DDIM, DDIM inverse default true
  std::optional<bool> set_alpha_to_one;  // DDIM, DDIM inverse default true; PNDM false
  std::optional<bool> skip_prk_steps;    // PNDM default false, which this engine rejects

  double clip_sample_range = 1.0;
  std::string variance_type;  // DDPM: fixed_small (default), fixed_small_log, fixed_large
  bool use_karras_sigmas = false;
  bool final_sigma_zero = true;  // final_sigmas_type "zero" (true) or "sigma_min"
  double eta = 0.0;              // DDIM's η (a step argument in diffusers, a setting here)
  int solver_order = 2;          // DPM-Solver++: 1 or 2
  bool lower_order_final = true;
  bool euler_at_final = false;

  // Keys present with a value this engine does not implement (thresholding=true, algorithm_type=sde-...):
  // key -> {JSON text of the value, where it came from}. Checked by the schedulers whose diffusers class reads
  // the key, so a DPM-Solver setting in the file does not stop a DDIM run, as in diffusers.
  struct Unsupported {
    std::string value;
    std::string source;
  };
  std::map<std::string, Unsupported> unsupported;

  // Error "<file>: '<key>' ..." for a wrong type or a value outside diffusers' vocabulary. Unknown keys are
  // ignored, as diffusers does (files from newer versions carry keys older classes do not know).
  static SchedulerConfig from_json(const nlohmann::json& j, const std::string& file_for_errors);

  // Applies the keys of `j` on top of this configuration; `source` is named in errors. With strict, an unknown
  // key is an Error too (for overrides typed by a person).
  void update(const nlohmann::json& j, const std::string& source, bool strict);

  // "key=value" from the command line; the value is read as JSON when it parses (numbers, true, false) and as
  // a string otherwise. Error naming the key when it is unknown or the value does not fit.
  void set_override(const std::string& assignment);

  TimestepSpacing spacing_for(SchedulerKind kind) const;
  bool clip_sample_for(SchedulerKind kind) const;
  bool set_alpha_to_one_for(SchedulerKind kind) const;

  // Error naming the source and the first key of `keys` that holds an unsupported value for `kind`.
  void reject_unsupported(SchedulerKind kind, std::initializer_list<const char*> keys) const;
  // Error "<where key was set>: '<key>' = <value> is not supported by the <kind> scheduler (<why>)".
  [[noreturn]] void fail_setting(SchedulerKind kind, const std::string& key, const std::string& value,
                                 const std::string& why) const;

  // Where each handled key was last set (the file or "command line"); absent keys hold class defaults.
  std::map<std::string, std::string> origin;
};

}  // namespace ezivk::sched
