#pragma once
// The op benchmark's cases, runner and report formatting (used by `ezivk bench ops`).
#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "engine/gpu/context.h"
#include "engine/ops/tensor.h"

namespace ezivk::cli {

struct BenchConfig {
  bool quick = false;
  int repeat = 1;
  std::string filter;
  ops::DType dtype = ops::DType::F16;
  bool profile = false;  // print every dispatch's GPU time
};

struct BenchRow {
  std::string op, shape;
  double ms = 0;
  double gflops = 0;   // 0 for memory-bound rows
  double gbytes = 0;   // GB/s for memory-bound rows
  double fraction = 0; // of the matching measured peak
};

struct BenchReport {
  std::string device, driver, dtype;
  double peak_gflops = 0, peak_gemm_gflops = 0, peak_gbps = 0;
  std::vector<BenchRow> rows;
  std::string summary;
};

BenchReport run_op_benchmarks(gpu::Context& ctx, const BenchConfig& cfg, const std::function<void(const BenchRow&)>& on_row);
std::string format_row(const BenchRow& r);
std::string format_report(const BenchReport& r);
nlohmann::json report_json(const BenchReport& r);

}  // namespace ezivk::cli
