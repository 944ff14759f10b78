#pragma once
// Reading ezivk's switches from the environment.
#include <cstdlib>
#include <cstring>

namespace ezivk {

// A switch such as EZIVK_NO_COOPMAT=1: set, non-empty and not "0".
inline bool env_flag(const char* name) {
  const char* v = std::getenv(name);
  return v && *v && std::strcmp(v, "0") != 0;
}

}  // namespace ezivk
