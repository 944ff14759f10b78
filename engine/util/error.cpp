#include "engine/util/error.h"

namespace ezivk {

void fail(const std::string& message) { throw Error(message); }

}  // namespace ezivk
