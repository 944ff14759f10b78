// A directory or FIFO where a file is expected is reported as what it is, by every reader, without blocking on
// the FIFO.
#include <gtest/gtest.h>

#include <sys/stat.h>

#include "engine/io/file_check.h"
#include "engine/io/image_file.h"
#include "engine/io/json_file.h"
#include "engine/io/npy.h"
#include "engine/io/safetensors.h"
#include "tests/io/io_test_util.h"

namespace ezivk::io_test {
namespace {

TEST(FileCheck, NamesWhatIsThereInsteadOfAFile) {
  TempDir d;
  std::filesystem::create_directory(d / "dir.npy");
  ASSERT_EQ(::mkfifo((d / "fifo.png").c_str(), 0600), 0);
  write_bytes(d / "file", "x");
  EXPECT_EQ(io::not_a_file_reason(d / "file"), "");
  EXPECT_EQ(io::not_a_file_reason(d / "dir.npy"), "is a directory");
  EXPECT_EQ(io::not_a_file_reason(d / "fifo.png"), "is a FIFO");
  EXPECT_EQ(io::not_a_file_reason(d / "none"), "does not exist");
  EXPECT_EQ(io::not_a_file_reason(d / "file" / "below"), "does not exist");
  EXPECT_EQ(io::not_a_file_reason("/dev/null"), "is a device node");

  EXPECT_TRUE(throws_error_with([&] { io::read_npy(d / "dir.npy"); }, {"dir.npy", "is a directory", ".npy"}));
  EXPECT_TRUE(throws_error_with([&] { io::read_image(d / "fifo.png"); }, {"fifo.png", "is a FIFO"}));
  EXPECT_TRUE(throws_error_with([&] { io::JsonFile(d / "dir.npy"); }, {"is a directory", "JSON"}));
  EXPECT_TRUE(throws_error_with([&] { io::SafetensorsFile(d / "fifo.png"); }, {"fifo.png", "is a FIFO"}));
  EXPECT_TRUE(throws_error_with([&] { io::read_npy(d / "none.npy"); }, {"none.npy", "does not exist"}));
}

}  // namespace
}  // namespace ezivk::io_test
