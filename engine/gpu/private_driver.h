#pragma once
// Running on the private Mesa 26 lavapipe that tools/setup.sh provisions (.deps/mesa), on machines whose own
// Vulkan driver is a CPU driver without cooperative matrices (Debian 12's Mesa 25).
//
// That lavapipe needs glibc >= 2.39, so it cannot be loaded into a process running on the system's libc. A
// program that wants it calls select_vulkan_driver() first thing in main(): when the machine has no GPU and no
// CPU driver with cooperative matrices, and the prefix's manifest exists, the process re-executes itself
// through the prefix's dynamic loader (same executable, same arguments, same pid) with the Vulkan loader
// pointed at the private driver and validation layer. Everything else returns at once.
//
// Environment: EZIVK_SYSTEM_VULKAN=1 keeps the system driver; EZIVK_PRIVATE_VULKAN=FILE names another
// manifest. VK_DRIVER_FILES / VK_ICD_FILENAMES set by the user mean the user chose a driver: it is kept.
#include <string>

namespace ezivk::gpu {

// May not return: replaces the process image when the private driver is to be used. argv must be main's.
void select_vulkan_driver(int argc, char** argv);

// One line saying which driver this process runs on and why (for `ezivk devices`).
std::string vulkan_driver_choice();

// True when this process was re-executed onto the private driver.
bool on_private_vulkan_driver();

}  // namespace ezivk::gpu
