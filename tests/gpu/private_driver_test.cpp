// Re-executing onto the private Mesa 26 lavapipe (engine/gpu/private_driver.h). The decision and the exec are
// exercised in child processes of this test binary with a fake manifest whose "loader" is a script that
// records how it was started, so the test needs neither the real prefix nor a particular machine.
#include <gtest/gtest.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "engine/gpu/private_driver.h"
#include "support/gpu_fixture.h"

extern char** environ;

namespace ezivk::test {
namespace {

namespace fs = std::filesystem;

TEST(PrivateDriver, ThisProcessSaysWhichDriverItRunsOn) {
  const std::string choice = gpu::vulkan_driver_choice();
  EXPECT_EQ(choice.find("was not called"), std::string::npos) << choice;
  if (gpu::on_private_vulkan_driver()) {
    EXPECT_EQ(choice.rfind("private lavapipe (Mesa ", 0), 0u) << choice;
    // The device really is that driver, and it has what the prefix is for.
    EXPECT_NE(shared_context().caps().driver_info.find("Mesa"), std::string::npos);
    EXPECT_TRUE(shared_context().caps().has_coopmat_extension);
  } else {
    EXPECT_EQ(choice.rfind("system Vulkan", 0), 0u) << choice;
  }
}

// What the child of RunChild reported: the fake loader's argv and environment, or STAYED and the choice.
struct ChildReport {
  std::vector<std::string> args;
  std::map<std::string, std::string> env;
  std::string stayed;  // non-empty when the child did not re-execute
  pid_t pid = 0;
};

class PrivateDriverExec : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("ezivk_private_driver_" + std::to_string(::getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    out_ = dir_ / "report.txt";
    const fs::path loader = dir_ / "fake-ld.so";
    {
      std::ofstream f(loader);
      f << "#!/bin/sh\n"
        << "{ for a in \"$@\"; do echo \"ARG $a\"; done\n"
        << "  for v in VK_DRIVER_FILES VK_ICD_FILENAMES VK_LAYER_PATH NODEVICE_SELECT EZIVK_PRIVATE_VULKAN_ACTIVE "
           "EZIVK_SAVED_VK_LAYER_PATH; do eval \"echo ENV $v=\\$$v\"; done; } > '"
        << out_.string() << "'\n";
    }
    fs::permissions(loader, fs::perms::owner_all);
    std::ofstream(dir_ / "icd.json") << "{}\n";
    fs::create_directories(dir_ / "lib1");
    fs::create_directories(dir_ / "lib2");
    std::ofstream(dir_ / "lib2" / "libc.so.6") << "";  // the prefix's libc must be on its library path
    lib_path_ = (dir_ / "lib1").string() + ":" + (dir_ / "lib2").string();
    manifest_ = dir_ / "manifest.txt";
    std::ofstream(manifest_) << "# test\ndriver_info=Mesa 99.0 (fake)\nloader=" << loader.string()
                             << "\nlibrary_path=" << lib_path_ << "\nicd=" << (dir_ / "icd.json").string()
                             << "\nlayer_path=/fake/layers\n";
  }
  void TearDown() override { fs::remove_all(dir_); }

  // Starts this test binary running only PrivateDriverChild.DISABLED_Stay, with the driver variables of this
  // process removed and `extra` added.
  ChildReport run_child(const std::vector<std::string>& extra) {
    std::vector<std::string> env;
    for (char** e = environ; *e; ++e) {
      const std::string kv = *e;
      const std::string key = kv.substr(0, kv.find('='));
      if (key.rfind("VK_", 0) == 0 || key.rfind("EZIVK_PRIVATE", 0) == 0 || key.rfind("EZIVK_SAVED_", 0) == 0 ||
          key == "NODEVICE_SELECT" || key == "EZIVK_SYSTEM_VULKAN" || key == "LD_LIBRARY_PATH")
        continue;
      env.push_back(kv);
    }
    env.push_back("EZIVK_PRIVATE_VULKAN=" + manifest_.string());
    env.push_back("EZIVK_TEST_REPORT=" + out_.string());
    for (const auto& e : extra) env.push_back(e);
    std::vector<char*> envp;
    for (auto& e : env) envp.push_back(e.data());
    envp.push_back(nullptr);
    std::string exe = ::testing::internal::GetArgvs()[0];
    std::vector<std::string> args = {exe, "--gtest_filter=PrivateDriverChild.DISABLED_Stay", "--gtest_also_run_disabled_tests"};
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    ChildReport r;
    EXPECT_EQ(posix_spawn(&r.pid, exe.c_str(), nullptr, nullptr, argv.data(), envp.data()), 0);
    int status = 0;
    waitpid(r.pid, &status, 0);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "child status " << status;
    std::ifstream f(out_);
    std::string line;
    while (std::getline(f, line)) {
      if (line.rfind("ARG ", 0) == 0) r.args.push_back(line.substr(4));
      if (line.rfind("ENV ", 0) == 0) {
        const size_t eq = line.find('=');
        r.env[line.substr(4, eq - 4)] = line.substr(eq + 1);
      }
      if (line.rfind("STAYED ", 0) == 0) r.stayed = line.substr(7);
    }
    return r;
  }

  fs::path dir_, out_, manifest_;
  std::string lib_path_;
};

TEST_F(PrivateDriverExec, ReexecutesThroughThePrefixLoaderWithTheSameArguments) {
  const ChildReport r = run_child({});
  if (!r.stayed.empty()) {
    ASSERT_NE(r.stayed.find("system driver"), std::string::npos) << r.stayed;
    GTEST_SKIP() << "this machine has a better driver: " << r.stayed;
  }
  const std::string exe = fs::canonical(::testing::internal::GetArgvs()[0]).string();
  const std::vector<std::string> want = {"--argv0", ::testing::internal::GetArgvs()[0], "--library-path", lib_path_, exe,
                                         "--gtest_filter=PrivateDriverChild.DISABLED_Stay", "--gtest_also_run_disabled_tests"};
  EXPECT_EQ(r.args, want);
  EXPECT_EQ(r.env.at("VK_DRIVER_FILES"), (dir_ / "icd.json").string());
  EXPECT_EQ(r.env.at("VK_ICD_FILENAMES"), (dir_ / "icd.json").string());
  EXPECT_EQ(r.env.at("VK_LAYER_PATH"), "/fake/layers");
  EXPECT_EQ(r.env.at("NODEVICE_SELECT"), "1");
  // exec keeps the pid: that is how the re-executed process knows it is the one.
  EXPECT_EQ(r.env.at("EZIVK_PRIVATE_VULKAN_ACTIVE"), std::to_string(r.pid));
}

TEST_F(PrivateDriverExec, AChildOfAReexecutedProcessGetsTheUsersVariablesBack) {
  // As if the parent (another pid) had been re-executed with the user's own VK_LAYER_PATH saved.
  const ChildReport r = run_child({"EZIVK_PRIVATE_VULKAN_ACTIVE=1", "VK_LAYER_PATH=/private/layers",
                                   "VK_DRIVER_FILES=/private/icd.json", "EZIVK_SAVED_VK_LAYER_PATH=/user/layers"});
  if (!r.stayed.empty()) GTEST_SKIP() << "this machine has a better driver: " << r.stayed;
  // VK_DRIVER_FILES was the parent's, not the user's: it did not count as the user's choice of driver.
  EXPECT_EQ(r.env.at("VK_DRIVER_FILES"), (dir_ / "icd.json").string());
  EXPECT_EQ(r.env.at("VK_LAYER_PATH"), "/fake/layers");
  EXPECT_EQ(r.env.at("EZIVK_SAVED_VK_LAYER_PATH"), "/user/layers");
}

TEST_F(PrivateDriverExec, TheUsersLibraryPathComesAfterThePrefixs) {
  const ChildReport r = run_child({"LD_LIBRARY_PATH=/user/lib"});
  if (!r.stayed.empty()) GTEST_SKIP() << "this machine has a better driver: " << r.stayed;
  ASSERT_GE(r.args.size(), 4u);
  EXPECT_EQ(r.args[3], lib_path_ + ":/user/lib");
}

TEST_F(PrivateDriverExec, SwitchesThatKeepTheSystemDriver) {
  EXPECT_EQ(run_child({"EZIVK_SYSTEM_VULKAN=1"}).stayed, "system Vulkan driver (EZIVK_SYSTEM_VULKAN=1)");
  EXPECT_NE(run_child({"VK_DRIVER_FILES=/some/icd.json"}).stayed.find("VK_DRIVER_FILES"), std::string::npos);
  fs::remove(dir_ / "lib2" / "libc.so.6");
  EXPECT_NE(run_child({}).stayed.find("files are missing"), std::string::npos);
  std::ofstream(dir_ / "lib1" / "libc.so.6") << "";
  fs::remove(dir_ / "fake-ld.so");
  EXPECT_NE(run_child({}).stayed.find("files are missing"), std::string::npos);
  fs::remove(manifest_);
  EXPECT_NE(run_child({}).stayed.find("no private lavapipe"), std::string::npos);
}

// Runs only in the children above (disabled otherwise): reports that the process was not re-executed.
TEST(PrivateDriverChild, DISABLED_Stay) {
  const char* out = std::getenv("EZIVK_TEST_REPORT");
  ASSERT_NE(out, nullptr);
  std::ofstream(out) << "STAYED " << gpu::vulkan_driver_choice() << "\n";
}

}  // namespace
}  // namespace ezivk::test
