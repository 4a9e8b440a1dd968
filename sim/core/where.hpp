#pragma once
// Where a value came from: `file:line:col` in a scenario file, or `--set key=value` for a
// command-line override. Every configuration error starts with one.
#include <string>

namespace attnflow {

struct Where {
  std::string file;  // scenario path, or "--set key=value" for overrides
  int line = 0, col = 0;
  std::string str() const {
    if (line <= 0) return file;
    return file + ":" + std::to_string(line) + ":" + std::to_string(col);
  }
};

}  // namespace attnflow
