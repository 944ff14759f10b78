#include "engine/models/clip_vision_config.h"

#include <string>

namespace ezivk::models {

ClipVisionConfig ClipVisionConfig::from_json(const io::JsonFile& f) {
  ClipVisionConfig c;
  if (f.has("vision_config"))
    f.bad_value("vision_config", "absent: give a CLIPVisionModelWithProjection folder, not a whole CLIPModel");
  c.hidden_size = f.integer("hidden_size", 768);
  c.intermediate_size = f.integer("intermediate_size", 3072);
  c.num_hidden_layers = f.integer("num_hidden_layers", 12);
  c.num_attention_heads = f.integer("num_attention_heads", 12);
  c.image_size = f.integer("image_size", 224);
  c.patch_size = f.integer("patch_size", 32);
  c.num_channels = f.integer("num_channels", 3);
  c.projection_dim = f.integer("projection_dim", 512);
  c.layer_norm_eps = f.number("layer_norm_eps", 1e-5);
  if (c.hidden_size < 1) f.bad_value("hidden_size", "positive");
  if (c.intermediate_size < 1) f.bad_value("intermediate_size", "positive");
  if (c.num_hidden_layers < 1) f.bad_value("num_hidden_layers", "at least 1");
  if (c.num_attention_heads < 1 || c.hidden_size % c.num_attention_heads)
    f.bad_value("num_attention_heads", "a divisor of hidden_size");
  if (c.patch_size < 1 || c.image_size < c.patch_size || c.image_size % c.patch_size)
    f.bad_value("patch_size", "a divisor of image_size");
  if (c.num_channels != 3) f.bad_value("num_channels", "3");
  if (c.projection_dim < 1) f.bad_value("projection_dim", "positive");
  if (!(c.layer_norm_eps > 0)) f.bad_value("layer_norm_eps", "a positive number");
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
