#include "sim/config/matrix_param.hpp"

#include <bit>
#include <cmath>
#include <cstring>
#include <fstream>
#include <sstream>
#include <vector>

#include "sim/core/rng.hpp"

namespace attnflow {

RowMat MatrixParam::resolve(Index d, std::uint64_t seed) const {
  switch (kind) {
    case Kind::Identity: return RowMat::Identity(d, d);
    case Kind::MinusIdentity: return -RowMat::Identity(d, d);
    case Kind::GaussianProduct: {  // G1 G2 / sqrt(d), G1, G2 i.i.d. N(0, 1): entries of variance 1
      Rng rng = Rng::stream(seed, "model." + key);
      RowMat g1(d, d), g2(d, d);
      for (Index i = 0; i < d; ++i)
        for (Index j = 0; j < d; ++j) g1(i, j) = rng.normal();
      for (Index i = 0; i < d; ++i)
        for (Index j = 0; j < d; ++j) g2(i, j) = rng.normal();
      return g1 * g2 / std::sqrt(static_cast<double>(d));
    }
    case Kind::Goe: {  // (G + G^T) / sqrt(2 d): off-diagonal variance 1/d, diagonal 2/d
      Rng rng = Rng::stream(seed, "model." + key);
      RowMat g(d, d);
      for (Index i = 0; i < d; ++i)
        for (Index j = 0; j < d; ++j) g(i, j) = rng.normal();
      return (g + g.transpose()) / std::sqrt(2.0 * static_cast<double>(d));
    }
    case Kind::Zero: return RowMat::Zero(d, d);
    case Kind::Explicit: return value;
    case Kind::Random: {
      Rng rng = Rng::stream(seed, "model." + key);
      RowMat m(d, d);
      const double s = 1.0 / std::sqrt(static_cast<double>(d));
      for (Index i = 0; i < d; ++i)
        for (Index j = 0; j < d; ++j) m(i, j) = s * rng.normal();
      return m;
    }
    case Kind::RandomSpd: {
      Rng rng = Rng::stream(seed, "model." + key);
      RowMat g(d, d);
      for (Index i = 0; i < d; ++i)
        for (Index j = 0; j < d; ++j) g(i, j) = rng.normal();
      RowMat m = RowMat::Identity(d, d) + g * g.transpose() / static_cast<double>(d);
      return 0.5 * (m + m.transpose());
    }
  }
  return {};
}

MatrixParam read_matrix_param(Section& s, const std::string& key, Index d,
                              const std::string& def) {
  MatrixParam p;
  p.key = key;
  const bool array = s.is_array(key), table = s.is_table(key);
  if (array || table) {
    p.kind = MatrixParam::Kind::Explicit;
    std::string source;
    p.value = array ? s.matrix(key) : read_matrix_file(s, key, &source);
    if (p.value.rows() != d || p.value.cols() != d)
      s.fail(key, "must be a " + std::to_string(d) + " x " + std::to_string(d) +
                      " matrix to match tokens.d = " + std::to_string(d) + " (got " +
                      std::to_string(p.value.rows()) + " x " + std::to_string(p.value.cols()) +
                      (table ? " from " + source : std::string()) + ")");
    return p;
  }
  if (s.has(key) && !s.is_string(key))
    s.fail(key, "must be \"identity\", \"-identity\", \"random\", \"gaussian_product\", \"goe\", "
                "\"random_spd\", \"zero\", an array of rows [[...], ...] or a file { file = \"w.npy\" } / "
                "{ file = \"w.h5\", dataset = \"/name\" }");
  const std::string v = s.choice(
      key, {"identity", "-identity", "random", "gaussian_product", "goe", "random_spd", "zero"}, def);
  p.kind = v == "identity"           ? MatrixParam::Kind::Identity
           : v == "-identity"        ? MatrixParam::Kind::MinusIdentity
           : v == "random"           ? MatrixParam::Kind::Random
           : v == "gaussian_product" ? MatrixParam::Kind::GaussianProduct
           : v == "goe"              ? MatrixParam::Kind::Goe
           : v == "zero"             ? MatrixParam::Kind::Zero
                                     : MatrixParam::Kind::RandomSpd;
  return p;
}

// --- matrices in files -------------------------------------------------------------------------

namespace {

DatasetReader g_dataset_reader = nullptr;  // constant-initialised: safe from any static init

// The value of 'name': in a .npy header dict, as its source text.
std::string header_field(const std::string& h, const std::string& name) {
  const std::string k1 = "'" + name + "'", k2 = "\"" + name + "\"";
  std::size_t p = h.find(k1);
  if (p == std::string::npos) p = h.find(k2);
  if (p == std::string::npos) throw ConfigError("the .npy header has no '" + name + "' entry");
  p = h.find(':', p);
  if (p == std::string::npos) throw ConfigError("the .npy header is malformed");
  ++p;
  while (p < h.size() && h[p] == ' ') ++p;
  if (p >= h.size()) throw ConfigError("the .npy header is malformed");
  std::size_t e = p;
  if (h[p] == '\'' || h[p] == '"') {
    e = h.find(h[p], p + 1);
    if (e == std::string::npos) throw ConfigError("the .npy header is malformed");
    return h.substr(p, e + 1 - p);
  }
  if (h[p] == '(' || h[p] == '[') {
    const char close = h[p] == '(' ? ')' : ']';
    e = h.find(close, p);
    if (e == std::string::npos) throw ConfigError("the .npy header is malformed");
    return h.substr(p, e + 1 - p);
  }
  while (e < h.size() && h[e] != ',' && h[e] != '}') ++e;
  std::string v = h.substr(p, e - p);
  while (!v.empty() && v.back() == ' ') v.pop_back();
  return v;
}

std::string shape_text(const std::vector<long long>& shape) {
  std::string s = "(";
  for (std::size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + (shape.size() == 1 ? ",)" : ")");
}

}  // namespace

void set_dataset_reader(DatasetReader reader) { g_dataset_reader = reader; }
DatasetReader dataset_reader() { return g_dataset_reader; }

RowMat read_npy_matrix(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw ConfigError("cannot open the file");
  char magic[8];
  if (!in.read(magic, 8) || std::memcmp(magic, "\x93NUMPY", 6) != 0)
    throw ConfigError("not a NumPy .npy file (no \\x93NUMPY magic)");
  const int major = static_cast<unsigned char>(magic[6]);
  if (major < 1 || major > 3)
    throw ConfigError(".npy format version " + std::to_string(major) + " is not supported");
  std::uint32_t hlen = 0;
  if (major == 1) {
    unsigned char b[2];
    if (!in.read(reinterpret_cast<char*>(b), 2)) throw ConfigError("truncated .npy header");
    hlen = b[0] | (static_cast<std::uint32_t>(b[1]) << 8);
  } else {
    unsigned char b[4];
    if (!in.read(reinterpret_cast<char*>(b), 4)) throw ConfigError("truncated .npy header");
    hlen = b[0] | (static_cast<std::uint32_t>(b[1]) << 8) | (static_cast<std::uint32_t>(b[2]) << 16) |
           (static_cast<std::uint32_t>(b[3]) << 24);
  }
  if (hlen > (1u << 24)) throw ConfigError("implausible .npy header length");
  std::string h(hlen, '\0');
  if (!in.read(h.data(), hlen)) throw ConfigError("truncated .npy header");
  auto fail = [&](const std::string& msg) { return ConfigError("" + msg); };
  std::string descr, fortran, shape_src;
  try {
    descr = header_field(h, "descr");
    fortran = header_field(h, "fortran_order");
    shape_src = header_field(h, "shape");
  } catch (const ConfigError& e) {
    throw fail(e.what());
  }
  if (descr.size() < 2 || (descr.front() != '\'' && descr.front() != '"'))
    throw fail("structured dtype " + descr + " is not supported (float64 or float32, little-endian)");
  descr = descr.substr(1, descr.size() - 2);
  std::size_t item = 0;
  if (descr == "<f8") item = 8;
  else if (descr == "<f4") item = 4;
  else if (descr == ">f8" || descr == ">f4")
    throw fail("dtype '" + descr + "' is big-endian; save it little-endian (a.astype('<f8')) - "
               "float64 or float32, little-endian are supported");
  else
    throw fail("dtype '" + descr + "' is not supported (float64 or float32, little-endian)");
  bool f_order = false;
  if (fortran == "True") f_order = true;
  else if (fortran != "False") throw fail("fortran_order must be True or False (got " + fortran + ")");
  // shape: "(r, c)".
  std::vector<long long> shape;
  {
    std::string inner = shape_src.substr(1, shape_src.size() - 2);
    std::stringstream ss(inner);
    for (std::string tok; std::getline(ss, tok, ',');) {
      const auto b = tok.find_first_not_of(" L");
      if (b == std::string::npos) continue;
      char* end = nullptr;
      const long long v = std::strtoll(tok.c_str() + b, &end, 10);
      if (end == tok.c_str() + b || v < 0) throw fail("malformed shape " + shape_src);
      shape.push_back(v);
    }
  }
  if (shape.size() != 2)
    throw fail("holds an array of shape " + shape_text(shape) + "; a matrix needs 2 dimensions");
  const long long rows = shape[0], cols = shape[1];
  if (rows == 0 || cols == 0) throw fail("holds an empty matrix of shape " + shape_text(shape));
  if (rows > (1LL << 31) || cols > (1LL << 31) || rows * cols > (1LL << 34))
    throw fail("shape " + shape_text(shape) + " is too large for a matrix parameter");
  const std::size_t count = static_cast<std::size_t>(rows * cols);
  std::vector<char> raw(count * item);
  in.read(raw.data(), static_cast<std::streamsize>(raw.size()));
  if (static_cast<std::size_t>(in.gcount()) != raw.size())
    throw fail("truncated: shape " + shape_text(shape) + " needs " + std::to_string(raw.size()) +
               " bytes of data, the file holds " + std::to_string(in.gcount()));
  static_assert(std::endian::native == std::endian::little, "the .npy reader assumes a little-endian host");
  RowMat m(rows, cols);
  for (std::size_t k = 0; k < count; ++k) {
    double v;
    if (item == 8) {
      std::memcpy(&v, raw.data() + 8 * k, 8);
    } else {
      float f;
      std::memcpy(&f, raw.data() + 4 * k, 4);
      v = f;
    }
    // C order: k = i * cols + j; Fortran order: k = j * rows + i.
    const Index i = f_order ? static_cast<Index>(k % rows) : static_cast<Index>(k / cols);
    const Index j = f_order ? static_cast<Index>(k / rows) : static_cast<Index>(k % cols);
    if (!std::isfinite(v))
      throw fail("entry [" + std::to_string(i) + ", " + std::to_string(j) + "] is " +
                 (std::isnan(v) ? "NaN" : "infinite") + "; a matrix parameter must be finite");
    m(i, j) = v;
  }
  return m;
}

RowMat read_matrix_file(Section& s, const std::string& key, std::string* source) {
  Section t = s.table(key);
  const std::string path = t.file("file");
  if (source) *source = path;
  const bool has_dataset = t.has("dataset");
  const std::string dataset = has_dataset ? t.string("dataset") : "";
  t.finish();
  const auto dot = path.rfind('.');
  std::string ext = dot == std::string::npos ? "" : path.substr(dot);
  for (auto& c : ext) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  DatasetReader reader = dataset_reader();
  if (has_dataset) {
    if (ext == ".npy") t.fail("dataset", "does not apply to a .npy file (" + path + ")");
    if (dataset.empty()) t.fail("dataset", "must name a dataset, e.g. \"/l0/Wq\"");
    if (!reader) t.fail("dataset", "cannot be read: this build has no HDF5 matrix reader");
  } else if (ext == ".h5" || ext == ".hdf5" || ext == ".hdf") {
    t.fail("file", "is an HDF5 file: name the dataset too, e.g. { file = \"" + path +
                       "\", dataset = \"/l0/Wq\" }");
  }
  try {
    return has_dataset ? reader(path, dataset) : read_npy_matrix(path);
  } catch (const ConfigError& e) {
    s.fail(key, std::string("(") + (has_dataset ? "dataset " + dataset + " of " : "") + path + "): " + e.what());
  }
}

}  // namespace attnflow
