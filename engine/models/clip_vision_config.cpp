#include "engine/models/clip_vision_config.h"

#include <string>

#include "engine/models/config_limits.h"

namespace ezivk::models {

ClipVisionConfig ClipVisionConfig::from_json(const io::JsonFile& f) {
  ClipVisionConfig c;
  if (f.has("vision_config"))
    f.bad_value("vision_config", "absent: give a CLIPVisionModelWithProjection folder, not a whole CLIPModel");
  c.hidden_size = f.integer_in("hidden_size", 768, 1, limits::kChannels);
  c.intermediate_size = f.integer_in("intermediate_size", 3072, 1, limits::kFeedForward);
  c.num_hidden_layers = f.integer_in("num_hidden_layers", 12, 1, limits::kLayers);
  c.num_attention_heads = f.integer_in("num_attention_heads", 12, 1, limits::kChannels);
  c.image_size = f.integer_in("image_size", 224, 1, limits::kImageSide);
  c.patch_size = f.integer_in("patch_size", 32, 1, limits::kImageSide);
  c.num_channels = f.integer("num_channels", 3);
  c.projection_dim = f.integer_in("projection_dim", 512, 1, limits::kChannels);
  c.layer_norm_eps = f.number_in("layer_norm_eps", 1e-5, 1e-12, 0.1);
  if (c.hidden_size % c.num_attention_heads) f.bad_value("num_attention_heads", "a divisor of hidden_size");
  // Patches are the vision tower's tokens: bounded like the text encoder's positions.
  if ((c.image_size / c.patch_size) * (c.image_size / c.patch_size) > limits::kPositions)
    f.bad_value("patch_size", "at most 4096 patches per image");
  if (c.patch_size < 1 || c.image_size < c.patch_size || c.image_size % c.patch_size)
    f.bad_value("patch_size", "a divisor of image_size");
  if (c.num_channels != 3) f.bad_value("num_channels", "3");
  const std::string act = f.string("hidden_act", "quick_gelu");
  if (act == "quick_gelu") c.hidden_act = ops::Activation::QuickGELU;
  else if (act == "gelu") c.hidden_act = ops::Activation::GELU;
  else f.bad_value("hidden_act", "gelu or quick_gelu");
  if (f.has("architectures"))
    for (auto& a : f.string_list("architectures"))
      if (a != "CLIPVisionModelWithProjection") f.bad_value("architectures", "CLIPVisionModelWithProjection");
  return c;
}

}  // namespace ezivk::models
