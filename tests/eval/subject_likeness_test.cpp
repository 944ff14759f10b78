// eval::subject_likeness: hue bins, which pixels count, the intersection on pictures whose answer follows from
// how they were built, and seeded random pictures against a second, independently written hue (colorsys's
// formulation).
#include "engine/eval/subject_likeness.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>

#include "engine/util/error.h"

namespace ezivk::test {
namespace {

io::Image8 filled(int w, int h, std::array<uint8_t, 3> rgb) {
  io::Image8 im{w, h, 3, std::vector<uint8_t>(size_t(w) * size_t(h) * 3)};
  for (size_t i = 0; i < im.pixels.size(); ++i) im.pixels[i] = rgb[i % 3];
  return im;
}

void paint(io::Image8& im, int x0, int y0, int x1, int y1, std::array<uint8_t, 3> rgb) {
  for (int y = y0; y < y1; ++y)
    for (int x = x0; x < x1; ++x)
      std::copy(rgb.begin(), rgb.end(), im.pixels.begin() + (size_t(y) * size_t(im.width) + size_t(x)) * 3);
}

// HSV (h in degrees, s, v in 0..1) to bytes, the textbook sector formula.
std::array<uint8_t, 3> hsv(double h, double s, double v) {
  const double c = v * s, hp = h / 60.0, x = c * (1 - std::fabs(std::fmod(hp, 2.0) - 1)), m = v - c;
  double r = 0, g = 0, b = 0;
  if (hp < 1) r = c, g = x;
  else if (hp < 2) r = x, g = c;
  else if (hp < 3) g = c, b = x;
  else if (hp < 4) g = x, b = c;
  else if (hp < 5) r = x, b = c;
  else r = c, b = x;
  auto q = [&](double u) { return uint8_t(std::lround((u + m) * 255.0)); };
  return {q(r), q(g), q(b)};
}

TEST(SubjectLikeness, BinCentresTakeTheWholeVote) {
  for (int bin : {0, 3, 12, 21, 35}) {
    int counted = 0;
    const auto h = eval::hue_histogram(filled(5, 3, hsv(bin * 10.0 + 5.0, 0.9, 0.9)), {}, &counted);
    EXPECT_EQ(counted, 15);
    EXPECT_NEAR(h[size_t(bin)], 1.0, 0.03) << bin;  // bytes round the hue by a fraction of a degree
  }
  // On a bin edge the vote splits in half; 0 degrees (pure red) shares it between the last bin and the first.
  const auto red = eval::hue_histogram(filled(2, 2, {255, 0, 0}), {});
  EXPECT_NEAR(red[0], 0.5, 1e-9);
  EXPECT_NEAR(red[35], 0.5, 1e-9);
}

TEST(SubjectLikeness, GreyDarkAndWhitePixelsDoNotCount) {
  io::Image8 im = filled(10, 1, {128, 128, 128});   // grey: no saturation
  paint(im, 0, 0, 2, 1, {20, 5, 5});                 // dark red: below the value floor
  paint(im, 2, 0, 4, 1, {250, 250, 250});            // white
  paint(im, 4, 0, 5, 1, {200, 160, 150});            // pale: saturation 0.25
  paint(im, 5, 0, 7, 1, hsv(125, 0.8, 0.6));         // counts
  int counted = -1;
  const auto h = eval::hue_histogram(im, {}, &counted);
  EXPECT_EQ(counted, 2);
  EXPECT_NEAR(h[12], 1.0, 0.02);
}

TEST(SubjectLikeness, IntersectionOfBuiltPictures) {
  const auto red = hsv(5, 0.85, 0.85), blue = hsv(225, 0.8, 0.85), grass = hsv(115, 0.6, 0.65);
  io::Image8 subject = filled(20, 20, {255, 255, 255});
  paint(subject, 5, 5, 15, 15, red);
  // Every subject pixel is red: a picture half red half grass covers half of it, an all-red picture all of it.
  io::Image8 half = filled(20, 20, grass);
  paint(half, 0, 0, 10, 20, red);
  EXPECT_NEAR(eval::subject_likeness(subject, half, "s"), 0.5, 0.02);
  EXPECT_NEAR(eval::subject_likeness(subject, filled(8, 8, red), "s"), 1.0, 0.02);
  EXPECT_NEAR(eval::subject_likeness(subject, filled(8, 8, blue), "s"), 0.0, 1e-9);
  // White, grey and black around the red do not dilute it: they are not coloured.
  io::Image8 framed = filled(20, 20, {0, 0, 0});
  paint(framed, 0, 0, 20, 5, {255, 255, 255});
  paint(framed, 0, 15, 20, 20, {120, 120, 120});
  paint(framed, 8, 8, 9, 9, red);
  EXPECT_NEAR(eval::subject_likeness(subject, framed, "s"), 1.0, 0.02);
  // Striped subject (3/4 red, 1/4 blue) in an all-red picture: three quarters covered.
  io::Image8 striped = filled(20, 20, {255, 255, 255});
  paint(striped, 4, 4, 16, 16, red);
  paint(striped, 4, 4, 16, 7, blue);
  EXPECT_NEAR(eval::subject_likeness(striped, filled(4, 4, red), "s"), 0.75, 0.02);
}

// colorsys.rgb_to_hsv's formulation of the hexcone hue, written separately from the engine's.
double colorsys_hue_deg(double r, double g, double b) {
  const double maxc = std::max({r, g, b}), minc = std::min({r, g, b});
  const double rc = (maxc - r) / (maxc - minc), gc = (maxc - g) / (maxc - minc), bc = (maxc - b) / (maxc - minc);
  double h = r == maxc ? bc - gc : g == maxc ? 2.0 + rc - bc : 4.0 + gc - rc;
  h = std::fmod(h / 6.0, 1.0);
  if (h < 0) h += 1.0;
  return h * 360.0;
}

TEST(SubjectLikeness, SeededRandomPicturesMatchASecondImplementation) {
  std::mt19937 rng(20261130);
  std::uniform_int_distribution<int> byte(0, 255);
  for (int trial = 0; trial < 6; ++trial) {
    const int w = 17 + trial * 3, h = 11 + trial;  // odd sizes
    io::Image8 a{w, h, 3, {}}, b{w + 2, h + 5, 3, {}};
    for (auto* im : {&a, &b}) {
      im->pixels.resize(size_t(im->width) * size_t(im->height) * 3);
      for (auto& p : im->pixels) p = uint8_t(byte(rng));
    }
    // Half of the subject's pixels white, as a subject on paper.
    for (size_t i = 0; i < a.pixels.size() / 3; i += 2) a.pixels[i * 3] = a.pixels[i * 3 + 1] = a.pixels[i * 3 + 2] = 250;
    auto reference = [](const io::Image8& im, bool fg) {
      eval::HueHistogram hist{};
      int n = 0;
      for (size_t i = 0; i < im.pixels.size() / 3; ++i) {
        const int R = im.pixels[i * 3], G = im.pixels[i * 3 + 1], B = im.pixels[i * 3 + 2];
        if (fg && R >= 235 && G >= 235 && B >= 235) continue;
        const double r = R / 255.0, g = G / 255.0, b = B / 255.0, v = std::max({r, g, b});
        if (v < 0.25 || (v - std::min({r, g, b})) / v < 0.35) continue;
        const double pos = colorsys_hue_deg(r, g, b) / 10.0 - 0.5;
        const double lo = std::floor(pos);
        hist[size_t((int(lo) + 36) % 36)] += 1.0 - (pos - lo);
        hist[size_t((int(lo) + 37) % 36)] += pos - lo;
        ++n;
      }
      for (auto& x : hist) x /= n;
      return hist;
    };
    const auto ra = reference(a, true), rb = reference(b, false);
    double want = 0;
    for (size_t i = 0; i < 36; ++i) want += std::min(ra[i], rb[i]);
    EXPECT_NEAR(eval::subject_likeness(a, b, "s"), want, 1e-5) << trial;
    eval::HueOptions fg;
    fg.foreground_only = true;
    const auto ha = eval::hue_histogram(a, fg);
    for (size_t i = 0; i < 36; ++i) EXPECT_NEAR(ha[i], ra[i], 1e-5) << trial << " bin " << i;
  }
}

TEST(SubjectLikeness, ASubjectWithNothingColouredIsNamed) {
  io::Image8 paper = filled(8, 8, {255, 255, 255});
  paint(paper, 2, 2, 4, 4, {90, 90, 90});
  try {
    eval::subject_likeness(paper, filled(4, 4, {255, 0, 0}), "subjects/grey.png");
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("subjects/grey.png"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace ezivk::test
