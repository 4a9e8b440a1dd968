#include "sim/config/csv.hpp"

#include <cmath>
#include <cstdlib>
#include <fstream>

#include "sim/core/error.hpp"

namespace attnflow {

CsvTable read_csv(const std::string& path, const std::string& named_by, Index rows, Index cols,
                  const std::string& rows_what, const std::string& cols_what) {
  std::ifstream in(path);
  if (!in) throw ConfigError(path + ": cannot open (" + named_by + ")");
  auto fail = [&](int line, std::size_t col, const std::string& msg) -> ConfigError {
    return ConfigError(path + ":" + std::to_string(line) + ":" + std::to_string(col) + ": " + msg +
                       " (" + named_by + ")");
  };
  CsvTable t;
  std::string line;
  int lineno = 0, last_line = 0;
  while (std::getline(in, line)) {
    ++lineno;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    const std::size_t first = line.find_first_not_of(" \t");
    if (first == std::string::npos || line[first] == '#') continue;
    if (rows >= 0 && t.rows >= rows)
      throw fail(lineno, 1, "more than " + rows_what + " rows");
    Index c = 0;
    std::size_t start = 0;
    while (true) {
      const std::size_t comma = line.find(',', start);
      const std::string cell = line.substr(start, comma == std::string::npos ? std::string::npos
                                                                             : comma - start);
      const char* b = cell.c_str();
      while (*b == ' ' || *b == '\t') ++b;
      char* end = nullptr;
      const double v = std::strtod(b, &end);
      while (end && (*end == ' ' || *end == '\t')) ++end;
      if (end == b || (end && *end != '\0') || !std::isfinite(v))
        throw fail(lineno, start + 1, "not a finite number: '" + cell + "'");
      t.values.push_back(v);
      ++c;
      if (comma == std::string::npos) break;
      start = comma + 1;
    }
    if (t.rows == 0) {
      t.cols = c;
      if (cols >= 0 && c != cols)
        throw fail(lineno, 1, "expected " + cols_what + " columns, got " + std::to_string(c));
    } else if (c != t.cols) {
      throw fail(lineno, 1, "expected " + std::to_string(t.cols) + " columns like the first row, got " +
                                std::to_string(c));
    }
    ++t.rows;
    last_line = lineno;
  }
  if (t.rows == 0) throw ConfigError(path + ": no numbers in the file (" + named_by + ")");
  if (rows >= 0 && t.rows != rows)
    throw ConfigError(path + ":" + std::to_string(last_line) + ":1: expected " + rows_what +
                      " rows, got " + std::to_string(t.rows) + " (" + named_by + ")");
  return t;
}

}  // namespace attnflow
