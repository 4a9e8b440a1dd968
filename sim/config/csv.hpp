#pragma once
// The one reader of numeric CSV files (initial tokens, frequencies, coupling matrices, token
// vectors): one row per line, cells separated by commas (blanks around a cell allowed), blank
// lines and lines starting with '#' skipped. Every error names the file, line and column of the
// offending cell and the scenario key that named the file:
//
//   x0.csv:7:9: not a finite number: 'abc' (scenario.toml:5:8: tokens.path)
#include <string>
#include <vector>

#include "sim/core/state.hpp"

namespace attnflow {

struct CsvTable {
  Index rows = 0, cols = 0;   // cols: of the first row; every row must have as many
  std::vector<double> values; // row-major
  RowMat matrix() const { return CMatMap(values.data(), rows, cols); }
};

// Reads `path`. `named_by` says where it was named ("scenario.toml:5:8: tokens.path"); `rows` and
// `cols`, when >= 0, are required shapes, described by `rows_what` / `cols_what` in messages
// ("tokens.n = 64"). Throws ConfigError.
CsvTable read_csv(const std::string& path, const std::string& named_by, Index rows = -1,
                  Index cols = -1, const std::string& rows_what = "", const std::string& cols_what = "");

}  // namespace attnflow
