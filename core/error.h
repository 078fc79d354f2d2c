#pragma once
// Errors that reach the user. Every one names its culprit (a file, a config field path, a registry
// name) so the CLI can print one clear line and exit non-zero.
#include <stdexcept>
#include <string>

namespace vdlab {

class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Bad experiment file or override: malformed YAML, unknown field, wrong type, bad value.
class ConfigError : public Error {
 public:
  using Error::Error;
};

// A file that is missing, unreadable or corrupt.
class IoError : public Error {
 public:
  using Error::Error;
};

// A numeric failure during a run (NaN from a model, a diverged training loss).
class NumericError : public Error {
 public:
  using Error::Error;
};

}  // namespace vdlab
