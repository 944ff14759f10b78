#include "engine/pipeline/clip_image_embedder.h"

#include <cmath>

#include "engine/io/json_file.h"
#include "engine/io/resize.h"
#include "engine/util/error.h"

namespace ezivk::pipeline {

namespace fs = std::filesystem;

ClipImageEmbedder::ClipImageEmbedder(gpu::Context& ctx, const fs::path& folder, ops::DType dtype)
    : ctx_(ctx), dtype_(dtype == ops::DType::F16 && !ctx.fp16() ? ops::DType::F32 : dtype), runner_(ctx, "clip image") {
  if (!fs::is_directory(folder)) fail(folder.string() + ": not a folder (expected a CLIPVisionModelWithProjection folder)");
  config_ = models::ClipVisionConfig::from_file(folder / "config.json");
  resize_to_ = crop_ = config_.image_size;
  if (fs::exists(folder / "preprocessor_config.json")) {
    const io::JsonFile pre(folder / "preprocessor_config.json");
    const auto& j = pre.json();
    auto int_or_key = [&](const char* key, const char* sub, int64_t def) {
      if (!j.contains(key) || j[key].is_null()) return def;
      if (j[key].is_number_integer()) return j[key].get<int64_t>();
      if (j[key].is_object() && j[key].contains(sub) && j[key][sub].is_number_integer()) return j[key][sub].get<int64_t>();
      pre.bad_value(key, std::string("an integer or {\"") + sub + "\": integer}");
    };
    resize_to_ = int_or_key("size", "shortest_edge", resize_to_);
    crop_ = int_or_key("crop_size", "height", crop_);
    if (pre.has("image_mean")) {
      const auto m = j["image_mean"].get<std::vector<double>>();
      if (m.size() != 3) pre.bad_value("image_mean", "three numbers");
      for (int c = 0; c < 3; ++c) mean_[c] = float(m[size_t(c)]);
    }
    if (pre.has("image_std")) {
      const auto s = j["image_std"].get<std::vector<double>>();
      if (s.size() != 3 || !(s[0] > 0 && s[1] > 0 && s[2] > 0)) pre.bad_value("image_std", "three positive numbers");
      for (int c = 0; c < 3; ++c) std_[c] = float(s[size_t(c)]);
    }
    if (pre.has("resample") && pre.integer("resample") != 3) pre.bad_value("resample", "3 (bicubic)");
  }
  if (crop_ != config_.image_size || resize_to_ < crop_)
    fail((folder / "preprocessor_config.json").string() + ": crop_size " + std::to_string(crop_) +
         " must equal the model's image_size " + std::to_string(config_.image_size) + " and size must not be smaller");
  const fs::path weights = folder / "model.safetensors";
  if (!fs::exists(weights)) fail(folder.string() + ": no model.safetensors");
  source_ = std::make_unique<models::SafetensorsSource>(std::vector<fs::path>{weights});
  store_ = std::make_unique<models::WeightStore>(&ctx, *source_, dtype_, "clip vision");
  model_ = std::make_unique<models::ClipVisionModel>(config_, *store_);
}

std::vector<float> ClipImageEmbedder::preprocess(const io::Image8& img) const {
  if (img.channels != 3 || img.width < 1 || img.height < 1) fail("CLIP preprocessing: expected an RGB image");
  const bool wide = img.width >= img.height;
  const int64_t shorter = wide ? img.height : img.width, longer = wide ? img.width : img.height;
  const int64_t long_out = std::max<int64_t>(int64_t(double(resize_to_) * double(longer) / double(shorter)), resize_to_);
  const int rw = int(wide ? long_out : resize_to_), rh = int(wide ? resize_to_ : long_out);
  const io::Image8 r = io::resize_pil(img, rw, rh, io::PilFilter::Bicubic);
  const int64_t top = (rh - crop_) / 2, left = (rw - crop_) / 2, S = crop_;
  std::vector<float> out(size_t(3 * S * S));
  for (int64_t y = 0; y < S; ++y)
    for (int64_t x = 0; x < S; ++x)
      for (int c = 0; c < 3; ++c) {
        const float v = float(r.pixels[(size_t(y + top) * size_t(rw) + size_t(x + left)) * 3 + size_t(c)]) * (1.0f / 255.0f);
        out[size_t((c * S + y) * S + x)] = (v - mean_[c]) / std_[c];
      }
  return out;
}

std::vector<float> ClipImageEmbedder::embed(const io::Image8& rgb) {
  const int64_t P = config_.patch_size, N = config_.grid() * config_.grid();
  const auto patches = models::ClipVisionModel::patchify(preprocess(rgb), config_.image_size, P);
  const ops::Tensor shape{{}, dtype_, {1, N, P * P * 3}};
  gpu::Arena arena(ctx_, "clip image input", shape.bytes() + 256, gpu::MemoryUse::Device);
  const ops::Tensor x{arena.alloc(shape.bytes(), 256), dtype_, shape.shape};
  models::upload_floats(ctx_, x, patches);
  const ops::Tensor e = runner_.run(dtype_, [&](models::Graph& g) { return model_->forward(g, x); });
  auto v = models::download_floats(ctx_, e);
  double n = 0;
  for (float f : v) n += double(f) * f;
  n = std::sqrt(n);
  if (!(n > 0)) fail("CLIP image embedding is zero or not finite");
  for (auto& f : v) f = float(f / n);
  return v;
}

double ClipImageEmbedder::cosine(const std::vector<float>& a, const std::vector<float>& b) {
  if (a.size() != b.size() || a.empty()) fail("CLIP similarity: embeddings differ in size");
  double ab = 0, aa = 0, bb = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    ab += double(a[i]) * b[i];
    aa += double(a[i]) * a[i];
    bb += double(b[i]) * b[i];
  }
  return ab / std::sqrt(aa * bb);
}

}  // namespace ezivk::pipeline
