#include "methods/backbone/backbone.h"

#include "core/error.h"

namespace vdlab {

void Backbone::throw_missing_capability(const std::string& name, const std::string& needed_by) const {
  const Json identity = describe();
  const std::string backbone = identity.is_object() ? identity.value("name", std::string("?")) : std::string("?");
  std::string offers;
  for (const auto& c : capabilities()) offers += (offers.empty() ? "" : ", ") + c;
  throw ConfigError("backbone '" + backbone + "' has no " + name + (needed_by.empty() ? "" : " (needed by " + needed_by + ")") +
                    "; it offers: " + (offers.empty() ? "none" : offers));
}

}  // namespace vdlab
