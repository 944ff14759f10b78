#pragma once
// The configuration files of stabilityai/stable-diffusion-2-1-base, built in: benchmarks and planning run the
// full-size architecture with random weights when no model folder is at hand.
#include <string>

#include "engine/io/json_file.h"

namespace ezivk::models {

// component: "unet", "vae", "text_encoder" or "scheduler". Error for anything else.
io::JsonFile sd21_base_config(const std::string& component);

}  // namespace ezivk::models
