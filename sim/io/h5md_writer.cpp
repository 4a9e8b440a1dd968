#include "sim/io/h5md_writer.hpp"

#include <hdf5.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <Eigen/Eigenvalues>

#include "sim/core/error.hpp"
#include "sim/io/h5md_layout.hpp"

namespace attnflow {
namespace fs = std::filesystem;
using namespace h5md;

namespace {

void check(herr_t r, const char* what, const std::string& path) {
  if (r < 0) throw IoError(path + ": HDF5 failed to " + what);
}
hid_t check_id(hid_t id, const char* what, const std::string& path) {
  if (id < 0) throw IoError(path + ": HDF5 failed to " + what);
  return id;
}

void attr_string(hid_t obj, const char* name, const std::string& value) {
  hid_t t = H5Tcopy(H5T_C_S1);
  H5Tset_size(t, std::max<std::size_t>(1, value.size()));
  H5Tset_strpad(t, H5T_STR_NULLPAD);
  hid_t sp = H5Screate(H5S_SCALAR);
  hid_t a = H5Acreate2(obj, name, t, sp, H5P_DEFAULT, H5P_DEFAULT);
  H5Awrite(a, t, value.c_str());
  H5Aclose(a); H5Sclose(sp); H5Tclose(t);
}
void attr_strings(hid_t obj, const char* name, const std::vector<std::string>& values) {
  std::size_t w = 1;
  for (auto& v : values) w = std::max(w, v.size());
  std::string buf(w * values.size(), '\0');
  for (std::size_t i = 0; i < values.size(); ++i) buf.replace(i * w, values[i].size(), values[i]);
  hid_t t = H5Tcopy(H5T_C_S1);
  H5Tset_size(t, w);
  H5Tset_strpad(t, H5T_STR_NULLPAD);
  hsize_t n = values.size();
  hid_t sp = H5Screate_simple(1, &n, nullptr);
  hid_t a = H5Acreate2(obj, name, t, sp, H5P_DEFAULT, H5P_DEFAULT);
  H5Awrite(a, t, buf.data());
  H5Aclose(a); H5Sclose(sp); H5Tclose(t);
}
template <class T>
void attr_ints(hid_t obj, const char* name, const std::vector<T>& v) {
  hsize_t n = v.size();
  hid_t sp = n == 1 ? H5Screate(H5S_SCALAR) : H5Screate_simple(1, &n, nullptr);
  std::vector<long long> buf(v.begin(), v.end());
  hid_t a = H5Acreate2(obj, name, H5T_STD_I64LE, sp, H5P_DEFAULT, H5P_DEFAULT);
  H5Awrite(a, H5T_NATIVE_LLONG, buf.data());
  H5Aclose(a); H5Sclose(sp);
}
void attr_doubles(hid_t obj, const char* name, const std::vector<double>& v) {
  hsize_t n = v.size();
  hid_t sp = n == 1 ? H5Screate(H5S_SCALAR) : H5Screate_simple(1, &n, nullptr);
  hid_t a = H5Acreate2(obj, name, H5T_IEEE_F64LE, sp, H5P_DEFAULT, H5P_DEFAULT);
  H5Awrite(a, H5T_NATIVE_DOUBLE, v.data());
  H5Aclose(a); H5Sclose(sp);
}
void dataset_string(hid_t loc, const char* name, const std::string& value) {
  hid_t t = H5Tcopy(H5T_C_S1);
  H5Tset_size(t, std::max<std::size_t>(1, value.size()));
  H5Tset_strpad(t, H5T_STR_NULLPAD);
  hid_t sp = H5Screate(H5S_SCALAR);
  hid_t d = H5Dcreate2(loc, name, t, sp, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
  H5Dwrite(d, t, H5S_ALL, H5S_ALL, H5P_DEFAULT, value.c_str());
  H5Dclose(d); H5Sclose(sp); H5Tclose(t);
}

// Creates an extendible dataset of shape [0][dims...] chunked one frame per chunk.
hid_t create_series(hid_t loc, const char* name, hid_t type, std::vector<hsize_t> dims,
                    const std::string& path) {
  std::vector<hsize_t> cur{0}, max{H5S_UNLIMITED}, chunk{1};
  hsize_t frame = 1;
  for (auto d : dims) cur.push_back(d), max.push_back(d), chunk.push_back(d), frame *= d;
  if (dims.empty()) chunk[0] = 512;  // scalar series: many samples per chunk
  // Keep chunks under ~1 MiB: split the particle axis for very large N.
  if (!dims.empty() && frame * 8 > (1u << 20)) chunk[1] = std::max<hsize_t>(1, ((1u << 20) / 8) / (frame / dims[0]));
  hid_t sp = H5Screate_simple(static_cast<int>(cur.size()), cur.data(), max.data());
  hid_t pl = H5Pcreate(H5P_DATASET_CREATE);
  H5Pset_chunk(pl, static_cast<int>(chunk.size()), chunk.data());
  hid_t d = H5Dcreate2(loc, name, type, sp, H5P_DEFAULT, pl, H5P_DEFAULT);
  H5Pclose(pl); H5Sclose(sp);
  return check_id(d, "create a dataset", path);
}

void append(hid_t ds, hid_t memtype, const void* data, std::int64_t index, const std::string& path) {
  hid_t sp = H5Dget_space(ds);
  const int rank = H5Sget_simple_extent_ndims(sp);
  std::vector<hsize_t> dims(static_cast<std::size_t>(rank));
  H5Sget_simple_extent_dims(sp, dims.data(), nullptr);
  H5Sclose(sp);
  dims[0] = static_cast<hsize_t>(index + 1);
  check(H5Dset_extent(ds, dims.data()), "extend a dataset", path);
  hid_t fsp = H5Dget_space(ds);
  std::vector<hsize_t> start(dims.size(), 0), count = dims;
  start[0] = static_cast<hsize_t>(index);
  count[0] = 1;
  H5Sselect_hyperslab(fsp, H5S_SELECT_SET, start.data(), nullptr, count.data(), nullptr);
  hid_t msp = H5Screate_simple(rank, count.data(), nullptr);
  const herr_t r = H5Dwrite(ds, memtype, msp, fsp, H5P_DEFAULT, data);
  H5Sclose(msp); H5Sclose(fsp);
  check(r, "write a frame", path);
}

hid_t group(hid_t loc, const char* name) { return H5Gcreate2(loc, name, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT); }

// step and time of a per-frame element: hard links to the positions' (H5MD shared time axis).
void link_time_axis(hid_t file, hid_t g) {
  H5Lcreate_hard(file, kPositionStep, g, kStep, H5P_DEFAULT, H5P_DEFAULT);
  H5Lcreate_hard(file, kPositionTime, g, kTime, H5P_DEFAULT, H5P_DEFAULT);
}

// The run file holds its own lock (output_claim.hpp); HDF5's lock on a second descriptor of the
// same file would conflict with it.
hid_t writer_fapl() {
  hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
  H5Pset_libver_bounds(fapl, H5F_LIBVER_V18, H5F_LIBVER_V18);
  H5Pset_file_locking(fapl, false, true);
  return fapl;
}

std::string xml_escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&apos;"; break;
      default: out += c;
    }
  }
  return out;
}

}  // namespace

void H5mdWriter::compute_view_basis(const State& initial) {
  const Index d = initial.shape.d;
  // View basis: the first three coordinates, or the PCA basis of the initial cloud for d > 3.
  view_basis_ = RowMat::Zero(d, 3);
  view_center_ = Vec::Zero(d);
  if (d <= 3) {
    for (Index k = 0; k < d; ++k) view_basis_(k, k) = 1;
  } else {
    const auto x = initial.x();
    const Vec mu = x.colwise().mean().transpose();
    RowMat xc = x.rowwise() - mu.transpose();
    Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> es((xc.transpose() * xc).eval());
    for (Index k = 0; k < 3; ++k) view_basis_.col(k) = es.eigenvectors().col(d - 1 - k);
    // Sign convention so the basis is deterministic: largest-magnitude entry positive.
    for (Index k = 0; k < 3; ++k) {
      Index imax;
      view_basis_.col(k).cwiseAbs().maxCoeff(&imax);
      if (view_basis_(imax, k) < 0) view_basis_.col(k) *= -1;
    }
  }

}

H5mdWriter::H5mdWriter(const std::string& path, const Scenario& sc,
                       const std::vector<std::string>& observables, const State& frame0,
                       const Model* model, Index checkpoint_size, const WriterOptions& opt)
    : path_(path), sidecar_(sidecar_path(path)), shape_(frame0.shape) {
  H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);
  compute_view_basis(frame0);
  if (opt.resume) {
    open_existing(*opt.resume, observables, checkpoint_size);
    return;
  }
  claim_ = std::make_unique<OutputClaim>(path, opt.existing);
  try {
    create(sc, observables, model, checkpoint_size);
  } catch (...) {
    close();
    throw;
  }
}

void H5mdWriter::create(const Scenario& sc, const std::vector<std::string>& observables,
                        const Model* model, Index checkpoint_size) {
  const std::string& part = claim_->part();
  hid_t fapl = writer_fapl();
  file_ = H5Fcreate(part.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, fapl);
  H5Pclose(fapl);
  if (file_ < 0) throw IoError(part + ": cannot create output file");

  const Index n = shape_.n, d = shape_.d;
  hid_t h5 = group(file_, kH5md);
  attr_ints<int>(h5, attr::kVersion, {1, 1});
  H5Gclose(h5);
  hid_t g = group(file_, kAuthor);
  attr_string(g, attr::kName, "attnflow user");
  H5Gclose(g);
  g = group(file_, kCreator);
  attr_string(g, attr::kName, "attnflow");
  attr_string(g, attr::kVersion, ATTNFLOW_VERSION);
  H5Gclose(g);

  H5Gclose(group(file_, kParticles));
  hid_t tokens = group(file_, kTokens);
  hid_t box = group(file_, kTokensBox);
  attr_ints<long long>(box, attr::kDimension, {static_cast<long long>(d)});
  attr_strings(box, attr::kBoundary, std::vector<std::string>(static_cast<std::size_t>(d), "none"));
  H5Gclose(box);
  {
    // H5MD `id`: time-independent token index (a per-token array in the ParaView sidecar).
    hsize_t len = static_cast<hsize_t>(n);
    std::vector<long long> ids(static_cast<std::size_t>(n));
    for (Index i = 0; i < n; ++i) ids[static_cast<std::size_t>(i)] = i;
    hid_t sp = H5Screate_simple(1, &len, nullptr);
    hid_t ds = H5Dcreate2(file_, kTokenId, H5T_STD_I64LE, sp, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    check_id(ds, (std::string("create ") + kTokenId).c_str(), part);
    H5Dwrite(ds, H5T_NATIVE_LLONG, H5S_ALL, H5S_ALL, H5P_DEFAULT, ids.data());
    H5Dclose(ds);
    H5Sclose(sp);
  }
  hid_t posg = group(file_, kPosition);
  step_ = create_series(posg, kStep, H5T_STD_I64LE, {}, part);
  time_ = create_series(posg, kTime, H5T_IEEE_F64LE, {}, part);
  pos_ = create_series(posg, kValue, H5T_IEEE_F64LE, {hsize_t(n), hsize_t(d)}, part);
  H5Gclose(posg);
  if (shape_.momentum) {
    hid_t mg = group(file_, kMomentum);
    link_time_axis(file_, mg);
    mom_ = create_series(mg, kValue, H5T_IEEE_F64LE, {hsize_t(n), hsize_t(d)}, part);
    H5Gclose(mg);
  }
  if (model && model->phase_state() && d == 1) {
    hid_t pg = group(file_, kPhase);
    link_time_axis(file_, pg);
    phase_ = create_series(pg, kValue, H5T_IEEE_F64LE, {hsize_t(n)}, part);
    H5Gclose(pg);
    phase_view_ = true;
  }
  if (const Model::DensityField* f = model ? model->density_field() : nullptr; f && d == 1) {
    H5Gclose(group(file_, kFields));
    hid_t dg = group(file_, kDensity);
    const double h = 2 * M_PI / static_cast<double>(n);
    attr_ints<long long>(dg, attr::kCells, {static_cast<long long>(n)});
    attr_doubles(dg, attr::kCellWidth, {h});
    attr_doubles(dg, attr::kBeta, {f->beta});
    attr_string(dg, attr::kNormalization, f->normalization);
    std::vector<double> grid(n);
    for (Index i = 0; i < n; ++i) grid[i] = (static_cast<double>(i) + 0.5) * h;
    hsize_t len = static_cast<hsize_t>(n);
    hid_t sp = H5Screate_simple(1, &len, nullptr);
    hid_t ds = H5Dcreate2(file_, kDensityGrid, H5T_IEEE_F64LE, sp, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    check_id(ds, "create the density grid", part);
    H5Dwrite(ds, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, grid.data());
    H5Dclose(ds);
    H5Sclose(sp);
    link_time_axis(file_, dg);
    H5Lcreate_hard(file_, kPositionValue, dg, kValue, H5P_DEFAULT, H5P_DEFAULT);
    H5Gclose(dg);
    density_view_ = true;
  }
  if (model) {
    for (const auto& [name, values] : model->per_token_constants()) {
      hsize_t len = static_cast<hsize_t>(values.size());
      hid_t sp = H5Screate_simple(1, &len, nullptr);
      hid_t ds = H5Dcreate2(tokens, name.c_str(), H5T_IEEE_F64LE, sp, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
      check_id(ds, "create a per-token dataset", part);
      H5Dwrite(ds, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, values.data());
      H5Dclose(ds);
      H5Sclose(sp);
    }
  }
  H5Gclose(tokens);

  H5Gclose(group(file_, kView));
  box = group(file_, kViewBox);
  attr_ints<long long>(box, attr::kDimension, {3});
  attr_strings(box, attr::kBoundary, {"none", "none", "none"});
  H5Gclose(box);
  hid_t vg = group(file_, kViewPosition);
  link_time_axis(file_, vg);
  view_ = create_series(vg, kValue, H5T_IEEE_F64LE, {hsize_t(n), 3}, part);
  H5Gclose(vg);

  H5Gclose(group(file_, kObservables));
  for (const auto& name : observables) {
    hid_t g2 = group(file_, observable(name).c_str());
    link_time_axis(file_, g2);
    obs_.push_back(create_series(g2, kValue, H5T_IEEE_F64LE, {}, part));
    H5Gclose(g2);
  }

  if (checkpoint_size >= 0) {
    H5Gclose(group(file_, kCheckpoint));
    hid_t g3 = group(file_, kCounters);
    link_time_axis(file_, g3);
    counters_ = create_series(g3, kValue, H5T_STD_I64LE, {3}, part);
    H5Gclose(g3);
    if (checkpoint_size > 0) {
      hid_t g4 = group(file_, kIntegrator);
      link_time_axis(file_, g4);
      integ_ = create_series(g4, kValue, H5T_IEEE_F64LE, {hsize_t(checkpoint_size)}, part);
      H5Gclose(g4);
    }
  }

  hid_t par = group(file_, kParameters);
  {
    std::error_code ec2;
    const fs::path sp = fs::absolute(sc.path, ec2);
    attr_string(par, attr::kScenarioPath, ec2 ? sc.path : sp.string());
  }
  dataset_string(file_, kScenario, sc.resolved_toml);
  dataset_string(file_, kScenarioSource, sc.source_text);
  attr_string(par, attr::kScenarioHash, scenario_hash(sc.resolved_toml));
  attr_string(par, attr::kName, sc.run.name);
  attr_string(par, attr::kSpace, sc.tokens.space == Space::Sphere ? "sphere" : "euclidean");
  attr_string(par, attr::kModel, sc.model_kind);
  attr_string(par, attr::kIntegrator, sc.integrator.kind);
  attr_ints<long long>(par, attr::kD, {static_cast<long long>(d)});
  attr_ints<long long>(par, attr::kN, {static_cast<long long>(n)});
  attr_ints<unsigned long long>(par, attr::kSeed, {sc.run.seed});
  attr_string(par, attr::kAttnflowVersion, ATTNFLOW_VERSION);
  H5Gclose(par);
  check(H5Fflush(file_, H5F_SCOPE_GLOBAL), "flush", part);
}

H5mdWriter::~H5mdWriter() {
  try { close(); } catch (...) {}
}

void H5mdWriter::write_frame(std::int64_t step, double t, const State& s, const std::vector<double>& obs,
                             const FrameCheckpoint& ck) {
  const std::int64_t k = frames_;
  const long long st = step;
  append(step_, H5T_NATIVE_LLONG, &st, k, path_);
  append(time_, H5T_NATIVE_DOUBLE, &t, k, path_);
  append(pos_, H5T_NATIVE_DOUBLE, s.u.data(), k, path_);
  if (mom_ >= 0) append(mom_, H5T_NATIVE_DOUBLE, s.u.data() + s.shape.block(), k, path_);
  RowMat v;
  if (phase_view_) {
    v = RowMat::Zero(s.shape.n, 3);
    v.col(0) = s.x().col(0).array().cos();
    v.col(1) = s.x().col(0).array().sin();
    append(phase_, H5T_NATIVE_DOUBLE, s.u.data(), k, path_);
  } else if (density_view_) {
    const Index m = s.shape.n;
    v = RowMat::Zero(m, 3);
    for (Index i = 0; i < m; ++i) {
      const double th = (static_cast<double>(i) + 0.5) * 2 * M_PI / static_cast<double>(m);
      v(i, 0) = std::cos(th);
      v(i, 1) = std::sin(th);
      v(i, 2) = s.u[i];
    }
  } else {
    v = (s.x().rowwise() - view_center_.transpose()) * view_basis_;
  }
  append(view_, H5T_NATIVE_DOUBLE, v.data(), k, path_);
  for (std::size_t i = 0; i < obs_.size(); ++i) append(obs_[i], H5T_NATIVE_DOUBLE, &obs[i], k, path_);
  if (counters_ >= 0) {
    const long long c[3] = {ck.rhs_evals, ck.oracle_calls, ck.rejected};
    append(counters_, H5T_NATIVE_LLONG, c, k, path_);
  }
  if (integ_ >= 0) append(integ_, H5T_NATIVE_DOUBLE, ck.integrator.data(), k, path_);
  check(H5Fflush(file_, H5F_SCOPE_GLOBAL), "flush", path_);
  ++frames_;
  times_.push_back(t);
  // Frame 0 is the initial state; the first computed frame puts the file in place.
  if (!committed_ && frames_ >= 2) commit();
  // Rewrite the sidecar often early on, then sparsely (it is O(T) to write).
  if (committed_ && (frames_ <= 200 || frames_ % 50 == 0)) write_sidecar();
}

void H5mdWriter::commit() {
  claim_->commit();
  committed_ = true;
  write_sidecar();
}

void H5mdWriter::write_sidecar() {
  const std::string h5name = xml_escape(fs::path(path_).filename().string());
  const Index n = shape_.n;
  const std::int64_t T = frames_;
  std::ostringstream x;
  x.precision(17);
  x << "<?xml version=\"1.0\" ?>\n<!DOCTYPE Xdmf SYSTEM \"Xdmf.dtd\" []>\n"
    << "<Xdmf Version=\"2.0\">\n <Domain>\n"
    << "  <Grid Name=\"tokens\" GridType=\"Collection\" CollectionType=\"Temporal\">\n";
  for (std::int64_t k = 0; k < T; ++k) {
    x << "   <Grid Name=\"frame_" << k << "\" GridType=\"Uniform\">\n"
      << "    <Time Value=\"" << times_[static_cast<std::size_t>(k)] << "\"/>\n"
      << "    <Topology TopologyType=\"Polyvertex\" NumberOfElements=\"" << n
      << "\" NodesPerElement=\"1\"/>\n"
      << "    <Geometry GeometryType=\"XYZ\">\n"
      << "     <DataItem ItemType=\"HyperSlab\" Dimensions=\"1 " << n << " 3\" Type=\"HyperSlab\">\n"
      << "      <DataItem Dimensions=\"3 3\" Format=\"XML\">" << k << " 0 0 1 1 1 1 " << n
      << " 3</DataItem>\n"
      << "      <DataItem Dimensions=\"" << T << " " << n
      << " 3\" NumberType=\"Float\" Precision=\"8\" Format=\"HDF\">" << h5name << ":" << kViewValue
      << "</DataItem>\n"
      << "     </DataItem>\n    </Geometry>\n"
      << "    <Attribute Name=\"token_id\" AttributeType=\"Scalar\" Center=\"Node\">\n"
      << "     <DataItem Dimensions=\"" << n << "\" NumberType=\"Int\" Precision=\"8\" Format=\"HDF\">"
      << h5name << ":" << kTokenId << "</DataItem>\n    </Attribute>\n";
    if (phase_ >= 0)
      x << "    <Attribute Name=\"phase\" AttributeType=\"Scalar\" Center=\"Node\">\n"
        << "     <DataItem ItemType=\"HyperSlab\" Dimensions=\"1 " << n << "\" Type=\"HyperSlab\">\n"
        << "      <DataItem Dimensions=\"3 2\" Format=\"XML\">" << k << " 0 1 1 1 " << n << "</DataItem>\n"
        << "      <DataItem Dimensions=\"" << T << " " << n
        << "\" NumberType=\"Float\" Precision=\"8\" Format=\"HDF\">" << h5name << ":" << kPhaseValue
        << "</DataItem>\n     </DataItem>\n    </Attribute>\n";
    if (mom_ >= 0 && shape_.d == 3)
      x << "    <Attribute Name=\"momentum\" AttributeType=\"Vector\" Center=\"Node\">\n"
        << "     <DataItem ItemType=\"HyperSlab\" Dimensions=\"1 " << n << " 3\" Type=\"HyperSlab\">\n"
        << "      <DataItem Dimensions=\"3 3\" Format=\"XML\">" << k << " 0 0 1 1 1 1 " << n
        << " 3</DataItem>\n"
        << "      <DataItem Dimensions=\"" << T << " " << n
        << " 3\" NumberType=\"Float\" Precision=\"8\" Format=\"HDF\">" << h5name << ":" << kMomentumValue
        << "</DataItem>\n     </DataItem>\n    </Attribute>\n";
    x << "   </Grid>\n";
  }
  x << "  </Grid>\n </Domain>\n</Xdmf>\n";
  const std::string tmp = sidecar_ + ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    if (!out) throw IoError(sidecar_ + ": cannot write ParaView sidecar");
    out << x.str();
  }
  std::error_code ec;
  fs::rename(tmp, sidecar_, ec);
  if (ec) throw IoError(sidecar_ + ": cannot write ParaView sidecar: " + ec.message());
}

static_assert(std::is_same_v<hid_t, std::int64_t>, "H5mdWriter::Handle must hold a hid_t");

void H5mdWriter::write_summary(const RunTotals& r) {
  if (file_ < 0) return;
  hid_t par = H5Gopen2(file_, kParameters, H5P_DEFAULT);
  auto put_int = [&](const char* name, long long v) {
    if (H5Aexists(par, name) > 0) H5Adelete(par, name);
    attr_ints<long long>(par, name, {v});
  };
  auto put_double = [&](const char* name, double v) {
    if (H5Aexists(par, name) > 0) H5Adelete(par, name);
    hid_t sp = H5Screate(H5S_SCALAR);
    hid_t a = H5Acreate2(par, name, H5T_IEEE_F64LE, sp, H5P_DEFAULT, H5P_DEFAULT);
    H5Awrite(a, H5T_NATIVE_DOUBLE, &v);
    H5Aclose(a);
    H5Sclose(sp);
  };
  put_int(attr::kSteps, r.steps);
  put_int(attr::kRhsEvals, r.rhs_evals);
  put_int(attr::kOracleCalls, r.oracle_calls);
  put_int(attr::kComplete, r.complete ? 1 : 0);
  put_double(attr::kTFinal, r.t_final);
  put_double(attr::kWallSeconds, r.wall_seconds);
  H5Gclose(par);
  check(H5Fflush(file_, H5F_SCOPE_GLOBAL), "flush", path_);
  // A complete run of a single frame has no computed frame: it is in place now.
  if (!committed_ && r.complete && frames_ > 0) commit();
}

namespace {
void truncate_to(hid_t ds, hsize_t t, const std::string& path) {
  hid_t sp = H5Dget_space(ds);
  hsize_t dims[4] = {0, 0, 0, 0};
  const int r = H5Sget_simple_extent_dims(sp, dims, nullptr);
  H5Sclose(sp);
  if (r < 1 || r > 4 || dims[0] < t) throw IoError(path + ": a series is shorter than the resume point");
  if (dims[0] != t) {
    dims[0] = t;
    check(H5Dset_extent(ds, dims), "cut a partly written frame", path);
  }
}
}  // namespace

void H5mdWriter::open_existing(const ResumePoint& rp, const std::vector<std::string>& observables,
                               Index checkpoint_size) {
  // The file is open and locked by the resume point's history (H5mdReader, Update access):
  // this second open shares it.
  committed_ = true;
  hid_t fapl = writer_fapl();
  H5Pset_libver_bounds(fapl, H5F_LIBVER_EARLIEST, H5F_LIBVER_LATEST);
  file_ = H5Fopen(path_.c_str(), H5F_ACC_RDWR, fapl);
  H5Pclose(fapl);
  if (file_ < 0) throw IoError(path_ + ": cannot open the run file for appending");
  auto open = [&](const std::string& name) {
    hid_t d = H5Dopen2(file_, name.c_str(), H5P_DEFAULT);
    if (d < 0) throw ConfigError(path_ + ": not an attnflow run file (no " + name + ")");
    return d;
  };
  step_ = open(kPositionStep);
  time_ = open(kPositionTime);
  pos_ = open(kPositionValue);
  view_ = open(kViewValue);
  if (shape_.momentum) mom_ = open(kMomentumValue);
  if (H5Lexists(file_, kPhase, H5P_DEFAULT) > 0) {
    phase_ = open(kPhaseValue);
    phase_view_ = true;
  }
  density_view_ = H5Lexists(file_, kFields, H5P_DEFAULT) > 0 && H5Lexists(file_, kDensity, H5P_DEFAULT) > 0;
  for (const auto& name : observables) obs_.push_back(open(observable_value(name)));
  counters_ = open(kCountersValue);
  if (checkpoint_size > 0) integ_ = open(kIntegratorValue);
  // Drop anything written after the last complete frame.
  const hsize_t t = static_cast<hsize_t>(rp.frames);
  for (hid_t d : {step_, time_, pos_, view_, counters_, mom_, phase_, integ_})
    if (d >= 0) truncate_to(d, t, path_);
  for (hid_t d : obs_) truncate_to(d, t, path_);
  frames_ = rp.frames;
  times_ = rp.times;
  times_.resize(static_cast<std::size_t>(frames_));
  hid_t par = H5Gopen2(file_, kParameters, H5P_DEFAULT);
  if (par >= 0) {
    if (H5Aexists(par, attr::kComplete) > 0) H5Adelete(par, attr::kComplete);
    H5Gclose(par);
  }
  check(H5Fflush(file_, H5F_SCOPE_GLOBAL), "flush", path_);
}

void H5mdWriter::close() {
  if (file_ >= 0) {
    if (committed_ && frames_ > 200 && frames_ % 50 != 0) write_sidecar();
    for (hid_t d : obs_) H5Dclose(d);
    obs_.clear();
    for (hid_t* d : {&step_, &time_, &pos_, &mom_, &view_, &phase_, &counters_, &integ_})
      if (*d >= 0) { H5Dclose(*d); *d = -1; }
    H5Fclose(file_);
    file_ = -1;
  }
  // Uncommitted: nothing computed was written; the .part goes and an earlier file stays.
  if (claim_) {
    if (committed_)
      claim_->release();
    else
      claim_->abandon();
  }
}

}  // namespace attnflow
