#include "tools/ezivk/bench_case.h"

namespace ezivk::cli {

void add_extra_op_benchmarks(gpu::Context&, ops::DType, int, std::vector<CaseMaker>&) {}

}  // namespace ezivk::cli
