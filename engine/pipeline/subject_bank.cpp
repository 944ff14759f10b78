#include "engine/pipeline/subject_bank.h"

#include "engine/io/resize.h"
#include "engine/pipeline/activation_plan.h"
#include "engine/pipeline/prompt_context.h"
#include "engine/pipeline/vae_codec.h"
#include "engine/sched/scheduler.h"
#include "engine/util/error.h"

namespace ezivk::pipeline {

using models::Graph;
using ops::Tensor;

io::Image8 prepare_subject_image(const io::Image8& image, int size, SubjectAlpha alpha, const io::Image8* mask) {
  if (image.width < 1 || image.height < 1 || (image.channels != 3 && image.channels != 4))
    fail("subject image: expected RGB or RGBA, got " + std::to_string(image.channels) + " channels");
  if (mask && (mask->width < 1 || mask->height < 1))
    fail("subject mask: the mask is empty (" + std::to_string(mask->width) + "x" + std::to_string(mask->height) + ")");
  io::Image8 rgb{image.width, image.height, 3, {}};
  rgb.pixels.resize(size_t(image.width) * size_t(image.height) * 3);
  // The mask (its first channel, > 127 = subject) is resized to the image's size first.
  io::Image8 m;
  if (mask) m = io::resize_bilinear(*mask, image.width, image.height);
  for (size_t i = 0; i < size_t(image.width) * size_t(image.height); ++i) {
    const uint8_t* p = &image.pixels[i * size_t(image.channels)];
    int a = image.channels == 4 && alpha == SubjectAlpha::White ? p[3] : 255;
    if (mask && m.pixels[i * size_t(m.channels)] <= 127) a = 0;
    for (int c = 0; c < 3; ++c) {
      // Over white, rounded as PIL's alpha_composite rounds: (v·a + 255·(255 − a)) / 255.
      const int v = (p[c] * a + 255 * (255 - a) + 127) / 255;
      rgb.pixels[i * 3 + size_t(c)] = uint8_t(v);
    }
  }
  return io::resize_bilinear(rgb, size, size);
}

int subject_size(const StableDiffusion& sd) {
  return int(sd.unet.config.sample_size * sd.vae.config.downsampling());
}

uint64_t subject_pass_plan(StableDiffusion& sd, int S) {
  const int64_t f = sd.vae.config.downsampling(), hw = subject_size(sd) / f;
  PlanShape s;
  s.batch = S;
  s.unet_batch = S;
  s.prompts = 1;
  s.seq = prompt_sequence_length(sd);
  s.h = s.w = hw;
  s.encode_batch = S;
  return plan_activations(*sd.ctx, sd.dtype, *sd.text.model, *sd.unet.model, *sd.vae.model, s).peak();
}

SubjectBank encode_subjects(StableDiffusion& sd, models::GraphRunner& runner, const std::vector<SubjectImage>& subjects,
                            int t_subject, TorchGenerator& gen_b) {
  gpu::Context& ctx = *sd.ctx;
  const int S = int(subjects.size());
  if (S < 1) fail("subject encoding: no subjects");
  const int size = subject_size(sd);
  std::vector<io::Image8> images;
  for (const auto& s : subjects) {
    if (s.image.width != size || s.image.height != size || s.image.channels != 3)
      fail("subject encoding: subject images must be RGB " + std::to_string(size) + "x" + std::to_string(size));
    images.push_back(s.image);
  }
  const auto& sc = sd.scheduler_config;
  if (t_subject < 0 || t_subject >= sc.num_train_timesteps)
    fail("--t-subject must be from 0 to " + std::to_string(sc.num_train_timesteps - 1) + ", got " +
         std::to_string(t_subject));

  // Latents: posterior samples, then one noise for all subjects, noised as DDPM's add_noise does.
  const auto enc = encode_images(sd, runner, images, gen_b);
  const int64_t per = enc.shape[1] * enc.shape[2] * enc.shape[3];
  const auto noise = gen_b.randn(per);
  auto ddpm = sched::make_scheduler(sched::SchedulerKind::DDPM, sc);
  const auto nc = ddpm->add_noise_coefficients(float(t_subject));
  std::vector<float> noisy(enc.latent.size());
  for (size_t i = 0; i < noisy.size(); ++i)
    noisy[i] = float(nc.x0 * enc.latent[i] + nc.noise * noise[i % size_t(per)]);

  // Contexts: each subject's prompt, unguided.
  const int64_t seq = prompt_sequence_length(sd), hidden = sd.text.config.hidden_size;
  std::vector<PromptContext> contexts;
  for (const auto& s : subjects) contexts.push_back(encode_prompts(sd, runner, {s.prompt, "", s.prompt_ids, {}}, 1, false));

  // The bank: one arena for every block's [S, N, C] (= [1, S·N, C]).
  SubjectBank bank;
  bank.subjects = S;
  const auto blocks = sd.unet.model->transformer_blocks();
  const int64_t lh = enc.shape[2], lw = enc.shape[3];
  std::vector<int64_t> tokens_per_block;
  uint64_t bytes = 0;
  {
    // Token counts per block from a planning pass that records norm1's shapes.
    models::BlockHooks probe;
    probe.on_norm1 = [&](Graph& g, const std::string&, const Tensor& n1) {
      if (g.planning()) tokens_per_block.push_back(n1.dim(1));
    };
    const Tensor x{{}, sd.dtype, {1, enc.shape[1], lh, lw}}, t{{}, ops::DType::F32, {1}},
        c{{}, sd.dtype, {1, seq, hidden}};
    runner.plan(sd.dtype, [&](Graph& g) { return sd.unet.model->forward(g, x, t, c, &probe); });
  }
  if (tokens_per_block.size() != blocks.size()) fail("subject encoding: the UNet's blocks changed while planning");
  for (size_t b = 0; b < blocks.size(); ++b)
    bytes += (uint64_t(S) * tokens_per_block[b] * blocks[b]->dim * ops::dtype_bytes(sd.dtype) + 255) / 256 * 256;
  bank.arena = gpu::Arena(ctx, "subject bank", std::max<uint64_t>(bytes, 256), gpu::MemoryUse::Device);
  for (size_t b = 0; b < blocks.size(); ++b) {
    Tensor t{{}, sd.dtype, {1, S * tokens_per_block[b], blocks[b]->dim}};
    t.data = bank.arena.alloc(t.bytes(), 256);
    bank.blocks.push_back(blocks[b]->name);
    bank.tokens[blocks[b]->name] = t;
  }

  // The UNet pass on [S] items; norm1's [S, N, C] is copied out of the activation pool.
  gpu::Arena inputs(ctx, "subject pass input",
                    (uint64_t(S) * per * ops::dtype_bytes(sd.dtype) + 255) / 256 * 256 + uint64_t(S) * seq * hidden *
                        ops::dtype_bytes(sd.dtype) + 1024,
                    gpu::MemoryUse::Device);
  const Tensor x{inputs.alloc(uint64_t(S) * per * ops::dtype_bytes(sd.dtype), 256), sd.dtype, {S, enc.shape[1], lh, lw}};
  models::upload_floats(ctx, x, noisy);
  const Tensor ts{inputs.alloc(uint64_t(S) * 4, 256), ops::DType::F32, {S}};
  const std::vector<float> tv(static_cast<size_t>(S), static_cast<float>(t_subject));
  ctx.upload(ts.data, tv.data(), tv.size() * 4);
  const uint64_t row = uint64_t(seq * hidden) * ops::dtype_bytes(sd.dtype);
  const Tensor context{inputs.alloc(S * row, 256), sd.dtype, {S, seq, hidden}};
  for (int s = 0; s < S; ++s) runner.recorder().copy(contexts[size_t(s)].context.data, context.data.sub(s * row, row), row);
  models::BlockHooks keep;
  keep.on_norm1 = [&](Graph& g, const std::string& block, const Tensor& n1) {
    const Tensor& dst = bank.tokens.at(block);
    g.copy(n1, Tensor{dst.data, dst.dtype, n1.shape});
  };
  runner.run(sd.dtype, [&](Graph& g) { return sd.unet.model->forward(g, x, ts, context, &keep); });
  return bank;
}

}  // namespace ezivk::pipeline
