// A name -> factory table for the simulator's swappable components (DRAM models, top-k
// engines), in the manner of ramulator2's registered implementations: the configuration
// names an implementation, and an unknown name is an error listing the known ones.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>

#include "common/status.h"
#include "sim/config.h"

namespace spatten::sim {

template <typename Interface>
class Registry {
 public:
  using Factory = std::function<std::unique_ptr<Interface>(const SimConfig&)>;

  void Register(const std::string& name, Factory factory) { factories_[name] = std::move(factory); }

  Result<std::unique_ptr<Interface>> Create(const std::string& name, const SimConfig& config) const {
    auto it = factories_.find(name);
    if (it == factories_.end()) {
      std::string known;
      for (const auto& [n, f] : factories_) known += (known.empty() ? "" : ", ") + n;
      return NotFound("no implementation named '" + name + "' (known: " + known + ")");
    }
    return it->second(config);
  }

 private:
  std::map<std::string, Factory> factories_;
};

}  // namespace spatten::sim
