#include "sim/config/section.hpp"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <sstream>

#include "sim/config/toml_doc.hpp"

namespace attnflow {

const toml::table TomlDoc::kEmpty{};

std::size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<std::size_t> prev(b.size() + 1), cur(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) prev[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j)
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] != b[j - 1])});
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

std::string suggestion(std::string_view key, const std::vector<std::string>& candidates) {
  std::string best;
  std::size_t best_d = std::string::npos;
  for (const auto& c : candidates) {
    const std::size_t dist = edit_distance(key, c);
    if (dist < best_d) best_d = dist, best = c;
  }
  if (best.empty() || best_d > std::max<std::size_t>(2, key.size() / 2)) return "";
  return best;
}

// A TOML number as a double. (toml++'s value<double>() refuses integers that a double cannot
// hold exactly, e.g. 128472640247326626; found by fuzzing.)
double number_of(const toml::node& n) {
  if (n.is_integer()) return static_cast<double>(n.as_integer()->get());
  return n.as_floating_point()->get();
}

std::string type_name(const toml::node& n) {
  switch (n.type()) {
    case toml::node_type::string: return "a string";
    case toml::node_type::integer: return "an integer";
    case toml::node_type::floating_point: return "a float";
    case toml::node_type::boolean: return "a boolean";
    case toml::node_type::array: return "an array";
    case toml::node_type::table: return "a table";
    default: return "a date/time";
  }
}

std::string one_of(const std::vector<std::string>& options, const std::string& got) {
  std::ostringstream os;
  os << "must be one of";
  for (std::size_t i = 0; i < options.size(); ++i) os << (i ? ", " : " ") << '"' << options[i] << '"';
  os << " (got \"" << got << "\")";
  const std::string s = suggestion(got, options);
  if (!s.empty()) os << "; did you mean \"" << s << "\"?";
  return os.str();
}

namespace {
// The table a Section reads and the resolved table it records into (null: not recorded).
const toml::table& tab(const TomlDoc* d, int i) { return *d->tables[static_cast<std::size_t>(i)]; }
toml::table* res(const TomlDoc* d, int i) { return d->resolved_tables[static_cast<std::size_t>(i)]; }
}  // namespace

Section::Section(TomlDoc& doc, std::string name, int table, int resolved)
    : doc_(&doc), name_(std::move(name)), table_(table), resolved_(resolved) {}

std::string Section::full(std::string_view key) const {
  return name_.empty() ? std::string(key) : name_ + "." + std::string(key);
}

std::vector<std::string>*& Section::read_log() {
  static std::vector<std::string>* log = nullptr;
  return log;
}

bool Section::has(std::string_view key) const {
  known_.insert(std::string(key));
  if (read_log()) read_log()->push_back(doc_->path + "\t" + full(key));
  return tab(doc_, table_).get(key) != nullptr;
}
namespace {
const toml::node* node_of(const TomlDoc* d, int t, std::set<std::string>& known, std::string_view key,
                          const std::string& name) {
  known.insert(std::string(key));
  if (auto* log = Section::read_log())
    log->push_back(d->path + "\t" + (name.empty() ? std::string(key) : name + "." + std::string(key)));
  return tab(d, t).get(key);
}
}  // namespace
bool Section::is_array(std::string_view key) const {
  auto* n = node_of(doc_, table_, known_, key, name_);
  return n && n->is_array();
}
bool Section::is_string(std::string_view key) const {
  auto* n = node_of(doc_, table_, known_, key, name_);
  return n && n->is_string();
}
bool Section::is_table(std::string_view key) const {
  auto* n = node_of(doc_, table_, known_, key, name_);
  return n && n->is_table();
}

Where Section::where() const {
  const auto& src = tab(doc_, table_).source();
  Where w{doc_->path, static_cast<int>(src.begin.line), static_cast<int>(src.begin.column)};
  if (table_ == 0 || w.line == 0) w = Where{doc_->path, 0, 0};
  return w;
}

Where Section::where(std::string_view key) const {
  auto it = doc_->overrides.find(full(key));
  if (it != doc_->overrides.end()) return Where{it->second, 0, 0};
  if (auto* n = tab(doc_, table_).get(key)) {
    const auto& src = n->source();
    if (src.begin.line > 0)
      return Where{doc_->path, static_cast<int>(src.begin.line), static_cast<int>(src.begin.column)};
  }
  return where();
}

void Section::fail(std::string_view key, const std::string& msg) const {
  throw ConfigError(where(key).str() + ": " + full(key) + " " + msg);
}

void Section::missing(std::string_view key, const std::string& what) const {
  // A required key is absent: if a present key looks like a typo of it, say so.
  for (const auto& [k, v] : tab(doc_, table_)) {
    const std::string present(k.str());
    // (not for one- or two-letter keys: 'd' is no typo of 'n')
    if (present != key && present.size() > 2 && suggestion(present, {std::string(key)}) == key) {
      const Where w{doc_->path, static_cast<int>(k.source().begin.line),
                    static_cast<int>(k.source().begin.column)};
      throw ConfigError(w.str() + ": unknown key '" + present + "' in [" + name_ +
                        "]; did you mean '" + std::string(key) + "'?");
    }
  }
  fail(key, "is required (" + what + ")");
}

void Section::record_node(std::string_view key) {
  toml::table* r = res(doc_, resolved_);
  const toml::node* value = tab(doc_, table_).get(key);
  if (!r || !value) return;
  value->visit([&](auto&& v) { r->insert_or_assign(key, v); });
}
template <class T>
void Section::record_value(std::string_view key, T v) {
  if (toml::table* r = res(doc_, resolved_)) r->insert_or_assign(key, v);
}

double Section::real(std::string_view key, std::optional<double> def) {
  auto* n = node_of(doc_, table_, known_, key, name_);
  if (!n) {
    if (!def) missing(key, "a number");
    record_value(key, *def);
    return *def;
  }
  if (!n->is_number()) fail(key, "must be a number (got " + type_name(*n) + ")");
  const double v = number_of(*n);
  if (!std::isfinite(v)) fail(key, "must be finite");
  record_value(key, v);
  return v;
}

std::int64_t Section::integer(std::string_view key, std::optional<std::int64_t> def) {
  auto* n = node_of(doc_, table_, known_, key, name_);
  if (!n) {
    if (!def) missing(key, "an integer");
    record_value(key, *def);
    return *def;
  }
  if (!n->is_integer()) fail(key, "must be an integer (got " + type_name(*n) + ")");
  const auto v = n->as_integer()->get();
  record_value(key, v);
  return v;
}

bool Section::boolean(std::string_view key, std::optional<bool> def) {
  auto* n = node_of(doc_, table_, known_, key, name_);
  if (!n) {
    if (!def) missing(key, "true or false");
    record_value(key, *def);
    return *def;
  }
  if (!n->is_boolean()) fail(key, "must be true or false (got " + type_name(*n) + ")");
  record_value(key, n->as_boolean()->get());
  return n->as_boolean()->get();
}

std::string Section::string(std::string_view key, std::optional<std::string> def) {
  auto* n = node_of(doc_, table_, known_, key, name_);
  if (!n) {
    if (!def) missing(key, "a string");
    record_value(key, *def);
    return *def;
  }
  if (!n->is_string()) fail(key, "must be a string (got " + type_name(*n) + ")");
  record_value(key, n->as_string()->get());
  return n->as_string()->get();
}

std::string Section::choice(std::string_view key, const std::vector<std::string>& options,
                            std::optional<std::string> def) {
  const std::string v = string(key, def);
  if (std::find(options.begin(), options.end(), v) != options.end()) return v;
  fail(key, one_of(options, v));
}

double Section::positive(std::string_view key, std::optional<double> def) {
  const double v = real(key, def);
  if (!(v > 0)) {
    std::ostringstream os;
    os << "must be > 0 (got " << v << ")";
    fail(key, os.str());
  }
  return v;
}

double Section::non_negative(std::string_view key, std::optional<double> def) {
  const double v = real(key, def);
  if (!(v >= 0)) {
    std::ostringstream os;
    os << "must be >= 0 (got " << v << ")";
    fail(key, os.str());
  }
  return v;
}

std::int64_t Section::positive_int(std::string_view key, std::optional<std::int64_t> def) {
  const auto v = integer(key, def);
  if (v <= 0) fail(key, "must be >= 1 (got " + std::to_string(v) + ")");
  return v;
}

std::vector<double> Section::reals(std::string_view key) {
  auto* n = node_of(doc_, table_, known_, key, name_);
  if (!n) missing(key, "an array of numbers");
  auto* arr = n->as_array();
  if (!arr) fail(key, "must be an array of numbers (got " + type_name(*n) + ")");
  std::vector<double> out;
  for (const auto& el : *arr) {
    if (!el.is_number()) fail(key, "must contain only numbers (found " + type_name(el) + ")");
    out.push_back(number_of(el));
    if (!std::isfinite(out.back())) fail(key, "must contain only finite numbers");
  }
  record_node(key);
  return out;
}

std::vector<double> Section::reals(std::string_view key, std::vector<double> def) {
  if (has(key)) return reals(key);
  toml::array a;
  for (double v : def) a.push_back(v);
  if (toml::table* r = res(doc_, resolved_)) r->insert_or_assign(key, a);
  return def;
}

std::vector<std::string> Section::strings(std::string_view key, std::vector<std::string> def) {
  auto* n = node_of(doc_, table_, known_, key, name_);
  if (!n) {
    toml::array a;
    for (auto& s : def) a.push_back(s);
    if (toml::table* r = res(doc_, resolved_)) r->insert_or_assign(key, a);
    return def;
  }
  auto* arr = n->as_array();
  if (!arr) fail(key, "must be an array of strings (got " + type_name(*n) + ")");
  std::vector<std::string> out;
  for (const auto& el : *arr) {
    if (!el.is_string()) fail(key, "must contain only strings (found " + type_name(el) + ")");
    out.push_back(el.as_string()->get());
  }
  record_node(key);
  return out;
}

RowMat Section::matrix(std::string_view key) {
  auto* n = node_of(doc_, table_, known_, key, name_);
  if (!n) missing(key, "an array of rows");
  auto* arr = n->as_array();
  if (!arr || arr->empty()) fail(key, "must be a non-empty array of rows, e.g. [[1, 0], [0, 1]]");
  const Index rows = static_cast<Index>(arr->size());
  Index cols = -1;
  RowMat m;
  for (Index i = 0; i < rows; ++i) {
    auto* row = (*arr)[static_cast<std::size_t>(i)].as_array();
    if (!row) fail(key, "must be an array of rows, e.g. [[1, 0], [0, 1]] (row " + std::to_string(i + 1) + " is not an array)");
    if (cols < 0) {
      cols = static_cast<Index>(row->size());
      if (cols == 0) fail(key, "has an empty row");
      m.resize(rows, cols);
    }
    if (static_cast<Index>(row->size()) != cols)
      fail(key, "has rows of different lengths (row 1 has " + std::to_string(cols) + ", row " +
                    std::to_string(i + 1) + " has " + std::to_string(row->size()) + ")");
    for (Index j = 0; j < cols; ++j) {
      const auto& el = (*row)[static_cast<std::size_t>(j)];
      if (!el.is_number()) fail(key, "must contain only numbers (found " + type_name(el) + ")");
      m(i, j) = number_of(el);
      if (!std::isfinite(m(i, j))) fail(key, "must contain only finite numbers");
    }
  }
  record_node(key);
  return m;
}

void Section::accept(std::string_view key) {
  known_.insert(std::string(key));
  if (read_log()) read_log()->push_back(doc_->path + "\t" + full(key));
}

std::vector<std::string> Section::keys() const {
  std::vector<std::string> out;
  for (const auto& [k, v] : tab(doc_, table_)) out.emplace_back(k.str());
  return out;
}

std::string Section::base_dir() const {
  namespace fs = std::filesystem;
  const fs::path p(doc_->path);
  return p.has_parent_path() ? p.parent_path().string() : std::string(".");
}

std::string Section::file(std::string_view key) {
  namespace fs = std::filesystem;
  fs::path fp(string(key));
  if (fp.empty()) fail(key, "must name a file (got an empty string)");
  if (fp.is_relative() && base_dir() != ".") fp = fs::path(base_dir()) / fp;
  std::error_code ec;
  if (fs::is_directory(fp, ec))
    fail(key, "names a folder, not a file: " + fp.string() +
                  " (relative paths resolve against the scenario file's folder)");
  if (!fs::is_regular_file(fp, ec))
    fail(key, "names a file that does not exist: " + fp.string() +
                  " (relative paths resolve against the scenario file's folder)");
  doc_->inputs.push_back(fp.string());
  return fp.string();
}

Section Section::table(std::string_view key) {
  auto* n = node_of(doc_, table_, known_, key, name_);
  if (n && !n->is_table()) fail(key, "must be a table (got " + type_name(*n) + ")");
  toml::table* r = nullptr;
  if (toml::table* parent = res(doc_, resolved_)) {
    parent->insert_or_assign(key, toml::table{});
    r = (*parent)[key].as_table();
  }
  return doc_->section(full(key), n ? n->as_table() : nullptr, r);
}

void Section::finish(const std::vector<std::string>& extra_known) const {
  std::vector<std::string> known(known_.begin(), known_.end());
  known.insert(known.end(), extra_known.begin(), extra_known.end());
  for (const auto& [k, v] : tab(doc_, table_)) {
    const std::string key(k.str());
    if (std::find(known.begin(), known.end(), key) != known.end()) continue;
    std::string msg = name_.empty() ? "unknown section [" + key + "]"
                                    : "unknown key '" + key + "' in [" + name_ + "]";
    const std::string s = suggestion(key, known);
    if (!s.empty()) msg += "; did you mean '" + s + "'?";
    auto it = doc_->overrides.find(full(key));
    if (it == doc_->overrides.end()) {  // --set foo.bar=1 made the unknown table [foo]
      const std::string prefix = full(key) + ".";
      for (auto o = doc_->overrides.begin(); o != doc_->overrides.end(); ++o)
        if (o->first.rfind(prefix, 0) == 0) {
          it = o;
          break;
        }
    }
    Where w = it != doc_->overrides.end()
                  ? Where{it->second, 0, 0}
                  : Where{doc_->path, static_cast<int>(k.source().begin.line),
                          static_cast<int>(k.source().begin.column)};
    if (w.line == 0 && it == doc_->overrides.end()) {
      const auto& src = v.source();
      w = Where{doc_->path, static_cast<int>(src.begin.line), static_cast<int>(src.begin.column)};
    }
    throw ConfigError(w.str() + ": " + msg);
  }
}

}  // namespace attnflow

