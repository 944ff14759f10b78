// The test binary's entry point: onto the private lavapipe first (as every ezivk program), then GoogleTest.
#include <gtest/gtest.h>

#include "engine/gpu/private_driver.h"
#include "support/gpu_fixture.h"

int main(int argc, char** argv) {
  ezivk::gpu::select_vulkan_driver(argc, argv);
  ::testing::InitGoogleTest(&argc, argv);
  const int rc = RUN_ALL_TESTS();
  // Vulkan objects must go while the validation layer is still whole: its statics are destroyed before ours.
  ezivk::test::release_contexts();
  return rc;
}
