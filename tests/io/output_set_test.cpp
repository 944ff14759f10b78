// Outputs that are never lost: OutputSet checks every path before work, keeps paths distinct, writes all final
// outputs or none, and nothing in io ever replaces what is not a regular file (a FIFO, a symlink, /dev/null).
#include <gtest/gtest.h>

#include <sys/stat.h>
#include <unistd.h>

#include "engine/io/atomic_file.h"
#include "engine/io/output_set.h"
#include "engine/io/png.h"
#include "tests/io/io_test_util.h"

namespace ezivk::io_test {
namespace {

namespace fs = std::filesystem;

void put(io::OutputSet& s, const fs::path& p, const std::string& text) {
  s.stage(p, [&](std::ostream& f) { f << text; });
}

size_t entries(const fs::path& dir) {
  size_t n = 0;
  for ([[maybe_unused]] const auto& e : fs::directory_iterator(dir)) ++n;
  return n;
}

TEST(OutputSet, WritesEveryOutputOnlyAtCommit) {
  TempDir d;
  write_bytes(d / "a.png", "old a");
  {
    io::OutputSet s;
    s.add(d / "a.png", "--out");
    s.add(d / "b.json", "--json");
    put(s, d / "a.png", "new a");
    EXPECT_EQ(read_bytes(d / "a.png"), "old a");  // staged, not visible yet
    EXPECT_FALSE(fs::exists(d / "b.json"));
    put(s, d / "b.json", "report");
    s.commit();
  }
  EXPECT_EQ(read_bytes(d / "a.png"), "new a");
  EXPECT_EQ(read_bytes(d / "b.json"), "report");
  EXPECT_EQ(entries(d.path()), 2u);  // no temporaries left
}

TEST(OutputSet, AFailedRunLeavesNothingNewAndOldFilesUntouched) {
  TempDir d;
  write_bytes(d / "a.png", "old a");
  {
    io::OutputSet s;
    s.add(d / "a.png", "--out");
    s.add(d / "b.json", "--json");
    put(s, d / "a.png", "new a");
    // The run fails here: the set goes out of scope without commit.
  }
  EXPECT_EQ(read_bytes(d / "a.png"), "old a");
  EXPECT_FALSE(fs::exists(d / "b.json"));
  EXPECT_EQ(entries(d.path()), 1u);
}

TEST(OutputSet, CommitRefusesWhenAnOutputWasNeverWritten) {
  TempDir d;
  io::OutputSet s;
  s.add(d / "a.png", "--out");
  s.add(d / "b.json", "--json");
  put(s, d / "a.png", "new a");
  EXPECT_TRUE(throws_error_with([&] { s.commit(); }, {"--json", "b.json", "never written"}));
  EXPECT_FALSE(fs::exists(d / "a.png"));
}

TEST(OutputSet, TheSamePathTwiceIsRefused) {
  TempDir d;
  io::OutputSet s;
  s.add(d / "x.png", "--out");
  EXPECT_TRUE(throws_error_with([&] { s.add(d / "x.png", "--json"); }, {"--json", "same file as --out"}));
  // Spelled differently, still the same file.
  EXPECT_TRUE(throws_error_with([&] { s.add(d.path() / "." / "x.png", "--json"); }, {"same file"}));
  fs::create_directory(d / "sub");
  EXPECT_TRUE(throws_error_with([&] { s.reserve(d / "sub" / ".." / "x.png", "round"); }, {"round", "same file"}));
}

TEST(OutputSet, PathsThatAreNotRegularFilesAreRefusedBeforeWork) {
  TempDir d;
  fs::create_directory(d / "dir");
  ASSERT_EQ(::mkfifo((d / "fifo").c_str(), 0600), 0);
  write_bytes(d / "target", "t");
  fs::create_symlink(d / "target", d / "link");
  io::OutputSet s;
  EXPECT_TRUE(throws_error_with([&] { s.add(d / "dir", "--json"); }, {"--json", "is a directory"}));
  EXPECT_TRUE(throws_error_with([&] { s.add(d / "fifo", "--json"); }, {"--json", "is a FIFO"}));
  EXPECT_TRUE(throws_error_with([&] { s.add(d / "link", "--json"); }, {"--json", "symbolic link"}));
  EXPECT_TRUE(throws_error_with([&] { s.add("/dev/null", "--json"); }, {"/dev/null", "device node"}));
  EXPECT_TRUE(throws_error_with([&] { s.add(d / "missing" / "x.png", "--out"); }, {"--out", "does not exist"}));
  EXPECT_TRUE(throws_error_with([&] { s.add(d / "target" / "x.png", "--out"); }, {"--out", "not a folder"}));
  // A folder that exists but takes no new files, even for root.
  EXPECT_TRUE(throws_error_with([&] { s.add("/proc/ezivk-out.json", "--json"); }, {"--json", "cannot create files"}));
  struct stat st {};
  ASSERT_EQ(::stat("/dev/null", &st), 0);
  EXPECT_TRUE(S_ISCHR(st.st_mode));
  EXPECT_EQ(entries(d.path()), 4u);  // no probe file left behind
}

TEST(AtomicFile, NeverReplacesWhatIsNotARegularFile) {
  TempDir d;
  ASSERT_EQ(::mkfifo((d / "fifo").c_str(), 0600), 0);
  write_bytes(d / "target", "keep");
  fs::create_symlink(d / "target", d / "link");
  auto write = [](const fs::path& p) { io::write_file_atomically(p, [](std::ostream& f) { f << "x"; }); };
  EXPECT_TRUE(throws_error_with([&] { write(d / "fifo"); }, {"fifo", "FIFO"}));
  EXPECT_TRUE(throws_error_with([&] { write(d / "link"); }, {"link", "symbolic link"}));
  EXPECT_TRUE(throws_error_with([&] { write("/dev/null"); }, {"/dev/null", "device node"}));
  EXPECT_TRUE(fs::is_fifo(fs::symlink_status(d / "fifo")));
  EXPECT_TRUE(fs::is_symlink(fs::symlink_status(d / "link")));
  EXPECT_EQ(read_bytes(d / "target"), "keep");
  EXPECT_EQ(entries(d.path()), 3u);
  // Regular files are replaced, and a leftover temporary of an older run with the same pid is never reused.
  write(d / "target");
  EXPECT_EQ(read_bytes(d / "target"), "x");
}

TEST(AtomicFile, PngWritesGoThroughTheSameCheck) {
  TempDir d;
  ASSERT_EQ(::mkfifo((d / "img.png").c_str(), 0600), 0);
  io::Image8 img{2, 2, 3, std::vector<uint8_t>(12, 7)};
  EXPECT_TRUE(throws_error_with([&] { io::write_png(d / "img.png", img); }, {"img.png", "FIFO"}));
  EXPECT_TRUE(fs::is_fifo(fs::symlink_status(d / "img.png")));
}

}  // namespace
}  // namespace ezivk::io_test
