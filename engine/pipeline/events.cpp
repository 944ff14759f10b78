#include "engine/pipeline/events.h"

namespace ezivk::pipeline {

const char* phase_name(Phase p) {
  switch (p) {
    case Phase::Text: return "text";
    case Phase::Sketch: return "sketch";
    case Phase::Transfer: return "transfer";
    case Phase::Round: return "round";
    case Phase::Inversion: return "inversion";
    case Phase::Subject: return "subject";
  }
  return "?";
}

}  // namespace ezivk::pipeline
