#pragma once
// A typed view of device memory: what every op takes. Row-major, contiguous; shape outermost first.
#include <cstdint>
#include <initializer_list>
#include <string>
#include <vector>

#include "engine/gpu/memory.h"

namespace ezivk::ops {

enum class DType { F32, F16 };
inline size_t dtype_bytes(DType t) { return t == DType::F16 ? 2 : 4; }
inline const char* dtype_name(DType t) { return t == DType::F16 ? "f16" : "f32"; }

struct Tensor {
  gpu::Slice data;
  DType dtype = DType::F32;
  std::vector<int64_t> shape;

  int64_t numel() const {
    int64_t n = 1;
    for (auto d : shape) n *= d;
    return n;
  }
  int64_t dim(int i) const { return shape.at(i < 0 ? shape.size() + i : size_t(i)); }
  size_t rank() const { return shape.size(); }
  uint64_t bytes() const { return uint64_t(numel()) * dtype_bytes(dtype); }
};

std::string shape_string(const std::vector<int64_t>& s);

// Throws Error "<op>: <what> must be <want>, got <shape>" unless t has exactly that shape (-1 = any).
void expect_shape(const char* op, const char* what, const Tensor& t, std::initializer_list<int64_t> want);
void expect_dtype(const char* op, const char* what, const Tensor& t, DType want);
// The bytes behind the tensor must hold numel elements.
void expect_fits(const char* op, const char* what, const Tensor& t);

}  // namespace ezivk::ops
