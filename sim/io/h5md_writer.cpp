#include "sim/io/h5md_writer.hpp"

#include <hdf5.h>
#ifdef ATTNFLOW_PARALLEL_HDF5
#include <mpi.h>
#endif

#include <cmath>
#include <cstring>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <Eigen/Eigenvalues>

#include "sim/core/error.hpp"
#include "sim/io/collective.hpp"
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

// What of a dataset (of one frame of a series) this rank writes: all of it, or ranges along the
// token axis (every element of the axes after it), possibly none. Serial: all. Distributed: a
// rank's rows of the per-token data; rank 0 all of the rest, the others none (they still take
// part in the collective transfer).
struct Part {
  bool all = true;
  std::vector<std::pair<hsize_t, hsize_t>> ranges;  // (start, count) along the token axis
};
Part nothing() { return Part{false, {}}; }

// Writes `data` (the selected elements, in file order) to `ds`: frame `frame` of a series
// ([T][...], token axis 1), or, frame < 0, a fixed dataset (token axis 0).
void write_part(hid_t ds, hid_t memtype, const void* data, std::int64_t frame, const Part& part,
                hid_t xfer, const std::string& path) {
  hid_t fsp = H5Dget_space(ds);
  const int rank = H5Sget_simple_extent_ndims(fsp);
  std::vector<hsize_t> dims(static_cast<std::size_t>(rank));
  H5Sget_simple_extent_dims(fsp, dims.data(), nullptr);
  std::vector<hsize_t> start(dims.size(), 0), count = dims;
  if (frame >= 0) start[0] = static_cast<hsize_t>(frame), count[0] = 1;
  const std::size_t axis = frame >= 0 ? 1 : 0;
  auto size_of = [](const std::vector<hsize_t>& c) {
    hsize_t n = 1;
    for (auto k : c) n *= k;
    return n;
  };
  hsize_t n = 0;
  if (rank == 0) {  // a scalar dataset: all or nothing
    if (part.all) {
      H5Sselect_all(fsp);
      n = 1;
    } else {
      H5Sselect_none(fsp);
    }
  } else if (part.all) {
    H5Sselect_hyperslab(fsp, H5S_SELECT_SET, start.data(), nullptr, count.data(), nullptr);
    n = size_of(count);
  } else {
    H5Sselect_none(fsp);
    for (const auto& [first, len] : part.ranges) {
      if (len == 0) continue;
      if (axis >= dims.size()) throw Error(path + ": rows of a dataset without a token axis");
      std::vector<hsize_t> st = start, ct = count;
      st[axis] = first;
      ct[axis] = len;
      H5Sselect_hyperslab(fsp, n == 0 ? H5S_SELECT_SET : H5S_SELECT_OR, st.data(), nullptr,
                          ct.data(), nullptr);
      n += size_of(ct);
    }
  }
  const hsize_t mlen = std::max<hsize_t>(n, 1);
  hid_t msp = rank == 0 ? H5Screate(H5S_SCALAR) : H5Screate_simple(1, &mlen, nullptr);
  if (n == 0) H5Sselect_none(msp);
  const double dummy = 0;  // (a rank that writes nothing still passes a buffer)
  const herr_t r = H5Dwrite(ds, memtype, msp, fsp, xfer, n == 0 ? &dummy : data);
  H5Sclose(msp); H5Sclose(fsp);
  check(r, frame >= 0 ? "write a frame" : "write a dataset", path);
}

// Frame `index` of a series: the series grows to index + 1 frames (every rank: H5Dset_extent is
// collective), then this rank writes its part of the frame.
void append(hid_t ds, hid_t memtype, const void* data, std::int64_t index, const Part& part,
            hid_t xfer, const std::string& path) {
  hid_t sp = H5Dget_space(ds);
  const int rank = H5Sget_simple_extent_ndims(sp);
  std::vector<hsize_t> dims(static_cast<std::size_t>(rank));
  H5Sget_simple_extent_dims(sp, dims.data(), nullptr);
  H5Sclose(sp);
  dims[0] = static_cast<hsize_t>(index + 1);
  check(H5Dset_extent(ds, dims.data()), "extend a dataset", path);
  write_part(ds, memtype, data, index, part, xfer, path);
}

// A scalar string dataset (rank 0 writes it).
void dataset_string(hid_t loc, const char* name, const std::string& value, const Part& part,
                    hid_t xfer, const std::string& path) {
  hid_t t = H5Tcopy(H5T_C_S1);
  H5Tset_size(t, std::max<std::size_t>(1, value.size()));
  H5Tset_strpad(t, H5T_STR_NULLPAD);
  hid_t sp = H5Screate(H5S_SCALAR);
  hid_t d = H5Dcreate2(loc, name, t, sp, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
  H5Sclose(sp);
  if (d < 0) {
    H5Tclose(t);
    throw IoError(path + ": HDF5 failed to create " + name);
  }
  try {
    write_part(d, t, value.c_str(), -1, part, xfer, path);
  } catch (...) {
    H5Dclose(d); H5Tclose(t);
    throw;
  }
  H5Dclose(d); H5Tclose(t);
}

// A fixed [N] dataset of per-token (or per-cell) values; `mine` holds this rank's part.
void dataset_rows(hid_t loc, const char* name, hid_t filetype, hid_t memtype, hsize_t n,
                  const void* mine, const Part& part, hid_t xfer, const std::string& path,
                  const std::string& what) {
  hid_t sp = H5Screate_simple(1, &n, nullptr);
  hid_t ds = H5Dcreate2(loc, name, filetype, sp, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
  H5Sclose(sp);
  check_id(ds, what.c_str(), path);
  try {
    write_part(ds, memtype, mine, -1, part, xfer, path);
  } catch (...) {
    H5Dclose(ds);
    throw;
  }
  H5Dclose(ds);
}

hid_t group(hid_t loc, const char* name) { return H5Gcreate2(loc, name, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT); }

// step and time of a per-frame element: hard links to the positions' (H5MD shared time axis).
void link_time_axis(hid_t file, hid_t g) {
  H5Lcreate_hard(file, kPositionStep, g, kStep, H5P_DEFAULT, H5P_DEFAULT);
  H5Lcreate_hard(file, kPositionTime, g, kTime, H5P_DEFAULT, H5P_DEFAULT);
}

// The run file holds its own lock (output_claim.hpp); HDF5's lock on a second descriptor of the
// same file would conflict with it. Distributed: MPI-IO on the ranks' communicator (the mpio
// driver takes no lock of its own; rank 0 holds the run file's flock). Parallel HDF5 1.10.8
// takes the serial writer's settings as they are (these bounds, chunked series extended by
// H5Dset_extent); it would refuse filters (compression) on independent writes, but the writer
// uses none.
hid_t writer_fapl(const Comm* comm, const std::string& path) {
  hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
  H5Pset_libver_bounds(fapl, H5F_LIBVER_V18, H5F_LIBVER_V18);
  H5Pset_file_locking(fapl, false, true);
  if (comm) {
#ifdef ATTNFLOW_PARALLEL_HDF5
    check(H5Pset_fapl_mpio(fapl, *static_cast<const MPI_Comm*>(comm->native()), MPI_INFO_NULL),
          "use MPI-IO", path);
#else
    H5Pclose(fapl);
    throw Error(path + ": a distributed run file needs the parallel HDF5 of attnflow-mpi");
#endif
  }
  return fapl;
}

// Collective transfers when distributed (every rank calls H5Dwrite; those with nothing to
// write select none), else the default list.
hid_t transfer_list(const Comm* comm) {
#ifdef ATTNFLOW_PARALLEL_HDF5
  if (comm) {
    hid_t x = H5Pcreate(H5P_DATASET_XFER);
    H5Pset_dxpl_mpio(x, H5FD_MPIO_COLLECTIVE);
    return x;
  }
#endif
  (void)comm;
  return H5P_DEFAULT;
}

// This rank's part of each kind of dataset.
struct Parts {
  Part rows;        // per-token data: its rows
  Part root;        // per-frame scalars and the rest: rank 0 all, the others nothing
  Part checkpoint;  // the integrator's: rank 0 the head, every rank its rows of each block
};
Parts parts_of(const Comm* comm, const RowBlock& rows, Index ck_size, Index ck_blocks,
               const Shape& shape) {
  Parts p;
  if (!comm) return p;  // serial: everything is this rank's
  const hsize_t off = static_cast<hsize_t>(rows.offset), cnt = static_cast<hsize_t>(rows.count);
  p.rows = Part{false, {{off, cnt}}};
  p.root = comm->rank() == 0 ? Part{} : nothing();
  // [head | block 0 | block 1 | ...], each block N x d in the token order.
  p.checkpoint = nothing();
  const hsize_t d = static_cast<hsize_t>(shape.d), nd = static_cast<hsize_t>(shape.block());
  const hsize_t head = static_cast<hsize_t>(ck_size - ck_blocks * shape.block());
  if (comm->rank() == 0 && head > 0) p.checkpoint.ranges.push_back({0, head});
  for (Index b = 0; b < ck_blocks; ++b)
    p.checkpoint.ranges.push_back({head + static_cast<hsize_t>(b) * nd + off * d, cnt * d});
  return p;
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
    : comm_(opt.comm),
      rows_(opt.comm ? opt.rows : RowBlock{0, frame0.shape.n, frame0.shape.n}),
      ck_blocks_(opt.comm ? opt.checkpoint_blocks : 0),
      path_(path),
      sidecar_(sidecar_path(path)),
      shape_(frame0.shape) {
  H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);
  if (comm_ && (rows_.total != shape_.n || rows_.offset < 0 || rows_.count < 0 ||
                rows_.offset + rows_.count > shape_.n))
    throw Error(path + ": the rows of a distributed writer do not fit the " +
                std::to_string(shape_.n) + " tokens");
  compute_view_basis(frame0);
  xfer_ = transfer_list(comm_);
  if (opt.resume) {
    try {
      open_existing(*opt.resume, observables, checkpoint_size);
    } catch (...) {
      close();
      throw;
    }
    return;
  }
  std::string part;
  // Rank 0 claims the output (refusals, exit 2, reach every rank before anything is created);
  // the others then open the .part it created.
  on_root(comm_, [&] {
    claim_ = std::make_unique<OutputClaim>(path, opt.existing);
    part = claim_->part();
  });
  if (comm_) comm_->broadcast(part);
  try {
    create(part, sc, observables, model, checkpoint_size);
  } catch (...) {
    close();
    throw;
  }
}

void H5mdWriter::create(const std::string& part_path, const Scenario& sc,
                        const std::vector<std::string>& observables, const Model* model,
                        Index checkpoint_size) {
  const std::string& part = part_path;
  ck_size_ = checkpoint_size;
  if (ck_size_ < ck_blocks_ * shape_.block())
    throw Error(path_ + ": the integrator checkpoint is shorter than its per-token blocks");
  const Parts pp = parts_of(comm_, rows_, ck_size_, ck_blocks_, shape_);
  hid_t fapl = writer_fapl(comm_, part);
  file_ = H5Fcreate(part.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, fapl);
  H5Pclose(fapl);
  if (file_ < 0) throw IoError(part + ": cannot create output file");

  const Index n = shape_.n, d = shape_.d;
  const Index off = rows_.offset, cnt = rows_.count;
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
    std::vector<long long> ids(static_cast<std::size_t>(cnt));
    for (Index i = 0; i < cnt; ++i) ids[static_cast<std::size_t>(i)] = off + i;
    dataset_rows(file_, kTokenId, H5T_STD_I64LE, H5T_NATIVE_LLONG, static_cast<hsize_t>(n),
                 ids.data(), pp.rows, xfer_, part, std::string("create ") + kTokenId);
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
    std::vector<double> grid(static_cast<std::size_t>(cnt));
    for (Index i = 0; i < cnt; ++i) grid[i] = (static_cast<double>(off + i) + 0.5) * h;
    dataset_rows(file_, kDensityGrid, H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, static_cast<hsize_t>(n),
                 grid.data(), pp.rows, xfer_, part, "create the density grid");
    link_time_axis(file_, dg);
    H5Lcreate_hard(file_, kPositionValue, dg, kValue, H5P_DEFAULT, H5P_DEFAULT);
    H5Gclose(dg);
    density_view_ = true;
  }
  if (model) {
    // The whole system's model: every rank has all N values and writes its rows.
    for (const auto& [name, values] : model->per_token_constants()) {
      if (comm_ && static_cast<Index>(values.size()) != n)
        throw Error(path_ + ": per-token constant " + name + " has " + std::to_string(values.size()) +
                    " values for " + std::to_string(n) + " tokens");
      dataset_rows(tokens, name.c_str(), H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, values.size(),
                   values.data() + (comm_ ? off : 0), pp.rows, xfer_, part,
                   "create a per-token dataset");
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
    std::string scenario_path = ec2 ? sc.path : sp.string();
    // Attributes must be the same on every rank: rank 0's (the ranks' working folders may
    // differ on several machines).
    if (comm_) comm_->broadcast(scenario_path);
    attr_string(par, attr::kScenarioPath, scenario_path);
  }
  dataset_string(file_, kScenario, sc.resolved_toml, pp.root, xfer_, part);
  dataset_string(file_, kScenarioSource, sc.source_text, pp.root, xfer_, part);
  attr_string(par, attr::kScenarioHash, scenario_hash(sc.resolved_toml));
  attr_string(par, attr::kName, sc.run.name);
  attr_string(par, attr::kSpace, sc.tokens.space == Space::Sphere ? "sphere" : "euclidean");
  attr_string(par, attr::kModel, sc.model_kind);
  attr_string(par, attr::kIntegrator, sc.integrator.kind);
  attr_ints<long long>(par, attr::kD, {static_cast<long long>(d)});
  attr_ints<long long>(par, attr::kN, {static_cast<long long>(n)});
  attr_ints<unsigned long long>(par, attr::kSeed, {sc.run.seed});
  attr_string(par, attr::kAttnflowVersion, ATTNFLOW_VERSION);
  attr_ints<long long>(par, attr::kMpiRanks, {comm_ ? comm_->size() : 1});
  H5Gclose(par);
  check(H5Fflush(file_, H5F_SCOPE_GLOBAL), "flush", part);
}

H5mdWriter::~H5mdWriter() {
  try { close(); } catch (...) {}
}

void H5mdWriter::write_frame(std::int64_t step, double t, const State& s, const std::vector<double>& obs,
                             const FrameCheckpoint& ck) {
  if (s.shape.n != rows_.count || s.shape.d != shape_.d || s.shape.momentum != shape_.momentum)
    throw Error(path_ + ": a frame of " + std::to_string(s.shape.n) + " tokens for rows of " +
                std::to_string(rows_.count));
  const Parts pp = parts_of(comm_, rows_, ck_size_, ck_blocks_, shape_);
  const std::int64_t k = frames_;
  const long long st = step;
  append(step_, H5T_NATIVE_LLONG, &st, k, pp.root, xfer_, path_);
  append(time_, H5T_NATIVE_DOUBLE, &t, k, pp.root, xfer_, path_);
  append(pos_, H5T_NATIVE_DOUBLE, s.u.data(), k, pp.rows, xfer_, path_);
  if (mom_ >= 0) append(mom_, H5T_NATIVE_DOUBLE, s.u.data() + s.shape.block(), k, pp.rows, xfer_, path_);
  RowMat v;
  if (phase_view_) {
    v = RowMat::Zero(s.shape.n, 3);
    v.col(0) = s.x().col(0).array().cos();
    v.col(1) = s.x().col(0).array().sin();
    append(phase_, H5T_NATIVE_DOUBLE, s.u.data(), k, pp.rows, xfer_, path_);
  } else if (density_view_) {
    const Index m = shape_.n;  // cell i of this rank is cell rows_.offset + i of all m
    v = RowMat::Zero(s.shape.n, 3);
    for (Index i = 0; i < s.shape.n; ++i) {
      const double th = (static_cast<double>(rows_.offset + i) + 0.5) * 2 * M_PI / static_cast<double>(m);
      v(i, 0) = std::cos(th);
      v(i, 1) = std::sin(th);
      v(i, 2) = s.u[i];
    }
  } else {
    v = (s.x().rowwise() - view_center_.transpose()) * view_basis_;
  }
  append(view_, H5T_NATIVE_DOUBLE, v.data(), k, pp.rows, xfer_, path_);
  for (std::size_t i = 0; i < obs_.size(); ++i)
    append(obs_[i], H5T_NATIVE_DOUBLE, &obs[i], k, pp.root, xfer_, path_);
  if (counters_ >= 0) {
    const long long c[3] = {ck.rhs_evals, ck.oracle_calls, ck.rejected};
    append(counters_, H5T_NATIVE_LLONG, c, k, pp.root, xfer_, path_);
  }
  if (integ_ >= 0) {
    // This rank's checkpoint: the head, then its rows of each per-token block.
    const Index head = ck_size_ - ck_blocks_ * shape_.block();
    const std::size_t mine = static_cast<std::size_t>(head + ck_blocks_ * rows_.count * shape_.d);
    if (ck.integrator.size() > mine)
      throw Error(path_ + ": an integrator checkpoint of " + std::to_string(ck.integrator.size()) +
                  " values, expected " + std::to_string(mine));
    // Before its first step an integrator may have less to save (ab2: no previous step yet, 3
    // values): zeros fill the rest of the frame's row.
    std::vector<double> padded;
    const double* c = ck.integrator.data();
    if (ck.integrator.size() < mine) {
      padded = ck.integrator;
      padded.resize(mine, 0.0);
      c = padded.data();
    }
    const bool with_head = !comm_ || comm_->rank() == 0;
    append(integ_, H5T_NATIVE_DOUBLE, c + (with_head ? 0 : head), k, pp.checkpoint, xfer_, path_);
  }
  check(H5Fflush(file_, H5F_SCOPE_GLOBAL), "flush", path_);
  ++frames_;
  times_.push_back(t);
  // Frame 0 is the initial state; the first computed frame puts the file in place. Rank 0
  // renames and writes the sidecar; the others wait for it (its errors are theirs).
  if (!committed_ && frames_ >= 2) {
    commit();
  } else if (committed_ && (frames_ <= 200 || frames_ % 50 == 0)) {
    // Rewrite the sidecar often early on, then sparsely (it is O(T) to write).
    on_root(comm_, [&] { write_sidecar(); });
  }
}

void H5mdWriter::commit() {
  // Rank 0 moves the file into place (the other ranks' MPI-IO handles follow the renamed inode).
  on_root(comm_, [&] {
    claim_->commit();
    write_sidecar();
  });
  committed_ = true;
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
static_assert(H5P_DEFAULT == 0, "H5mdWriter::xfer_ starts as H5P_DEFAULT");

void H5mdWriter::write_summary(const RunTotals& totals) {
  if (file_ < 0) return;
  // Attributes are metadata: every rank writes the same values, rank 0's (the ranks' wall
  // clocks differ).
  RunTotals r = totals;
  if (comm_) {
    static_assert(std::is_trivially_copyable_v<RunTotals>);
    std::string bytes(reinterpret_cast<const char*>(&r), sizeof r);
    comm_->broadcast(bytes);
    std::memcpy(&r, bytes.data(), sizeof r);
  }
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
  // Serial: the file is open and locked by the resume point's history (H5mdReader, Update
  // access): this second open shares it. Distributed: every rank's history holds a read-only
  // handle and rank 0's the lock (sim/io/resume.hpp); the ranks reopen it together through
  // MPI-IO, and every change below (cutting a partial frame, attributes) is collective.
  committed_ = true;
  ck_size_ = checkpoint_size;
  hid_t fapl = writer_fapl(comm_, path_);
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
    // The ranks of the run that writes the file now (as wall_seconds is this run's).
    if (H5Aexists(par, attr::kMpiRanks) > 0) H5Adelete(par, attr::kMpiRanks);
    attr_ints<long long>(par, attr::kMpiRanks, {comm_ ? comm_->size() : 1});
    H5Gclose(par);
  }
  check(H5Fflush(file_, H5F_SCOPE_GLOBAL), "flush", path_);
}

void H5mdWriter::close() {
  if (closed_) return;  // (once: distributed, every call below is collective)
  closed_ = true;
  const bool sidecar_due = file_ >= 0 && committed_ && frames_ > 200 && frames_ % 50 != 0;
  if (file_ >= 0) {
    for (hid_t d : obs_) H5Dclose(d);
    obs_.clear();
    for (hid_t* d : {&step_, &time_, &pos_, &mom_, &view_, &phase_, &counters_, &integ_})
      if (*d >= 0) { H5Dclose(*d); *d = -1; }
    H5Fclose(file_);
    file_ = -1;
  }
  if (xfer_ != H5P_DEFAULT) H5Pclose(xfer_);
  xfer_ = H5P_DEFAULT;
  on_root(comm_, [&] {
    // Uncommitted: nothing computed was written; the .part goes and an earlier file stays.
    auto settle = [&] {
      if (!claim_) return;
      if (committed_)
        claim_->release();
      else
        claim_->abandon();
    };
    try {
      if (sidecar_due) write_sidecar();
    } catch (...) {
      settle();
      throw;
    }
    settle();
  });
}

}  // namespace attnflow
