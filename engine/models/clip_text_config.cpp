#include "engine/models/clip_text_config.h"

#include <string>

#include "engine/models/config_limits.h"

namespace ezivk::models {

ClipTextConfig ClipTextConfig::from_json(const io::JsonFile& f) {
  ClipTextConfig c;
  c.vocab_size = f.integer_in("vocab_size", 49408, 3, limits::kVocabulary);
  c.hidden_size = f.integer_in("hidden_size", 512, 1, limits::kChannels);
  c.intermediate_size = f.integer_in("intermediate_size", 2048, 1, limits::kFeedForward);
  c.num_hidden_layers = f.integer_in("num_hidden_layers", 12, 1, limits::kLayers);
  c.num_attention_heads = f.integer_in("num_attention_heads", 8, 1, limits::kChannels);
  c.max_position_embeddings = f.integer_in("max_position_embeddings", 77, 2, limits::kPositions);
  c.layer_norm_eps = f.number_in("layer_norm_eps", 1e-5, 1e-12, 0.1);
  if (c.hidden_size % c.num_attention_heads) f.bad_value("num_attention_heads", "a divisor of hidden_size");
  const std::string act = f.string("hidden_act", "quick_gelu");
  if (act == "quick_gelu") c.hidden_act = ops::Activation::QuickGELU;
  else if (act == "gelu") c.hidden_act = ops::Activation::GELU;
  else f.bad_value("hidden_act", "gelu or quick_gelu");
  if (f.has("architectures")) {
    for (auto& a : f.string_list("architectures"))
      if (a != "CLIPTextModel" && a != "CLIPTextModelWithProjection")
        f.bad_value("architectures", "CLIPTextModel");
  }
  return c;
}

}  // namespace ezivk::models
