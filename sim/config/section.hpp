#pragma once
// Typed, located access to one table of a scenario file.
//
// A Section reads keys with defaults, checks types and ranges, and reports every problem as
// `file:line:col: message` (or `--set key=value: message` for command-line overrides). Every key
// read is recorded, with its default filled in, into the resolved scenario; keys never read are
// rejected by finish() with a "did you mean" suggestion. This header does not include toml++:
// model readers use Sections, and the parsed document (TomlDoc, sim/config/toml_doc.hpp) stays
// inside sim/config.
#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "sim/core/error.hpp"
#include "sim/core/state.hpp"
#include "sim/core/where.hpp"

namespace attnflow {

struct TomlDoc;

class Section {
 public:
  // `name` is the dotted path of the table ("integrator", "expect[2]"); `table` and `resolved`
  // index the document's tables (TomlDoc::section() makes Sections).
  Section(TomlDoc& doc, std::string name, int table, int resolved);

  const std::string& name() const { return name_; }
  bool has(std::string_view key) const;
  Where where(std::string_view key) const;  // of the value, or of the table if absent
  Where where() const;                      // of the table

  [[noreturn]] void fail(std::string_view key, const std::string& msg) const;
  void check(bool ok, std::string_view key, const std::string& msg) const {
    if (!ok) fail(key, msg);
  }

  // Scalars. Without a default the key is required.
  double real(std::string_view key, std::optional<double> def = std::nullopt);
  std::int64_t integer(std::string_view key, std::optional<std::int64_t> def = std::nullopt);
  bool boolean(std::string_view key, std::optional<bool> def = std::nullopt);
  std::string string(std::string_view key, std::optional<std::string> def = std::nullopt);
  std::string choice(std::string_view key, const std::vector<std::string>& options,
                     std::optional<std::string> def = std::nullopt);
  // Range helpers: value must be > 0 (positive) or >= 1 (positive_int); non_negative: >= 0.
  double positive(std::string_view key, std::optional<double> def = std::nullopt);
  double non_negative(std::string_view key, std::optional<double> def = std::nullopt);
  std::int64_t positive_int(std::string_view key, std::optional<std::int64_t> def = std::nullopt);

  // Arrays.
  std::vector<double> reals(std::string_view key);                 // [1.0, 2.0, ...]
  std::vector<double> reals(std::string_view key, std::vector<double> def);
  std::vector<std::string> strings(std::string_view key, std::vector<std::string> def);
  RowMat matrix(std::string_view key);                             // [[...], [...]]
  bool is_array(std::string_view key) const;
  bool is_string(std::string_view key) const;
  bool is_table(std::string_view key) const;

  // A file named by a string key: resolved relative to the scenario file's folder, required to
  // be an existing regular file, and recorded as an input of the run (never written over).
  std::string file(std::string_view key);
  // The folder relative paths resolve against.
  std::string base_dir() const;

  // The keys present in the table, in order.
  std::vector<std::string> keys() const;
  // Marks a key as known without reading it (e.g. consumed by another reader).
  void accept(std::string_view key);
  // A sub-table (e.g. model.target); absent -> empty table.
  Section table(std::string_view key);

  // Rejects unread keys with a suggestion drawn from the keys this section reads.
  void finish(const std::vector<std::string>& extra_known = {}) const;

  // While set, every key a Section reads or asks about is appended to this log as the scenario
  // file's name, a tab and the key's dotted path ("glpr.toml\tmodel.beta", "...\texpect[0].kind"):
  // tests/unit/test_reference.cpp checks that each one is documented (sim/core/key_doc.hpp).
  // Not thread-safe; tests only.
  static std::vector<std::string>*& read_log();

 private:
  std::string full(std::string_view key) const;
  [[noreturn]] void missing(std::string_view key, const std::string& what) const;
  template <class T> void record_value(std::string_view key, T v);
  void record_node(std::string_view key);
  TomlDoc* doc_;
  std::string name_;
  int table_, resolved_;
  mutable std::set<std::string> known_;
};

// Edit distance for "did you mean" suggestions.
std::size_t edit_distance(std::string_view a, std::string_view b);
std::string suggestion(std::string_view key, const std::vector<std::string>& candidates);
// "must be one of "a", "b" (got "c"); did you mean "b"?"
std::string one_of(const std::vector<std::string>& options, const std::string& got);

}  // namespace attnflow
