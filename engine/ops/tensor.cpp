#include "engine/ops/tensor.h"

#include "engine/util/error.h"

namespace ezivk::ops {

std::string shape_string(const std::vector<int64_t>& s) {
  std::string o = "[";
  for (size_t i = 0; i < s.size(); ++i) o += (i ? ", " : "") + std::to_string(s[i]);
  return o + "]";
}

void expect_shape(const char* op, const char* what, const Tensor& t, std::initializer_list<int64_t> want) {
  bool ok = t.shape.size() == want.size();
  size_t i = 0;
  for (auto w : want) {
    if (!ok) break;
    if (w >= 0 && t.shape[i] != w) ok = false;
    ++i;
  }
  if (!ok) fail(std::string(op) + ": " + what + " must be " + shape_string(std::vector<int64_t>(want)) + ", got " + shape_string(t.shape));
  expect_fits(op, what, t);
}

void expect_dtype(const char* op, const char* what, const Tensor& t, DType want) {
  if (t.dtype != want) fail(std::string(op) + ": " + what + " must be " + dtype_name(want) + ", got " + dtype_name(t.dtype));
}

void expect_fits(const char* op, const char* what, const Tensor& t) {
  for (auto d : t.shape)
    if (d <= 0) fail(std::string(op) + ": " + what + " has an empty or negative dimension " + shape_string(t.shape));
  if (t.bytes() > t.data.size)
    fail(std::string(op) + ": " + what + " " + shape_string(t.shape) + " needs " + std::to_string(t.bytes()) +
         " bytes but its buffer holds " + std::to_string(t.data.size));
}

}  // namespace ezivk::ops
