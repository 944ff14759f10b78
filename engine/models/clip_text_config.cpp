#include "engine/models/clip_text_config.h"

#include <string>

namespace ezivk::models {

ClipTextConfig ClipTextConfig::from_json(const io::JsonFile& f) {
  ClipTextConfig c;
  c.vocab_size = f.integer("vocab_size", 49408);
  c.hidden_size = f.integer("hidden_size", 512);
  c.intermediate_size = f.integer("intermediate_size", 2048);
  c.num_hidden_layers = f.integer("num_hidden_layers", 12);
  c.num_attention_heads = f.integer("num_attention_heads", 8);
  c.max_position_embeddings = f.integer("max_position_embeddings", 77);
  c.layer_norm_eps = f.number("layer_norm_eps", 1e-5);
  if (c.vocab_size < 3) f.bad_value("vocab_size", "at least 3");
  if (c.hidden_size < 1) f.bad_value("hidden_size", "positive");
  if (c.intermediate_size < 1) f.bad_value("intermediate_size", "positive");
  if (c.num_hidden_layers < 1) f.bad_value("num_hidden_layers", "at least 1");
  if (c.num_attention_heads < 1 || c.hidden_size % c.num_attention_heads)
    f.bad_value("num_attention_heads", "a divisor of hidden_size");
  if (c.max_position_embeddings < 2) f.bad_value("max_position_embeddings", "at least 2");
  if (!(c.layer_norm_eps > 0)) f.bad_value("layer_norm_eps", "a positive number");
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
