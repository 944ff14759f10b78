// ezivk-viewer: a window on the engine's own Vulkan device that shows a generation as it happens. The run works on
// its own thread and submits in small pieces; the UI thread draws at the display's rate and never waits on a step.
#include <imgui.h>
#include <backends/imgui_impl_glfw.h>
#include <backends/imgui_impl_vulkan.h>

#define GLFW_INCLUDE_VULKAN
#include <GLFW/glfw3.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <fstream>
#include <memory>
#include <mutex>

#include <nlohmann/json.hpp>

#include "engine/gpu/command_pool.h"
#include "engine/gpu/error.h"
#include "engine/gpu/one_shot.h"
#include "engine/gpu/private_driver.h"
#include "engine/io/atomic_file.h"
#include "engine/io/output_set.h"
#include "engine/io/png.h"
#include "tools/ezivk/commands.h"
#include "viewer/args.h"
#include "viewer/generation.h"
#include "viewer/inputs.h"
#include "viewer/panels.h"
#include "viewer/picture_renderer.h"
#include "viewer/preview_ring.h"
#include "viewer/state_report.h"
#include "viewer/window.h"

namespace ezivk::viewer {
namespace {

void check_vk(VkResult r) {
  if (r < 0) std::fprintf(stderr, "ezivk-viewer: Vulkan error %d in the ImGui backend\n", int(r));
}

// Dear ImGui's Vulkan backend on the engine's device; it needs a descriptor pool for its font texture.
class ImGuiLayer {
 public:
  ImGuiLayer(gpu::Context& ctx, Window& win) : ctx_(ctx), glfw_(win.handle() != nullptr) {
    VkDevice dev = ctx.device();
    VkDescriptorPoolSize size{VK_DESCRIPTOR_TYPE_COMBINED_IMAGE_SAMPLER, 16};
    VkDescriptorPoolCreateInfo pi{VK_STRUCTURE_TYPE_DESCRIPTOR_POOL_CREATE_INFO};
    pi.flags = VK_DESCRIPTOR_POOL_CREATE_FREE_DESCRIPTOR_SET_BIT;
    pi.maxSets = 16;
    pi.poolSizeCount = 1;
    pi.pPoolSizes = &size;
    VkDescriptorPool pool;
    vk_check(vkCreateDescriptorPool(dev, &pi, nullptr, &pool), "creating ImGui's descriptor pool");
    pool_ = gpu::Handle<VkDescriptorPool>(pool, [dev](VkDescriptorPool p) { vkDestroyDescriptorPool(dev, p, nullptr); });
    IMGUI_CHECKVERSION();
    ImGui::CreateContext();
    ImGui::GetIO().IniFilename = nullptr;  // no imgui.ini next to the user's files
    ImGui::StyleColorsDark();
    if (win.handle()) ImGui_ImplGlfw_InitForVulkan(win.handle(), true);
    ImGui_ImplVulkan_InitInfo ii{};
    ii.Instance = ctx.instance();
    ii.PhysicalDevice = ctx.physical();
    ii.Device = dev;
    ii.QueueFamily = ctx.queue_family();
    ii.Queue = ctx.ui_queue();
    ii.DescriptorPool = pool;
    ii.MinImageCount = 2;
    ii.ImageCount = std::max(2u, win.image_count());
    ii.MSAASamples = VK_SAMPLE_COUNT_1_BIT;
    ii.CheckVkResultFn = check_vk;
    ImGui_ImplVulkan_Init(&ii, win.render_pass());
    // The font texture is uploaded by a command buffer of our own, submitted under the queue lock.
    const auto cpool = gpu::make_command_pool(dev, ctx.queue_family(), "the font upload");
    gpu::run_one_shot(ctx, cpool.get(), [](VkCommandBuffer cb) { ImGui_ImplVulkan_CreateFontsTexture(cb); }, "the font upload");
    ImGui_ImplVulkan_DestroyFontUploadObjects();
  }
  ~ImGuiLayer() {
    vkDeviceWaitIdle(ctx_.device());
    ImGui_ImplVulkan_Shutdown();
    if (glfw_) ImGui_ImplGlfw_Shutdown();
    ImGui::DestroyContext();
  }

  // Offscreen there is no platform backend: the display is the frame's size and time passes as measured.
  void new_frame(const Window& win) {
    ImGui_ImplVulkan_NewFrame();
    if (glfw_) {
      ImGui_ImplGlfw_NewFrame();
      return;
    }
    ImGuiIO& io = ImGui::GetIO();
    io.DisplaySize = ImVec2(float(win.width()), float(win.height()));
    const auto now = std::chrono::steady_clock::now();
    io.DeltaTime = std::max(1e-4f, std::chrono::duration<float>(now - last_).count());
    last_ = now;
  }

 private:
  gpu::Context& ctx_;
  bool glfw_;
  std::chrono::steady_clock::time_point last_ = std::chrono::steady_clock::now();
  gpu::Handle<VkDescriptorPool> pool_;
};

int run_viewer(const ViewerArgs& launch, const std::vector<std::string>& launch_args) {
  ViewerArgs a = launch;  // a run started from the Inputs panel replaces a.run
  // Outputs are checked before the window opens, and written together at the end.
  io::OutputSet outputs;
  if (!a.screenshot.empty()) outputs.add(a.screenshot, "--headless-screenshot");
  if (!a.dump_state.empty()) outputs.add(a.dump_state, "--dump-state");
  if (a.save.any())
    for (const auto& p : save_paths(a.save, a.save_dir, a.run.ezigen ? a.run.ezigen->seed : a.run.t2i.seed))
      io::check_output_path(p, "--save");

  WindowSystem ws(a.offscreen);
  gpu::ContextOptions co;
  co.validation = cli::env_validation();
  co.ui_queue = !a.shared_queue;
  ws.require(co);
  gpu::Context ctx(co);
  // Pieces let frames through between a step's submits only where they share its queue; there, unless a count is
  // given, they adapt to take about --piece-ms each, so a frame waits about that long whatever the model and size.
  const bool shared = !ctx.separate_ui_queue();
  ctx.set_submit_every(a.submit_every.value_or(shared ? 64 : 0));
  const double piece_ms = a.piece_ms.value_or(ctx.caps().type == VK_PHYSICAL_DEVICE_TYPE_CPU ? 100 : 25);
  ctx.set_piece_ms(shared && !a.submit_every ? piece_ms : 0);
  PreviewRing ring(ctx);  // outlives every frame that draws from it: destroyed after the window, which waits for them
  Window win(ctx, a.width, a.height, "ezivk viewer", a.offscreen);
  ring.follow_frames(win.frames_timeline());
  ImGuiLayer gui(ctx, win);
  PictureRenderer pictures(ctx, win.render_pass());
  Panels panels(ctx, pictures, a.select, a.tab, a.zoom);
  // The run calls this on its own thread on every change of its state (glfwPostEmptyEvent is thread-safe). Offscreen
  // there are no window events: the loop waits on `woke` instead.
  std::atomic<bool> run_woke{false};
  std::mutex wake_mu;
  std::condition_variable woke;
  const bool glfw = !a.offscreen;
  const auto wake = [&] {
    run_woke = true;
    if (glfw) {
      glfwPostEmptyEvent();
    } else {
      std::lock_guard lock(wake_mu);
      woke.notify_all();
    }
  };
  // Waits for input or the run's wake-up, at most `seconds`.
  const auto wait_events = [&](double seconds) {
    if (glfw) return glfwWaitEventsTimeout(seconds);
    std::unique_lock lock(wake_mu);
    woke.wait_for(lock, std::chrono::duration<double>(seconds), [&] { return run_woke.load(); });
  };
  // What ties a run (the launch's or one from the Inputs panel) to this window: its previews go to the ring, the slot a
  // state names is marked (under the run's state lock) as drawn by the frame about to be built, changes wake the loop.
  const auto attach = [&](RunSettings& run) {
    run.preview_slot = ring.provider();
    run.preview_taken = [&ring, &win](const gpu::Slice& slot) { ring.taken(slot, win.next_frame()); };
    run.on_change = wake;
  };
  attach(a.run);
  auto gen = std::make_unique<Generation>(ctx, a.run);
  // Destroyed first (also when the loop throws): a run waiting for a frame to finish with a preview slot stops waiting,
  // since no more frames come, and the last frame is waited for before the pictures, panels and run it draws from
  // are freed (offscreen, the loop ends right after submitting it).
  struct Teardown {
    PreviewRing& ring;
    Window& win;
    ~Teardown() {
      try {
        win.wait_frame();
      } catch (const std::exception& e) {
        std::fprintf(stderr, "ezivk-viewer: %s\n", e.what());
      }
      ring.close();
    }
  } teardown{ring, win};
  Inputs inputs(launch_args);

  FrameStats frames;
  int frames_after_done = 0;
  bool saved_at_end = false;
  std::string save_error;
  bool captured = false;
  auto last = std::chrono::steady_clock::now();
  RunState s;
  int settle = 0;  // frames still to draw at once after a wake-up
  while (!win.should_close()) {
    // Frames on demand: wait for input or the run's wake-up (an empty event posted on every change of its state), at
    // most 1/idle_fps. After input a few frames follow at once, because ImGui settles a change over two or three
    // frames (hover, click, a new layout); a change of the run needs just the one. On a CPU driver every frame is
    // rasterised on the cores that generate, so unchanged frames at the display's rate take time from the run.
    if (a.idle_fps > 0 && settle == 0) {
      const auto t0 = std::chrono::steady_clock::now();
      wait_events(1.0 / a.idle_fps);
      const bool early = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() < 0.9 / a.idle_fps;
      if (!run_woke.exchange(false) && early) settle = 2;
    } else {
      if (glfw) glfwPollEvents();
      if (settle > 0) --settle;
    }
    s = gen->state();
    if (a.close_at && s.steps_done >= *a.close_at) {
      win.request_close();
      a.close_at.reset();
    }
    if (a.resize_at && s.steps_done >= std::get<0>(*a.resize_at)) {
      win.request_size(std::get<1>(*a.resize_at), std::get<2>(*a.resize_at));
      a.resize_at.reset();
    }
    const int steps_before = s.steps_done;
    const bool running = s.status == RunState::Status::Running;
    win.wait_frame();  // the pictures' buffers are rewritten below: the last frame must be done reading them
    gui.new_frame(win);
    ImGui::NewFrame();
    const PanelActions act = panels.draw(s, a.run, frames, ctx.device_memory_live(), &inputs, win.take_dropped());
    if (act.rerun) {
      // A new run from the Inputs panel: the current one stops and joins first (within a piece of a step on a shared
      // queue; within the step's one submit where the window has its own queue, a GPU's UNet step).
      ring.close();  // the frame being built may hold a slot the run would wait for: the join must not wait on it
      gen.reset();
      ring.open();
      const int head = a.run.capture_head;  // the head menu's choice outlives the run
      a.run = act.rerun->args.run;
      a.run.capture_head = head;
      attach(a.run);
      if (act.rerun->from_sketch) {
        a.run.ezigen->from_sketch = s.kept_sketch;
        a.run.sketch_image = s.sketch;
      }
      frames.in_step.clear();
      saved_at_end = true;  // --save was for the launch run
      gen = std::make_unique<Generation>(ctx, a.run);
    }
    if (act.stop) gen->stop();
    if (act.pause) gen->set_paused(*act.pause);
    if (act.step) gen->step_once();
    if (act.decode) gen->request_decode();
    if (act.capture_head) {
      gen->set_capture_head(*act.capture_head);
      a.run.capture_head = *act.capture_head;  // a re-run keeps it
    }
    // Saving: the buttons now, --save once the run has finished (on the frame after, so the report is complete).
    auto save = [&](const SaveItems& items) {
      try {
        const auto files = save_run(items, a.save_dir, s, a.run, state_json(s, a, frames, win.width(), win.height(), panels, win.swapchains_created()),
                                    panels.attention());
        std::string text = "saved";
        for (const auto& f : files) text += " " + f.string();
        panels.set_notice(text);
        std::fprintf(stderr, "ezivk-viewer: %s\n", text.c_str());
        return true;
      } catch (const std::exception& e) {
        panels.set_notice(std::string("could not save: ") + e.what());
        save_error = e.what();
        return false;
      }
    };
    if (act.save.any()) save(act.save);
    if (a.save.any() && !saved_at_end && s.status == RunState::Status::Finished) {
      saved_at_end = true;
      if (save(a.save)) save_error.clear();
    }
    ImGui::Render();
    const bool done = gen->done();
    // Headless: a few frames after the run ends (so the last state is drawn), capture and leave.
    const bool capture = !a.screenshot.empty() && done && ++frames_after_done >= a.idle_frames;
    if (VkCommandBuffer cb = win.begin_frame()) {
      pictures.begin_render(cb, float(win.width()), float(win.height()));
      ImGui_ImplVulkan_RenderDrawData(ImGui::GetDrawData(), cb);
      win.end_frame(capture);
      captured = captured || (capture && win.captured().width > 0);
    } else if (win.minimised()) {
      // Nothing to present paces the loop while minimised: sleep until an event (restore) or the next state poll,
      // instead of spinning on a core the run may need (on a CPU driver it computes on the same cores).
      wait_events(0.05);
    }
    pictures.end_frame();
    const auto now = std::chrono::steady_clock::now();
    const double ms = std::chrono::duration<double, std::milli>(now - last).count();
    frames.ms.push_back(ms);
    if (frames.ms.size() > 240) frames.ms.pop_front();
    (running ? frames.while_running : s.status == RunState::Status::Loading ? frames.while_loading : frames.while_idle).add(ms);
    last = now;
    if (running && steps_before >= 1 && gen->steps_done() == steps_before) {
      if (frames.in_step.size() <= size_t(steps_before)) frames.in_step.resize(size_t(steps_before) + 1, 0);
      ++frames.in_step[size_t(steps_before)];
    }
    if (capture) break;
    if (a.screenshot.empty() && !a.dump_state.empty() && done && ++frames_after_done >= a.idle_frames) break;
  }
  gen->finish();  // closed mid-run: what is written below is the run's final state
  s = gen->state();
  if (!a.screenshot.empty()) {
    if (!captured) fail("the window's image could not be captured (the surface does not allow reading it back)");
    const auto bytes = io::encode_png(win.captured(), {{"Software", "ezivk-viewer"}}, a.screenshot);
    outputs.stage(a.screenshot, [&](std::ostream& f) { f.write(reinterpret_cast<const char*>(bytes.data()), std::streamsize(bytes.size())); });
  }
  if (!a.dump_state.empty())
    outputs.stage(a.dump_state, [&](std::ostream& f) { f << state_json(s, a, frames, win.width(), win.height(), panels, win.swapchains_created()).dump(2) << "\n"; });
  outputs.commit();
  cli::fail_on_validation_messages(ctx);
  if (a.save.any() && !saved_at_end && s.status == RunState::Status::Finished) {
    saved_at_end = true;
    try {
      save_run(a.save, a.save_dir, s, a.run, state_json(s, a, frames, win.width(), win.height(), panels, win.swapchains_created()), panels.attention());
    } catch (const std::exception& e) {
      save_error = e.what();
    }
  }
  if (a.save.any() && !save_error.empty()) {
    std::fprintf(stderr, "ezivk-viewer: --save: %s\n", save_error.c_str());
    return 1;
  }
  if (s.status == RunState::Status::Failed) {
    std::fprintf(stderr, "ezivk-viewer: the run failed: %s\n", s.message.c_str());
    return 1;
  }
  return 0;
}

}  // namespace
}  // namespace ezivk::viewer

int main(int argc, char** argv) {
  ezivk::gpu::select_vulkan_driver(argc, argv);
  try {
    const auto args = ezivk::viewer::with_demo_defaults(std::vector<std::string>(argv + 1, argv + argc));
    const auto a = ezivk::viewer::parse_args(args);
    if (a.help) {
      std::fputs(ezivk::viewer::kUsage, stdout);
      return 0;
    }
    return ezivk::viewer::run_viewer(a, args);
  } catch (const ezivk::cli::UsageError& e) {
    std::fprintf(stderr, "ezivk-viewer: %s\n", e.what());
    return 2;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "ezivk-viewer: error: %s\n", e.what());
    return 1;
  }
}
