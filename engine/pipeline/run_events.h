#pragma once
// The way every pipeline ends: a body that returns its result, with a cancellation reported as CancelledEvent
// and any other failure as Failed before it propagates.
#include <exception>

#include "engine/pipeline/cancel.h"
#include "engine/pipeline/events.h"

namespace ezivk::pipeline {

template <class Body>
auto reporting_failures(const EventSink& events, Body&& body) -> decltype(body()) {
  try {
    return body();
  } catch (const Cancelled&) {
    if (events) events(CancelledEvent{});
    throw;
  } catch (const std::exception& e) {
    if (events) events(Failed{e.what()});
    throw;
  }
}

}  // namespace ezivk::pipeline
