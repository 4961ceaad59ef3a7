// Errors raised by native code. The binding turns every one into a JavaScript Error;
// native code never aborts the process on bad input.
#pragma once
#include <stdexcept>
#include <string>

namespace alexnet {

struct OpError : std::runtime_error {
  explicit OpError(const std::string& what) : std::runtime_error(what) {}
};

}  // namespace alexnet
