#pragma once
// `ezivk generate` with a subject: EZIGen (engine/pipeline/ezigen.h) from the command line. generate.cpp parses
// the shared options and hands the EZIGen ones here.
#include <optional>
#include <string>
#include <vector>

#include "engine/ops/tensor.h"
#include "engine/pipeline/ezigen.h"
#include "engine/pipeline/text_to_image.h"

namespace ezivk::cli {

extern const char* kEzigenUsage;

struct EzigenOptions {
  std::string adapter;
  std::vector<std::string> subjects, subject_prompts, subject_masks;
  std::string subject_alpha = "white";
  bool reference_attention = false;
  double strength = 1.0;
  double split = 0.4;
  std::optional<int> rounds, min_rounds, max_rounds;
  std::optional<double> threshold;
  std::string similarity = "latent", clip_model;
  int t_subject = 1;
  std::optional<double> round_guidance;
  std::string round_negative;
  bool save_rounds = false, baseline = false;
  std::string start_image;
  bool any_given = false;  // an EZIGen-only option was given (an error without --subject)

  // Consumes args[i] (and its value) when it is an EZIGen option.
  bool parse(const std::vector<std::string>& args, size_t& i);
  // UsageError for combinations that cannot work, before anything is loaded.
  void check(int batch) const;
};

// What generate parsed: the model, the shared generation parameters and which of them the user gave (EZIGen has
// other defaults: DDPM, 50 steps, its own negative prompt).
struct GenerateCommon {
  std::string model, variant, out, json;
  pipeline::TextToImageParams p;
  ops::DType dtype = ops::DType::F16;
  bool negative_given = false, scheduler_given = false;
};

// The pipeline's parameters from the parsed options (subjects, start image and callbacks are the caller's).
pipeline::EzigenParams ezigen_params(const GenerateCommon& common, const EzigenOptions& ez);

int generate_ezigen(const GenerateCommon& common, const EzigenOptions& ez);

}  // namespace ezivk::cli
