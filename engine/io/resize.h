#pragma once
// Resizing 8-bit images exactly as PIL's Image.resize(size, Image.BILINEAR) does (what torchvision's Resize does
// to a PIL image, hence what EZIGen's reference feeds its VAE): a triangle filter whose support widens by the
// scale when shrinking (antialiasing), coefficients normalised per output pixel and rounded to 22-bit fixed
// point, a horizontal pass into 8-bit rows and then a vertical pass, each rounding and clamping to 0..255.
#include <vector>

#include "engine/io/image.h"

namespace ezivk::io {

// PIL's filters: BILINEAR (triangle, support 1) and BICUBIC (Keys' cubic with a = −0.5, support 2; CLIP's image
// preprocessing uses it).
enum class PilFilter { Bilinear, Bicubic };

// Any channel count (RGB, RGBA: channels are filtered independently, as PIL does for RGB; PIL premultiplies
// RGBA, so flatten alpha before resizing when it matters). Sizes 1..8192.
Image8 resize_pil(const Image8& src, int width, int height, PilFilter filter);
inline Image8 resize_bilinear(const Image8& src, int width, int height) {
  return resize_pil(src, width, height, PilFilter::Bilinear);
}

// A float plane [in_h, in_w] resized as torch's F.interpolate(mode="bilinear", align_corners=False) does: source
// coordinate (o + 0.5)·in/out − 0.5 clamped at 0, no antialiasing when shrinking. For masks, not pictures.
std::vector<float> resize_plane_bilinear(const std::vector<float>& src, int in_h, int in_w, int out_h, int out_w);

}  // namespace ezivk::io
