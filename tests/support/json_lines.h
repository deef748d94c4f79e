// Test support: reads the golden JSON Lines files (one JSON object per line) that record the
// reference peer's output. A missing, empty or malformed file is a test failure, never a skip:
// golden data is part of the repository.
#pragma once

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <fstream>
#include <string>
#include <vector>

namespace spatten::testing {

// Appends every line of `path` to `out`; adds a failure naming the file (or line) and returns
// false when it cannot. `regenerate` names the script that rewrites the file.
inline bool ReadJsonLines(const std::string& path, const std::string& regenerate,
                          std::vector<nlohmann::json>* out) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    ADD_FAILURE() << "golden file missing: " << path
                  << " (golden data is part of the repository; regenerate with " << regenerate << ")";
    return false;
  }
  std::string line;
  size_t number = 0;
  while (std::getline(in, line)) {
    ++number;
    if (line.empty()) continue;
    try {
      out->push_back(nlohmann::json::parse(line));
    } catch (const nlohmann::json::exception& e) {
      ADD_FAILURE() << path << ":" << number << ": not JSON: " << e.what();
      return false;
    }
  }
  if (out->empty()) {
    ADD_FAILURE() << "golden file is empty: " << path;
    return false;
  }
  return true;
}

}  // namespace spatten::testing
