// Matrix parameters and initial tokens from files: NumPy .npy (read in sim/config) and HDF5
// datasets (read by sim/io/matrix_dataset.cpp through the hook of sim/config/matrix_param.hpp),
// with located errors for shape, dtype, byte order, truncation and missing datasets.
#include <hdf5.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <sstream>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <doctest/doctest.h>

#include "helpers.hpp"
#include "sim/config/matrix_param.hpp"
#include "sim/models/attention.hpp"

using namespace attnflow;
namespace fs = std::filesystem;

namespace {

struct TempDir {
  fs::path path;
  TempDir() {
    path = fs::temp_directory_path() / ("attnflow-matrix-files-" + std::to_string(::getpid()));
    fs::create_directories(path);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
  std::string operator/(const std::string& name) const { return (path / name).string(); }
};

// A .npy file: `descr` ('<f8', '<f4', '>f8', '<i8', ...), shape, and raw data bytes.
void write_npy(const std::string& path, const std::string& descr, bool fortran,
               const std::vector<long long>& shape, const std::string& data, int version = 1) {
  std::string shape_s = "(";
  for (std::size_t i = 0; i < shape.size(); ++i) shape_s += (i ? ", " : "") + std::to_string(shape[i]);
  shape_s += shape.size() == 1 ? ",)" : ")";
  std::string header = "{'descr': '" + descr + "', 'fortran_order': " + (fortran ? "True" : "False") +
                       ", 'shape': " + shape_s + ", }";
  const std::size_t pre = version == 1 ? 10 : 12;
  while ((pre + header.size() + 1) % 64 != 0) header += ' ';
  header += '\n';
  std::ofstream out(path, std::ios::binary);
  out.write("\x93NUMPY", 6);
  out.put(static_cast<char>(version));
  out.put(0);
  const std::uint32_t n = static_cast<std::uint32_t>(header.size());
  out.put(static_cast<char>(n & 0xff));
  out.put(static_cast<char>((n >> 8) & 0xff));
  if (version != 1) {
    out.put(static_cast<char>((n >> 16) & 0xff));
    out.put(static_cast<char>((n >> 24) & 0xff));
  }
  out << header << data;
}

template <class T>
std::string bytes(const std::vector<T>& v) {
  return std::string(reinterpret_cast<const char*>(v.data()), v.size() * sizeof(T));
}

// A (rows x cols) matrix with distinct, non-round entries.
RowMat sample(Index rows, Index cols) {
  RowMat m(rows, cols);
  for (Index i = 0; i < rows; ++i)
    for (Index j = 0; j < cols; ++j) m(i, j) = 0.1 * static_cast<double>(i + 1) - std::sqrt(2.0 + static_cast<double>(j)) / 3.0;
  return m;
}

std::string row_major_f8(const RowMat& m) {
  return bytes(std::vector<double>(m.data(), m.data() + m.size()));
}

// Creates (or opens) an HDF5 file and writes `m` as dataset `name` of type `type` (a native
// memory type: H5T_NATIVE_DOUBLE, H5T_NATIVE_FLOAT, H5T_NATIVE_INT ...), with dims `dims`.
void write_h5(const std::string& path, const std::string& name, hid_t file_type,
              const std::vector<hsize_t>& dims, const std::vector<double>& data) {
  H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);
  hid_t f = fs::exists(path) ? H5Fopen(path.c_str(), H5F_ACC_RDWR, H5P_DEFAULT)
                             : H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
  REQUIRE(f >= 0);
  hid_t lcpl = H5Pcreate(H5P_LINK_CREATE);
  H5Pset_create_intermediate_group(lcpl, 1);
  hid_t sp = H5Screate_simple(static_cast<int>(dims.size()), dims.data(), nullptr);
  hid_t d = H5Dcreate2(f, name.c_str(), file_type, sp, lcpl, H5P_DEFAULT, H5P_DEFAULT);
  REQUIRE(d >= 0);
  REQUIRE(H5Dwrite(d, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, data.data()) >= 0);
  H5Dclose(d);
  H5Sclose(sp);
  H5Pclose(lcpl);
  H5Fclose(f);
}

// Line 8 holds the Q value at column 5.
std::string scenario_with_q(const std::string& q, int d = 3) {
  return "[run]\nframes = 2\n[tokens]\nn = 5\nd = " + std::to_string(d) +
         "\n[model]\nkind = \"attention\"\nQ = " + q +
         "\n[integrator]\nkind = \"rk4\"\ndt = 0.1\nt_end = 0.2\n";
}

std::string error_of(const std::string& text) {
  try {
    test::scenario(text);
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "";
}

RowMat q_of(const Scenario& sc) {
  auto m = sc.build_model(sc.run.seed);
  auto* a = dynamic_cast<AttentionModel*>(m.get());
  REQUIRE(a != nullptr);
  return a->params().Q;
}

}  // namespace

TEST_CASE("matrix from .npy: float64 and float32, C and Fortran order, format versions 1 and 2") {
  TempDir dir;
  const RowMat m = sample(3, 3);
  write_npy(dir / "c.npy", "<f8", false, {3, 3}, row_major_f8(m));
  const RowMat mt = m.transpose();  // Fortran order stores columns first
  write_npy(dir / "f.npy", "<f8", true, {3, 3}, row_major_f8(mt));
  write_npy(dir / "v2.npy", "<f8", false, {3, 3}, row_major_f8(m), 2);
  std::vector<float> f32(9);
  for (int k = 0; k < 9; ++k) f32[static_cast<std::size_t>(k)] = static_cast<float>(m.data()[k]);
  write_npy(dir / "f4.npy", "<f4", false, {3, 3}, bytes(f32));

  for (const char* name : {"c.npy", "f.npy", "v2.npy"}) {
    CAPTURE(name);
    const Scenario sc = test::scenario(scenario_with_q("{ file = \"" + dir / name + "\" }"));
    CHECK(q_of(sc) == m);  // bit for bit
    CHECK(std::find(sc.inputs.begin(), sc.inputs.end(), dir / name) != sc.inputs.end());
  }
  const Scenario sc = test::scenario(scenario_with_q("{ file = \"" + dir / "f4.npy" + "\" }"));
  const RowMat q = q_of(sc);
  for (int k = 0; k < 9; ++k) CHECK(q.data()[k] == static_cast<double>(f32[static_cast<std::size_t>(k)]));
}

TEST_CASE("a matrix from a file gives the same run as the same matrix written inline") {
  TempDir dir;
  const RowMat m = sample(3, 3);
  write_npy(dir / "q.npy", "<f8", false, {3, 3}, row_major_f8(m));
  write_h5(dir / "w.h5", "/l0/Wq", H5T_IEEE_F64LE, {3, 3}, std::vector<double>(m.data(), m.data() + 9));
  std::ostringstream inline_q;
  inline_q.precision(17);
  inline_q << "[";
  for (Index i = 0; i < 3; ++i) {
    inline_q << (i ? ", [" : "[");
    for (Index j = 0; j < 3; ++j) inline_q << (j ? ", " : "") << m(i, j);
    inline_q << "]";
  }
  inline_q << "]";
  const State a = test::run_final(test::scenario(scenario_with_q(inline_q.str())));
  const State b = test::run_final(test::scenario(scenario_with_q("{ file = \"" + dir / "q.npy" + "\" }")));
  const State c = test::run_final(
      test::scenario(scenario_with_q("{ file = \"" + dir / "w.h5" + "\", dataset = \"/l0/Wq\" }")));
  CHECK(a.u == b.u);
  CHECK(a.u == c.u);
}

TEST_CASE(".npy errors name the scenario location, the file and the problem") {
  TempDir dir;
  const RowMat m4 = sample(4, 4);
  write_npy(dir / "big.npy", "<f8", false, {4, 4}, row_major_f8(m4));
  write_npy(dir / "int.npy", "<i8", false, {3, 3}, std::string(72, '\0'));
  write_npy(dir / "be.npy", ">f8", false, {3, 3}, std::string(72, '\0'));
  write_npy(dir / "vec.npy", "<f8", false, {9}, std::string(72, '\0'));
  write_npy(dir / "short.npy", "<f8", false, {3, 3}, std::string(40, '\0'));
  RowMat bad = sample(3, 3);
  bad(1, 2) = std::numeric_limits<double>::quiet_NaN();
  write_npy(dir / "nan.npy", "<f8", false, {3, 3}, row_major_f8(bad));
  std::ofstream(dir / "text.npy") << "1, 2, 3\n";

  auto err = [&](const std::string& file) {
    return error_of(scenario_with_q("{ file = \"" + dir / file + "\" }"));
  };
  std::string e = err("big.npy");
  CHECK(e.rfind("test.toml:8:5: model.Q must be a 3 x 3 matrix", 0) == 0);
  CHECK(e.find("got 4 x 4 from " + dir / "big.npy") != std::string::npos);
  e = err("int.npy");
  CHECK(e.rfind("test.toml:8:5: model.Q", 0) == 0);
  CHECK(e.find("int.npy") != std::string::npos);
  CHECK(e.find("dtype '<i8' is not supported (float64 or float32, little-endian)") != std::string::npos);
  CHECK(err("be.npy").find("'>f8' is big-endian") != std::string::npos);
  CHECK(err("vec.npy").find("shape (9,); a matrix needs 2 dimensions") != std::string::npos);
  CHECK(err("short.npy").find("truncated") != std::string::npos);
  CHECK(err("nan.npy").find("entry [1, 2] is NaN") != std::string::npos);
  CHECK(err("text.npy").find("not a NumPy .npy file") != std::string::npos);
  e = err("missing.npy");
  CHECK(e.rfind("test.toml:8:", 0) == 0);
  CHECK(e.find("does not exist") != std::string::npos);
  // Keys of the table are checked like any other key.
  e = error_of(scenario_with_q("{ file = \"" + dir / "big.npy" + "\", datset = \"/x\" }"));
  CHECK(e.find("unknown key 'datset' in [model.Q]; did you mean 'dataset'?") != std::string::npos);
  e = error_of(scenario_with_q("{ file = \"" + dir / "big.npy" + "\", dataset = \"/x\" }"));
  CHECK(e.find("does not apply to a .npy file") != std::string::npos);
  e = error_of(scenario_with_q("3.5"));
  CHECK(e.rfind("test.toml:8:5: model.Q must be \"identity\"", 0) == 0);
}

TEST_CASE("matrix from an HDF5 dataset: float64 and float32, nested groups, located errors") {
  TempDir dir;
  const RowMat m = sample(3, 3);
  const std::vector<double> v(m.data(), m.data() + 9);
  const std::string h5 = dir / "w.h5";
  write_h5(h5, "/l0/Wq", H5T_IEEE_F64LE, {3, 3}, v);
  write_h5(h5, "/l0/Wk32", H5T_IEEE_F32BE, {3, 3}, v);
  write_h5(h5, "/l0/ints", H5T_STD_I32LE, {3, 3}, std::vector<double>(9, 1.0));
  write_h5(h5, "/l0/cube", H5T_IEEE_F64LE, {3, 3, 1}, v);
  write_h5(h5, "/l1/W4", H5T_IEEE_F64LE, {4, 4}, std::vector<double>(16, 0.5));
  auto q = [&](const std::string& ds) {
    return scenario_with_q("{ file = \"" + h5 + "\", dataset = \"" + ds + "\" }");
  };
  const Scenario sc = test::scenario(q("/l0/Wq"));
  CHECK(q_of(sc) == m);
  CHECK(std::find(sc.inputs.begin(), sc.inputs.end(), h5) != sc.inputs.end());
  const RowMat q32 = q_of(test::scenario(q("l0/Wk32")));
  for (int k = 0; k < 9; ++k) CHECK(q32.data()[k] == static_cast<double>(static_cast<float>(v[static_cast<std::size_t>(k)])));

  std::string e = error_of(q("/l0/ints"));
  CHECK(e.rfind("test.toml:8:5: model.Q (dataset /l0/ints of " + h5 + "): ", 0) == 0);
  CHECK(e.find("holds integers; a matrix needs floating-point numbers") != std::string::npos);
  CHECK(error_of(q("/l0/Wx")).find("no dataset /l0/Wx in the file (/l0/Wx does not exist)") != std::string::npos);
  CHECK(error_of(q("/l7/Wq")).find("(/l7 does not exist)") != std::string::npos);
  CHECK(error_of(q("/l0")).find("/l0 is not a dataset") != std::string::npos);
  CHECK(error_of(q("/l0/cube")).find("shape (3, 3, 1); a matrix needs 2 dimensions") != std::string::npos);
  e = error_of(q("/l1/W4"));
  CHECK(e.rfind("test.toml:8:5: model.Q must be a 3 x 3 matrix", 0) == 0);
  CHECK(e.find("(got 4 x 4 from " + h5 + ")") != std::string::npos);
  // Without a dataset an HDF5 file is refused at the file key.
  e = error_of(scenario_with_q("{ file = \"" + h5 + "\" }"));
  CHECK(e.find("model.Q.file is an HDF5 file: name the dataset too") != std::string::npos);
  // A file that is not HDF5.
  std::ofstream(dir / "fake.h5") << "not hdf5";
  e = error_of(scenario_with_q("{ file = \"" + dir / "fake.h5" + "\", dataset = \"/x\" }"));
  CHECK(e.find("not an HDF5 file") != std::string::npos);
}

TEST_CASE("initial tokens from values = [[...]] and from a .npy file") {
  TempDir dir;
  const RowMat x = sample(5, 3);
  write_npy(dir / "x0.npy", "<f8", false, {5, 3}, row_major_f8(x));
  std::ostringstream vals;
  vals.precision(17);
  vals << "[";
  for (Index i = 0; i < 5; ++i) {
    vals << (i ? ", [" : "[");
    for (Index j = 0; j < 3; ++j) vals << (j ? ", " : "") << x(i, j);
    vals << "]";
  }
  vals << "]";
  auto text = [](const std::string& tokens) {
    return "[tokens]\nn = 5\nd = 3\n" + tokens +
           "\n[model]\nkind = \"attention\"\n[integrator]\nt_end = 1.0\n";
  };
  for (const std::string& t : {"init = \"values\"\nvalues = " + vals.str(),
                               "init = \"file\"\npath = \"" + dir / "x0.npy" + "\""}) {
    CAPTURE(t);
    const State s = Simulation(test::scenario(text(t))).state();
    CHECK(RowMat(s.x()) == x);
  }
  std::string e = error_of(text("init = \"values\"\nvalues = [[1, 2, 3]]"));
  CHECK(e.rfind("test.toml:5:10: tokens.values must be tokens.n x tokens.d = 5 x 3 (got 1 x 3)", 0) == 0);
  e = error_of(text("init = \"gaussian\"\nvalues = [[1, 2, 3]]"));
  CHECK(e.find("tokens.values applies only to init = \"values\"") != std::string::npos);
  write_npy(dir / "x4.npy", "<f8", false, {4, 3}, row_major_f8(sample(4, 3)));
  e = error_of(text("init = \"file\"\npath = \"" + dir / "x4.npy" + "\""));
  CHECK(e.find("tokens.path must hold tokens.n x tokens.d = 5 x 3 values (got 4 x 3") != std::string::npos);
}
