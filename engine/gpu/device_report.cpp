#include "engine/gpu/device_report.h"

#include <cstdio>
#include <sstream>

#include "engine/gpu/memory.h"

namespace ezivk::gpu {

static std::string coopmat_shape_text(const CoopMatShape& s) {
  char buf[128];
  std::snprintf(buf, sizeof buf, "%ux%ux%u %s*%s+%s->%s%s%s", s.m, s.n, s.k, scalar_type_name(s.a), scalar_type_name(s.b),
                scalar_type_name(s.c), scalar_type_name(s.result), s.saturating ? " sat" : "",
                s.subgroup_scope ? "" : " (non-subgroup scope)");
  return buf;
}

nlohmann::json caps_to_json(const DeviceCaps& c) {
  nlohmann::json j;
  j["index"] = c.index;
  j["name"] = c.name;
  j["type"] = device_type_name(c.type);
  j["driver"] = {{"name", c.driver_name}, {"info", c.driver_info}, {"version", c.driver_version}};
  j["vulkan_version"] = version_string(c.api_version);
  j["vendor_id"] = c.vendor_id;
  j["device_id"] = c.device_id;
  nlohmann::json heaps = nlohmann::json::array();
  for (const auto& h : c.heaps) heaps.push_back({{"bytes", h.size}, {"device_local", h.device_local}});
  j["memory_heaps"] = heaps;
  j["subgroup"] = {{"default", c.subgroup_size}, {"min", c.min_subgroup_size}, {"max", c.max_subgroup_size},
                   {"arithmetic", c.subgroup_arithmetic}, {"shuffle", c.subgroup_shuffle}, {"ballot", c.subgroup_ballot}, {"size_control", c.subgroup_size_control}};
  j["fp16_arithmetic"] = c.shader_float16;
  j["int8_arithmetic"] = c.shader_int8;
  j["storage_16bit"] = c.storage_16bit;
  j["storage_8bit"] = c.storage_8bit;
  j["vulkan_memory_model"] = c.vulkan_memory_model;
  j["shared_memory_bytes"] = c.max_shared_memory;
  j["max_workgroup_invocations"] = c.max_workgroup_invocations;
  j["max_storage_buffer_range"] = c.max_storage_buffer_range;
  j["timestamp_period_ns"] = c.timestamp_period_ns;
  j["timestamp_valid_bits"] = c.timestamp_valid_bits;
  nlohmann::json qf = nlohmann::json::array();
  for (const auto& f : c.queue_families)
    qf.push_back({{"compute", (f.flags & VK_QUEUE_COMPUTE_BIT) != 0}, {"graphics", (f.flags & VK_QUEUE_GRAPHICS_BIT) != 0},
                  {"transfer", (f.flags & VK_QUEUE_TRANSFER_BIT) != 0}, {"count", f.count}});
  j["queue_families"] = qf;
  nlohmann::json cm = nlohmann::json::array();
  for (const auto& s : c.coopmat_shapes)
    cm.push_back({{"m", s.m}, {"n", s.n}, {"k", s.k}, {"a", scalar_type_name(s.a)}, {"b", scalar_type_name(s.b)},
                  {"c", scalar_type_name(s.c)}, {"result", scalar_type_name(s.result)}, {"saturating", s.saturating},
                  {"subgroup_scope", s.subgroup_scope}});
  j["cooperative_matrix"] = {{"extension", c.has_coopmat_extension}, {"shapes", cm}};
  return j;
}

std::string caps_to_text(const DeviceCaps& c) {
  std::ostringstream o;
  auto yn = [](bool b) { return b ? "yes" : "no"; };
  o << "[" << c.index << "] " << c.name << "\n";
  o << "    type              " << device_type_name(c.type) << "\n";
  o << "    driver            " << c.driver_name << " (" << c.driver_info << ")\n";
  o << "    vulkan            " << version_string(c.api_version) << "\n";
  o << "    memory heaps      ";
  for (size_t i = 0; i < c.heaps.size(); ++i)
    o << (i ? ", " : "") << format_bytes(c.heaps[i].size) << (c.heaps[i].device_local ? " device-local" : " host");
  o << "\n";
  o << "    subgroup size     " << c.subgroup_size << " (min " << c.min_subgroup_size << ", max " << c.max_subgroup_size
    << "; arithmetic " << yn(c.subgroup_arithmetic) << ", shuffle " << yn(c.subgroup_shuffle) << ", ballot " << yn(c.subgroup_ballot) << ")\n";
  o << "    fp16 arithmetic   " << yn(c.shader_float16) << "    int8 arithmetic " << yn(c.shader_int8) << "\n";
  o << "    16-bit storage    " << yn(c.storage_16bit) << "    8-bit storage   " << yn(c.storage_8bit) << "\n";
  o << "    shared memory     " << format_bytes(c.max_shared_memory) << " per workgroup, " << c.max_workgroup_invocations
    << " invocations max\n";
  o << "    timestamps        " << (c.timestamp_valid_bits ? std::to_string(c.timestamp_valid_bits) + " bits, " : "none, ")
    << c.timestamp_period_ns << " ns/tick\n";
  o << "    queue families    ";
  for (size_t i = 0; i < c.queue_families.size(); ++i) o << (i ? ", " : "") << queue_family_name(c.queue_families[i]);
  o << "\n";
  o << "    cooperative matrix ";
  if (!c.has_coopmat_extension) {
    o << "not offered (VK_KHR_cooperative_matrix absent)\n";
  } else {
    o << c.coopmat_shapes.size() << " shapes\n";
    for (const auto& s : c.coopmat_shapes) o << "        " << coopmat_shape_text(s) << "\n";
  }
  return o.str();
}

}  // namespace ezivk::gpu
