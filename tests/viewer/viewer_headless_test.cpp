// ezivk-viewer end to end, as CI runs it: a private Xvfb display, lavapipe, the validation layer, the tiny model
// with its random adapter. The viewer runs EZIGen with two rounds headless, writes its window's image and what was
// on screen, and exits; these tests check both, and that bad input fails before the window opens.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <string>

#include <nlohmann/json.hpp>
#include <gif_lib.h>
#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "engine/io/image_file.h"
#include "engine/pipeline/ezigen.h"
#include "engine/pipeline/ezigen_weights.h"
#include "engine/pipeline/stable_diffusion.h"
#include "engine/pipeline/subject_bank.h"
#include "engine/pipeline/text_to_image.h"
#include "support/gpu_fixture.h"
#include "engine/eval/picture_difference.h"
#include "tests/models/golden.h"

#ifndef EZIVK_VIEWER_BIN
#error "EZIVK_VIEWER_BIN names the viewer executable"
#endif

namespace ezivk::test {
namespace {

namespace fs = std::filesystem;

// One Xvfb for the suite, on a display number no one else is likely to use.
class Display {
 public:
  Display() {
    const int n = 90 + int(::getpid() % 400);
    name_ = ":" + std::to_string(n);
    pid_ = ::fork();
    if (pid_ == 0) {
      const int null = ::open("/dev/null", O_WRONLY);
      ::dup2(null, 1);
      ::dup2(null, 2);
      ::execlp("Xvfb", "Xvfb", name_.c_str(), "-screen", "0", "1280x800x24", "-nolisten", "tcp", nullptr);
      ::_exit(127);
    }
    // Ready when its socket appears.
    const fs::path sock = "/tmp/.X11-unix/X" + std::to_string(n);
    for (int i = 0; i < 100 && !fs::exists(sock); ++i) ::usleep(50000);
  }
  ~Display() {
    if (pid_ > 0) {
      ::kill(pid_, SIGTERM);
      ::waitpid(pid_, nullptr, 0);
    }
  }
  const std::string& name() const { return name_; }

 private:
  std::string name_;
  pid_t pid_ = -1;
};

Display& display() {
  static Display d;
  return d;
}

struct Result {
  int code = -1;
  std::string output;
};

Result run_viewer(const std::string& args, bool with_display = true) {
  const fs::path log = fs::temp_directory_path() / ("ezivk_viewer_" + std::to_string(::getpid()) + ".log");
  const std::string env = with_display ? "DISPLAY=" + display().name() : "DISPLAY= WAYLAND_DISPLAY=";
  const std::string cmd = env + " EZIVK_VALIDATION=1 timeout 300 " + std::string(EZIVK_VIEWER_BIN) + " " + args + " > " +
                          log.string() + " 2>&1";
  const int st = std::system(cmd.c_str());
  Result r;
  r.code = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  std::ifstream f(log);
  r.output.assign(std::istreambuf_iterator<char>(f), {});
  fs::remove(log);
  return r;
}

fs::path scratch(const std::string& name) {
  const fs::path d = fs::temp_directory_path() / ("ezivk_viewer_test_" + std::to_string(::getpid()));
  fs::create_directories(d);
  return d / name;
}

// The picture drawn over `rect` (x, y, w, h in window pixels) of the screenshot, sampled at the centre of each
// image pixel's cell (the viewer draws nearest-pixel), against `want`: the largest channel difference over the cells
// not within `skip_radius` of `skip` (a marker drawn over the picture). -1 when the rectangle is off the screenshot.
// `within` (x, y, w, h; optional): only cells whose centres fall inside it count (a zoomed picture's visible part).
int picture_difference(const io::Image8& shot, const nlohmann::json& rect, const io::Image8& want,
                       std::pair<float, float> skip = {-1.f, -1.f}, float skip_radius = 0.f,
                       const nlohmann::json& within = nullptr) {
  const float x0 = rect[0], y0 = rect[1], w = rect[2], h = rect[3];
  if (within.is_null() && (x0 < 0 || y0 < 0 || x0 + w > float(shot.width) || y0 + h > float(shot.height))) return -1;
  int worst = 0, cells = 0;
  for (int y = 0; y < want.height; ++y)
    for (int x = 0; x < want.width; ++x) {
      const float sx = x0 + (float(x) + 0.5f) * w / float(want.width), sy = y0 + (float(y) + 0.5f) * h / float(want.height);
      if (std::hypot(sx - skip.first, sy - skip.second) < skip_radius) continue;
      if (!within.is_null() &&
          !(sx >= within[0].get<float>() + 1 && sy >= within[1].get<float>() + 1 &&
            sx < within[0].get<float>() + within[2].get<float>() - 1 && sy < within[1].get<float>() + within[3].get<float>() - 1))
        continue;
      ++cells;
      const size_t si = (size_t(sy) * size_t(shot.width) + size_t(sx)) * 3;
      const size_t wi = (size_t(y) * size_t(want.width) + size_t(x)) * size_t(want.channels);
      for (int c = 0; c < 3; ++c) worst = std::max(worst, std::abs(int(shot.pixels[si + size_t(c)]) - int(want.pixels[wi + size_t(c)])));
    }
  return cells ? worst : -1;
}

// The share of the pixels inside `rect` of the screenshot that differ from its most common colour (the panel's
// background): a drawn panel has text, frames or pictures; a blank or black one has none.
double drawn_share(const io::Image8& shot, const nlohmann::json& rect) {
  std::map<uint32_t, size_t> colours;
  const int x0 = std::max(0, int(rect[0].get<float>())), y0 = std::max(0, int(rect[1].get<float>()));
  const int x1 = std::min(shot.width, int(rect[0].get<float>() + rect[2].get<float>()));
  const int y1 = std::min(shot.height, int(rect[1].get<float>() + rect[3].get<float>()));
  for (int y = y0; y < y1; ++y)
    for (int x = x0; x < x1; ++x) {
      const uint8_t* p = &shot.pixels[(size_t(y) * size_t(shot.width) + size_t(x)) * 3];
      ++colours[uint32_t(p[0]) << 16 | uint32_t(p[1]) << 8 | p[2]];
    }
  size_t total = 0, top = 0;
  for (const auto& [c, n] : colours) total += n, top = std::max(top, n);
  return total ? double(total - top) / double(total) : 0.0;
}

class ViewerHeadless : public GpuTest {  // the in-process half runs under the validation layer too
 protected:
  // An EZIGen run with two rounds, in a window on the private display or offscreen with no display at all.
  void shows_an_ezigen_run(bool offscreen);
  // A text-to-image run resized after step 2 and zoomed twice: the new size, and the zoomed picture pixel for pixel.
  void resized_mid_run_and_zoomed(bool offscreen);
};

void ViewerHeadless::shows_an_ezigen_run(bool offscreen) {
  if (!offscreen && std::system("command -v Xvfb > /dev/null") != 0)
    GTEST_SKIP() << "Xvfb is not installed (tools/setup.sh installs it)";
  const fs::path png = scratch("ezigen.png"), json = scratch("ezigen.json");
  const std::string args = "--model " + model_dir("sd2-tiny").string() + " --adapter " +
                           (fixtures_dir() / "adapters" / "sd2-tiny-ezigen").string() + " --subject " +
                           (fixtures_dir() / "ezigen" / "subject_dog.png").string() +
                           " --subject-prompt 'a dog' --prompt 'a photo of a dog on the beach' --seed 42 --steps 6"
                           " --rounds 2 --select 0.25,0.75 --window 800x520 --headless-screenshot " + png.string() +
                           " --dump-state " + json.string() + (offscreen ? " --offscreen" : "");
  const Result r = run_viewer(args, !offscreen);
  ASSERT_EQ(r.code, 0) << r.output;
  EXPECT_EQ(r.output.find("validation"), std::string::npos) << r.output;

  const io::Image8 shot = io::read_image(png);
  EXPECT_EQ(shot.width, 800);
  EXPECT_EQ(shot.height, 520);
  // Not a blank window: the panels, their text and the images give many distinct colours.
  std::set<uint32_t> colours;
  for (size_t i = 0; i + 2 < shot.pixels.size(); i += 3)
    colours.insert(uint32_t(shot.pixels[i]) << 16 | uint32_t(shot.pixels[i + 1]) << 8 | shot.pixels[i + 2]);
  EXPECT_GT(colours.size(), 200u);

  std::ifstream f(json);
  const auto j = nlohmann::json::parse(f);
  EXPECT_EQ(j["status"], "finished");
  EXPECT_EQ(j["window"]["width"], 800);
  // Where the device's graphics family has a second queue the window draws on it and generation submits whole steps;
  // where it has one (lavapipe) the window shares generation's queue, which then submits in pieces that adapt to take
  // about 100 ms (the default).
  bool second_queue = false;
  for (const auto& fam : ctx().caps().queue_families)
    if ((fam.flags & VK_QUEUE_GRAPHICS_BIT) && (fam.flags & VK_QUEUE_COMPUTE_BIT) && fam.count >= 2) second_queue = true;
  const std::string queues = j["queues"];
  // (With several devices the viewer, which also needs presentation, may choose another than this process did.)
  if (gpu::enumerate_devices().size() == 1) {
    EXPECT_EQ(queues.rfind("the window on a queue of its own", 0) == 0, second_queue) << queues;
  }
  if (!second_queue) {
    EXPECT_NE(queues.find("in pieces of about 100 ms"), std::string::npos) << queues;
  }
  // The first pass and two rounds, the last one the stop; every round measured against the one before.
  ASSERT_EQ(j["rounds"].size(), 3u);
  EXPECT_TRUE(j["rounds"][0]["similarity"].is_null());
  EXPECT_TRUE(j["rounds"][1]["similarity"].is_number());
  EXPECT_FALSE(j["rounds"][1]["stop"].get<bool>());
  EXPECT_TRUE(j["rounds"][2]["stop"].get<bool>());
  EXPECT_TRUE(j["sketch_shown"].get<bool>());
  EXPECT_GE(j["steps_done"].get<int>(), 6);
  EXPECT_GT(j["frame_ms"]["count"].get<int>(), 3);
  ASSERT_TRUE(j.contains("preview_fit"));  // the model's VAE has an encoder: the preview projection was fitted
  EXPECT_GT(j["preview_fit"]["samples"].get<int>(), 0);
  EXPECT_FLOAT_EQ(j["selected_point"][0].get<float>(), 0.25f);

  // The map the viewer showed is the engine's own capture, aggregated as documented: the same run in this process
  // (the viewer's defaults: fp16, DDPM, the EZIGen negative prompt), the conditional half, the grid point the
  // selection falls on, the mean over the finest-resolution blocks at the last captured step.
  ASSERT_TRUE(j.contains("map")) << j.dump(2);
  const auto& m = j["map"];
  std::vector<std::string> blocks = m["blocks"];
  ASSERT_FALSE(blocks.empty());
  for (const auto& b : blocks)
    EXPECT_TRUE(b.rfind("down_blocks.0.", 0) == 0 || b.rfind("up_blocks.2.", 0) == 0) << b;  // sd2-tiny: 3 up blocks
  // The selection (0.25, 0.75) lies in the grid cell whose centre is the point the map is for.
  const auto& grid = j["correspondence"]["grid"];
  const float gx = m["point"][0], gy = m["point"][1];
  EXPECT_LE(std::abs(gx - 0.25f), 0.5f / grid[0].get<float>() + 1e-6f);
  EXPECT_LE(std::abs(gy - 0.75f), 0.5f / grid[1].get<float>() + 1e-6f);
  auto sd = pipeline::load_stable_diffusion(ctx(), model_dir("sd2-tiny").string(), DType::F16);
  const auto weights = pipeline::load_ezigen_weights(*sd, fixtures_dir() / "adapters" / "sd2-tiny-ezigen");
  pipeline::EzigenParams p;
  p.prompt = "a photo of a dog on the beach";
  p.steps = 6;
  p.seed = 42;
  p.scheduler = sched::SchedulerKind::DDPM;
  p.rounds.fixed = 2;
  p.subjects.push_back({pipeline::prepare_subject_image(io::read_image(fixtures_dir() / "ezigen" / "subject_dog.png"),
                                                        pipeline::subject_size(*sd)),
                        "a dog", std::nullopt});
  p.capture_blocks = blocks;
  p.capture_points = {{gx, gy}};
  std::vector<double> sum;
  double mass = 0;
  int n = 0, last_round = -1, last_step = -1;
  const auto result = pipeline::ezigen_generate(*sd, &weights, p, [&](const pipeline::Event& e) {
    auto* a = std::get_if<pipeline::AttentionCaptured>(&e);
    if (!a) return;
    if (a->round != last_round || a->step != last_step) {
      sum.assign(size_t(a->probs->shape[2]), 0.0);
      mass = 0, n = 0, last_round = a->round, last_step = a->step;
    }
    const int64_t b = a->probs->shape[0] - 1, q = a->probs->shape[1], k = a->probs->shape[2];
    for (int64_t i = 0; i < k; ++i) sum[size_t(i)] += a->probs->values[size_t(b * q * k + i)];
    mass += a->mass->values[size_t(b * q)];
    ++n;
  });
  ASSERT_EQ(n, int(blocks.size()));
  EXPECT_EQ(m["round"].get<int>(), last_round);
  EXPECT_EQ(m["step"].get<int>(), last_step);
  EXPECT_NEAR(m["mass"].get<double>(), mass / n, 1e-4);
  const auto best = std::max_element(sum.begin(), sum.end()) - sum.begin();
  EXPECT_EQ(m["argmax_token"].get<int64_t>(), best);
  EXPECT_NEAR(m["max_prob"].get<double>(), sum[size_t(best)] / n, 1e-4);
  EXPECT_EQ(m["head"].get<int>(), -1);  // the default: the mean over heads, as the in-process run captured

  // The panels are where the layout says, drawn, and show this run's pictures: the final image (except under the
  // selection marker), the sketch, and every round's thumbnail, pixel for pixel.
  const auto& lay = j["layout"];
  for (const char* w : {"Run", "Image", "Rounds"}) {
    ASSERT_TRUE(lay["windows"].contains(w)) << lay.dump();
    EXPECT_GT(drawn_share(shot, lay["windows"][w]), 0.03) << w;
  }
  const auto& pics = lay["pictures"];
  ASSERT_TRUE(pics.contains("output")) << lay.dump();
  const auto& o = pics["output"];
  const std::pair<float, float> marker{o[0].get<float>() + 0.25f * o[2].get<float>(), o[1].get<float>() + 0.75f * o[3].get<float>()};
  EXPECT_EQ(picture_difference(shot, o, result.image, marker, 12.f), 0);
  ASSERT_TRUE(pics.contains("sketch") && result.sketch_x0);
  EXPECT_EQ(picture_difference(shot, pics["sketch"], *result.sketch_x0), 0);
  ASSERT_EQ(result.rounds.size(), 2u);
  ASSERT_TRUE(result.first);
  EXPECT_EQ(picture_difference(shot, pics["round0"], *result.first), 0);
  for (int r = 1; r <= 2; ++r)
    EXPECT_EQ(picture_difference(shot, pics["round" + std::to_string(r)], result.rounds[size_t(r - 1)].image), 0) << r;
  // A wrong picture would not pass: the first pass is not the final image.
  EXPECT_GT(picture_difference(shot, pics["round0"], result.image), 0);
  fs::remove_all(png.parent_path());
}

TEST_F(ViewerHeadless, ShowsAnEzigenRunAndWritesItsWindowAndState) { shows_an_ezigen_run(false); }

// The same run and the same checks with no display (DISPLAY unset): frames drawn into an image of the device.
TEST_F(ViewerHeadless, OffscreenWithoutADisplayShowsTheSameRun) { shows_an_ezigen_run(true); }

// With --dump-state alone the loop ends right after submitting a frame (no screenshot waits for it): the viewer must
// wait for that frame before it frees what the frame draws from. Freeing first crashed in the driver's threads or
// failed validation (a buffer destroyed while in use) in some runs, so five runs of drawing continuously catch it.
TEST_F(ViewerHeadless, EndsCleanlyRightAfterSubmittingAFrame) {
  const fs::path json = scratch("end.json");
  for (int i = 0; i < 5; ++i) {
    const Result r = run_viewer("--model " + model_dir("sd2-tiny").string() +
                                    " --prompt 'a photo of a cat' --seed 7 --steps 3 --size 64x64 --offscreen --idle-fps 0"
                                    " --idle-frames 5 --window 640x400 --dump-state " + json.string(),
                                false);
    ASSERT_EQ(r.code, 0) << "run " << i << ": " << r.output;
  }
  fs::remove_all(json.parent_path());
}

// The Compare tab shows two of the run's pictures and their difference (|A - B| x 4), and the timeline kept every step
// with a map for each step the subject was on.
TEST_F(ViewerHeadless, CompareTabShowsTheDifferenceAndTheTimelineKeepsEveryStep) {
  if (std::system("command -v Xvfb > /dev/null") != 0) GTEST_SKIP() << "Xvfb is not installed (tools/setup.sh installs it)";
  const fs::path png = scratch("compare.png"), json = scratch("compare.json");
  const Result r = run_viewer("--model " + model_dir("sd2-tiny").string() + " --adapter " +
                              (fixtures_dir() / "adapters" / "sd2-tiny-ezigen").string() + " --subject " +
                              (fixtures_dir() / "ezigen" / "subject_dog.png").string() +
                              " --prompt 'a photo of a dog' --seed 3 --steps 5 --rounds 1 --tab compare --window 900x600"
                              " --select 0.5,0.5 --head 1 --save all --save-dir " + png.parent_path().string() +
                              " --headless-screenshot " + png.string() + " --dump-state " + json.string());
  ASSERT_EQ(r.code, 0) << r.output;
  const io::Image8 shot = io::read_image(png);
  std::ifstream f(json);
  const auto j = nlohmann::json::parse(f);
  const auto& pics = j["layout"]["pictures"];
  ASSERT_TRUE(pics.contains("compare_a") && pics.contains("compare_b") && pics.contains("compare_diff")) << pics.dump();
  // Read A and B back from the screenshot at their pixel centres; the difference picture must be |A - B| x 4.
  auto read_back = [&](const nlohmann::json& rect, int w, int h) {
    io::Image8 im{w, h, 3, std::vector<uint8_t>(size_t(w) * size_t(h) * 3)};
    for (int y = 0; y < h; ++y)
      for (int x = 0; x < w; ++x) {
        const int sx = int(rect[0].get<float>() + (float(x) + 0.5f) * rect[2].get<float>() / float(w));
        const int sy = int(rect[1].get<float>() + (float(y) + 0.5f) * rect[3].get<float>() / float(h));
        for (int c = 0; c < 3; ++c)
          im.pixels[(size_t(y) * size_t(w) + size_t(x)) * 3 + size_t(c)] = shot.pixels[(size_t(sy) * size_t(shot.width) + size_t(sx)) * 3 + size_t(c)];
      }
    return im;
  };
  const int w = j["rounds"][0]["width"], h = j["rounds"][0]["height"];
  const io::Image8 a = read_back(pics["compare_a"], w, h), b = read_back(pics["compare_b"], w, h);
  EXPECT_EQ(picture_difference(shot, pics["compare_diff"], eval::difference_image(a, b, 4)), 0);
  EXPECT_GT(eval::mean_abs_difference(a, b), 0.0);  // the sketch and the last round differ
  // The timeline: every UNet step, and a map for every step with the subject on (the transfer part of the first pass
  // and the round).
  EXPECT_EQ(j["timeline"]["steps"].get<int>(), j["steps_done"].get<int>());
  EXPECT_GT(j["timeline"]["with_maps"].get<int>(), 0);
  EXPECT_LT(j["timeline"]["with_maps"].get<int>(), j["timeline"]["steps"].get<int>());  // not the sketch steps
  // --head 1: the maps are head 1's (sd2-tiny's finest blocks have 2 heads); EzigenRun.CaptureOfOneHead… checks the
  // engine's per-head numbers.
  EXPECT_EQ(j["correspondence"]["heads"].get<int>(), 2);
  EXPECT_EQ(j["map"]["head"].get<int>(), 1);
  EXPECT_NE(j["map"]["aggregation"].get<std::string>().find("head 1"), std::string::npos) << j["map"].dump();

  // --save all: the final image with its parameters, the map, the report, and the two GIFs with a frame per picture.
  const fs::path dir = png.parent_path();
  const io::Image8 saved = io::read_image(dir / "ezivk-3-image.png");
  EXPECT_EQ(saved.width, w);
  EXPECT_EQ(picture_difference(shot, pics["compare_b"], saved), 0);  // B is the last round: the final image
  std::ifstream pf(dir / "ezivk-3-image.png", std::ios::binary);
  const std::string bytes((std::istreambuf_iterator<char>(pf)), {});
  EXPECT_NE(bytes.find("\"seed\":3"), std::string::npos);  // the parameters chunk
  const io::Image8 map = io::read_image(dir / "ezivk-3-map.png");
  EXPECT_GE(map.width, 256);
  // The best match is outlined in cyan where the report says it is.
  const int side = int(std::lround(std::sqrt(j["map"]["tokens"].get<double>())));
  const int best = j["map"]["argmax_token"];
  const int cx = (best % side) * map.width / side, cy = (best / side) * map.height / side + map.height / side / 2;
  const uint8_t* px = &map.pixels[(size_t(cy) * size_t(map.width) + size_t(cx)) * 3];
  EXPECT_TRUE(px[0] == 0 && px[1] == 255 && px[2] == 255) << int(px[0]) << "," << int(px[1]) << "," << int(px[2]);
  std::ifstream rf(dir / "ezivk-3-report.json");
  const auto report = nlohmann::json::parse(rf);
  EXPECT_EQ(report["rounds"].size(), j["rounds"].size());
  EXPECT_EQ(report["parameters"]["seed"], 3);
  auto gif_frames = [](const fs::path& p) {
    int err = 0;
    GifFileType* g = DGifOpenFileName(p.c_str(), &err);
    if (!g) return -1;
    const int n = DGifSlurp(g) == GIF_OK ? g->ImageCount : -1;
    DGifCloseFile(g, &err);
    return n;
  };
  EXPECT_EQ(gif_frames(dir / "ezivk-3-rounds.gif"), 1 + int(j["rounds"].size()));  // the sketch, the first pass, the round
  EXPECT_EQ(gif_frames(dir / "ezivk-3-timeline.gif"), j["steps_done"].get<int>());
  fs::remove_all(png.parent_path());
}

// The UI keeps drawing while a step computes: with the step split into pieces (--submit-every), frames are drawn
// wholly inside every step's time. Text-to-image at 64x64 makes a step long enough on lavapipe (about a second).
// Drawn continuously (--idle-fps 0), as while the user pans or scrubs: with frames on demand the mean frame time
// includes the idle waits, every step is shorter than four of them, and the check would skip.
TEST_F(ViewerHeadless, FramesKeepComingWhileAStepComputes) {
  if (std::system("command -v Xvfb > /dev/null") != 0) GTEST_SKIP() << "Xvfb is not installed (tools/setup.sh installs it)";
  const fs::path json = scratch("t2i.json");
  const Result r = run_viewer("--model " + model_dir("sd2-tiny").string() +
                              " --prompt 'a photo of a cat' --seed 7 --steps 4 --size 64x64 --submit-every 16 --window 640x400"
                              " --idle-fps 0"
                              " --dump-state " + json.string());
  ASSERT_EQ(r.code, 0) << r.output;
  std::ifstream f(json);
  const auto j = nlohmann::json::parse(f);
  EXPECT_EQ(j["status"], "finished");
  const std::vector<double> step_s = j["step_seconds"];
  const std::vector<int> in_step = j["frames_in_step"];
  ASSERT_GE(step_s.size(), 4u);  // the folder's PNDM adds a warm-up step
  const double frame_ms = j["frame_ms"]["mean"];
  ASSERT_GT(frame_ms, 0.0);
  // Steps 2..4 (the first one also compiles kernels): each must hold frames when it lasts several frame times.
  int checked = 0;
  for (size_t k = 1; k < step_s.size(); ++k) {
    if (step_s[k] * 1000.0 < 4.0 * frame_ms) continue;  // a fast device: a step is shorter than a few frames
    ++checked;
    ASSERT_GT(in_step.size(), k) << j.dump(2);
    EXPECT_GE(in_step[k], 2) << "step " << k + 1 << " took " << step_s[k] << " s with " << in_step[k] << " whole frames in it";
  }
  // The live x̂0 was drawn from the engine's device preview slots, not uploaded from the events' host copies.
  EXPECT_GT(j["device_preview_frames"].get<int>(), 0);
  if (checked == 0) GTEST_SKIP() << "every step was shorter than four frames on this device; nothing to check";
  fs::remove_all(json.parent_path());
}

// Frames on demand: with nothing happening the window redraws --idle-fps times a second (so a CPU driver's cores stay
// with the run), and every change of the run (each step) wakes it at once instead of waiting for that idle frame.
TEST_F(ViewerHeadless, DrawsOnDemandIdleFramesAreSlowAndEveryStepWakesTheWindow) {
  if (std::system("command -v Xvfb > /dev/null") != 0) GTEST_SKIP() << "Xvfb is not installed (tools/setup.sh installs it)";
  const fs::path json = scratch("on_demand.json");
  const int steps = 6;
  const Result r = run_viewer("--model " + model_dir("sd2-tiny").string() + " --prompt 'a photo of a cat' --seed 5 --steps " +
                              std::to_string(steps) + " --scheduler ddim --size 64x64 --window 480x320 --idle-fps 0.5"
                              " --idle-frames 5 --dump-state " + json.string());
  ASSERT_EQ(r.code, 0) << r.output;
  std::ifstream f(json);
  const auto j = nlohmann::json::parse(f);
  EXPECT_EQ(j["status"], "finished");
  EXPECT_EQ(j["frame_ms"]["idle_fps"].get<double>(), 0.5);
  // After the run ended nothing happened: the last two of the five frames drawn since each waited the whole 2 s (the
  // first one or two after the run's end were woken by its last changes of state).
  const std::vector<double> recent = j["frame_ms"]["recent"];
  ASSERT_GE(recent.size(), 3u);
  EXPECT_GE(recent[recent.size() - 1], 1800.0) << j["frame_ms"].dump();
  EXPECT_GE(recent[recent.size() - 2], 1800.0) << j["frame_ms"].dump();
  // While it ran, the window drew more frames than one per 2 s could give: each step woke it.
  const std::vector<double> step_s = j["step_seconds"];
  ASSERT_EQ(step_s.size(), size_t(steps));
  double run_s = 0;
  for (double v : step_s) run_s += v;
  if (run_s / steps < 0.1) GTEST_SKIP() << "steps of " << run_s / steps << " s: on a device this fast wakes coalesce";
  const int running = j["frame_ms"]["while_running"]["count"];
  EXPECT_GE(running, steps) << "a " << run_s << " s run drew " << running << " frames";
  EXPECT_GT(double(running), run_s * 0.5 + 2) << "a " << run_s << " s run drew " << running << " frames";
  fs::remove_all(json.parent_path());
}

// Resizing mid-run: the swapchain is recreated at the new size and the pictures are still drawn right (the final
// image pixel for pixel against the same text-to-image run in this process).
void ViewerHeadless::resized_mid_run_and_zoomed(bool offscreen) {
  if (!offscreen && std::system("command -v Xvfb > /dev/null") != 0)
    GTEST_SKIP() << "Xvfb is not installed (tools/setup.sh installs it)";
  const fs::path png = scratch("resize.png"), json = scratch("resize.json");
  const Result r = run_viewer("--model " + model_dir("sd2-tiny").string() +
                                  " --prompt 'a photo of a cat' --seed 11 --steps 4 --scheduler ddim --window 640x400"
                                  " --resize-at 2:720x480 --zoom 2 --headless-screenshot " + png.string() + " --dump-state " +
                                  json.string() + (offscreen ? " --offscreen" : ""),
                              !offscreen);
  ASSERT_EQ(r.code, 0) << r.output;
  EXPECT_EQ(r.output.find("validation"), std::string::npos) << r.output;
  const io::Image8 shot = io::read_image(png);
  EXPECT_EQ(shot.width, 720);
  EXPECT_EQ(shot.height, 480);
  std::ifstream f(json);
  const auto j = nlohmann::json::parse(f);
  EXPECT_EQ(j["window"]["width"], 720);
  EXPECT_GE(j["window"]["swapchains"].get<int>(), 2);
  auto sd = pipeline::load_stable_diffusion(ctx(), model_dir("sd2-tiny").string(), DType::F16);
  pipeline::TextToImageParams p;
  p.prompt = "a photo of a cat";
  p.seed = 11;
  p.steps = 4;
  p.scheduler = sched::SchedulerKind::DDIM;
  const auto want = pipeline::text_to_image(*sd, p, {}).images.at(0);
  // Zoomed in twice about the centre: the visible part is the middle half of the image, twice as large.
  const auto& place = j["layout"]["pictures"]["output"];
  const auto& view = j["layout"]["pictures"]["output_view"];
  EXPECT_NEAR(view[2].get<float>(), 2 * place[2].get<float>(), 0.5f);
  EXPECT_NEAR(view[0].get<float>(), place[0].get<float>() - place[2].get<float>() / 2, 0.5f);
  EXPECT_EQ(picture_difference(shot, view, want, {-1.f, -1.f}, 0.f, place), 0);
  fs::remove_all(png.parent_path());
}

TEST_F(ViewerHeadless, ResizedMidRunAndZoomedTheSwapchainFollowsAndPicturesStayExact) { resized_mid_run_and_zoomed(false); }

// Closing the window mid-run (as a user would, after step 3 of 200): the run stops within a piece of a step, the
// viewer writes what was on screen and exits 0, and nothing the frames or the run used is freed under them.
TEST_F(ViewerHeadless, ClosedMidRunTheRunStopsAndTheViewerExitsCleanly) {
  if (std::system("command -v Xvfb > /dev/null") != 0) GTEST_SKIP() << "Xvfb is not installed (tools/setup.sh installs it)";
  const fs::path json = scratch("close.json");
  const Result r = run_viewer("--model " + model_dir("sd2-tiny").string() +
                              " --prompt 'a photo of a cat' --seed 5 --steps 200 --size 64x64 --submit-every 16"
                              " --close-at 3 --window 640x400 --dump-state " + json.string());
  ASSERT_EQ(r.code, 0) << r.output;
  EXPECT_EQ(r.output.find("validation"), std::string::npos) << r.output;
  std::ifstream f(json);
  const auto j = nlohmann::json::parse(f);
  EXPECT_EQ(j["status"], "stopped");
  // Closed once 3 steps were done, long before the end (on a CPU driver the step in flight stops at its next piece, so
  // 3 or 4; a GPU may finish a few more steps in the frame or two before the close is seen).
  EXPECT_GE(j["steps_done"].get<int>(), 3);
  EXPECT_LT(j["steps_done"].get<int>(), 100);
  fs::remove_all(json.parent_path());
}

// Offscreen, the frame's image is made again at the new size.
TEST_F(ViewerHeadless, OffscreenResizedMidRunTheFrameFollows) { resized_mid_run_and_zoomed(true); }

TEST_F(ViewerHeadless, BadInputFailsBeforeTheWindowOpens) {
  Result r = run_viewer("--model " + model_dir("sd2-tiny").string() + " --prompt x --select 2,0", false);
  EXPECT_EQ(r.code, 2) << r.output;
  EXPECT_NE(r.output.find("--select"), std::string::npos) << r.output;
  r = run_viewer("--model " + model_dir("sd2-tiny").string() + " --prompt x --subject /nonexistent.png --adapter x", false);
  EXPECT_NE(r.code, 0);
  EXPECT_NE(r.output.find("/nonexistent.png"), std::string::npos) << r.output;
  r = run_viewer("--model " + model_dir("sd2-tiny").string() + " --prompt x --headless-screenshot /tmp", false);
  EXPECT_NE(r.code, 0);
  EXPECT_NE(r.output.find("--headless-screenshot"), std::string::npos) << r.output;
  // No display: one clear error, not a crash.
  r = run_viewer("--model " + model_dir("sd2-tiny").string() + " --prompt x", false);
  EXPECT_EQ(r.code, 1) << r.output;
  EXPECT_NE(r.output.find("display"), std::string::npos) << r.output;
  // A window size out of range names --window (not the image's --size).
  r = run_viewer("--model " + model_dir("sd2-tiny").string() + " --prompt x --window 20000x300", false);
  EXPECT_EQ(r.code, 2) << r.output;
  EXPECT_NE(r.output.find("--window width"), std::string::npos) << r.output;
  // Offscreen with nothing to end the run: a usage error naming what is missing.
  r = run_viewer("--model " + model_dir("sd2-tiny").string() + " --prompt x --offscreen", false);
  EXPECT_EQ(r.code, 2) << r.output;
  EXPECT_NE(r.output.find("--headless-screenshot or --dump-state"), std::string::npos) << r.output;
}

}  // namespace
}  // namespace ezivk::test
