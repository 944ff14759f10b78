#include "engine/pipeline/device_preview.h"

#include <string>

#include "engine/util/error.h"

namespace ezivk::pipeline {

DevicePreview record_preview_copy(gpu::Recorder& rec, const ops::Tensor& x0, const PreviewSlot& slot) {
  const uint64_t bytes = uint64_t(x0.numel()) * 4;
  if (x0.dtype != ops::DType::F32) fail("device preview: x̂0 must be f32");
  const gpu::Slice dst = slot(bytes);
  if (dst.size < bytes) fail("device preview: the slot holds " + std::to_string(dst.size) + " bytes, x̂0 needs " + std::to_string(bytes));
  rec.order_after_earlier_submissions();
  rec.copy(x0.data, dst, bytes);
  return {dst.sub(0, bytes), x0.shape};
}

}  // namespace ezivk::pipeline
