// render_main: option parsing, input validation, display handling and dispatch to the
// frame / plot / heat-map / montage / animation writers. Options: see render.hpp.
#include "viz/render.hpp"

#include <CLI/CLI.hpp>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <limits>
#include <iostream>
#include <memory>
#include <sstream>

#include "sim/core/error.hpp"
#include "sim/io/sweep_file.hpp"
#include "viz/run_data.hpp"
#include "viz/render_internal.hpp"

namespace attnflow::viz {
namespace fs = std::filesystem;
namespace {

std::vector<std::string> split_list(const std::string& s) {
  std::vector<std::string> out;
  std::stringstream ss(s);
  std::string item;
  while (std::getline(ss, item, ',')) {
    item.erase(0, item.find_first_not_of(" \t"));
    item.erase(item.find_last_not_of(" \t") + 1);
    if (!item.empty()) out.push_back(item);
  }
  return out;
}

// Stored frame indices for --frames / --times / --max-frames. Throws InputError.
std::vector<std::size_t> choose_frames(const Run& run, const std::string& frames_opt,
                                       const std::string& times_opt, std::size_t max_frames) {
  const std::size_t T = run.frames();
  std::vector<std::size_t> out;
  if (!frames_opt.empty()) {
    if (frames_opt == "all") {
      for (std::size_t i = 0; i < T; ++i) out.push_back(i);
      return out;
    }
    for (const auto& item : split_list(frames_opt)) {
      long long v = 0;
      std::size_t used = 0;
      try {
        v = std::stoll(item, &used);
      } catch (const std::exception&) {
        used = 0;
      }
      if (used != item.size())
        throw InputError("--frames: '" + item + "' is not an integer (use all or I,J,-1)");
      long long idx = v < 0 ? static_cast<long long>(T) + v : v;
      if (idx < 0 || idx >= static_cast<long long>(T))
        throw InputError("--frames: frame " + item + " is out of range (" + run.path() +
                         " has " + std::to_string(T) + " frames)");
      out.push_back(static_cast<std::size_t>(idx));
    }
    if (out.empty()) throw InputError("--frames: empty list");
    return out;
  }
  if (!times_opt.empty()) {
    const auto& t = run.times();
    for (const auto& item : split_list(times_opt)) {
      double want = 0;
      std::size_t used = 0;
      try {
        want = std::stod(item, &used);
      } catch (const std::exception&) {
        used = 0;
      }
      if (used != item.size() || !std::isfinite(want))
        throw InputError("--times: '" + item + "' is not a number");
      if (want < t.front() - 1e-9 * (1 + std::abs(t.front())) ||
          want > t.back() + 1e-9 * (1 + std::abs(t.back())))
        throw InputError("--times: t = " + item + " is outside the run's time range [" +
                         std::to_string(t.front()) + ", " + std::to_string(t.back()) + "]");
      std::size_t best = 0;
      for (std::size_t i = 1; i < T; ++i)
        if (std::abs(t[i] - want) < std::abs(t[best] - want)) best = i;
      out.push_back(best);
    }
    if (out.empty()) throw InputError("--times: empty list");
    return out;
  }
  if (max_frames == 0) throw InputError("--max-frames must be at least 1");
  if (T <= max_frames) {
    for (std::size_t i = 0; i < T; ++i) out.push_back(i);
  } else if (max_frames == 1) {
    out.push_back(T - 1);
  } else {
    for (std::size_t k = 0; k < max_frames; ++k) {
      auto i = static_cast<std::size_t>(
          std::llround(static_cast<double>(k) * static_cast<double>(T - 1) /
                       static_cast<double>(max_frames - 1)));
      if (out.empty() || out.back() != i) out.push_back(i);
    }
  }
  return out;
}

std::string fmt_number(double v) {
  std::ostringstream ss;
  ss << v;
  return ss.str();
}

void say(bool quiet, const std::string& line) {
  if (!quiet) std::cout << line << std::endl;
}

}  // namespace

int render_main(const std::vector<std::string>& args) {
  // SIGINT/SIGTERM only set a flag while rendering; loops stop between items (exit 130/143).
  SignalScope signals;
  CLI::App app{"attnflow render: PNG frames, animation, montage, plots and heat maps of runs",
               "attnflow render"};
  std::vector<std::string> inputs;
  std::string out_dir, frames_opt, times_opt, color = "index", size = "800x800", plot_opt,
                                                heatmap;
  std::size_t max_frames = 60, trail = 0;
  int montage_cols = 0, montage_width = 320;
  std::size_t montage_frames = 16;
  double fps = 10, point_radius = 0;
  bool animate = true, montage = true, log_y = false, quiet = false;

  app.add_option("runs", inputs, "run files (H5MD, written by attnflow run)")->required();
  app.add_option("-o,--output", out_dir, "output directory (default: RUN_render)");
  app.add_option("--frames", frames_opt, "all, or stored frame indices I,J,... (-1 = last)");
  app.add_option("--times", times_opt, "times T1,T2,...; each picks the nearest frame");
  app.add_option("--max-frames", max_frames,
                 "without --frames/--times: this many evenly spaced frames (default 60)");
  app.add_option("--color,--colour", color,
                 "index | speed | phase | NAME of a per-token dataset (default index)");
  app.add_option("--trail", trail, "polyline through each token's last K frames");
  app.add_option("--size", size, "image size WxH in pixels (default 800x800)");
  app.add_option("--point-radius", point_radius, "token sphere radius (default automatic)");
  app.add_flag("--animate,!--no-animate", animate, "write DIR/animation.webp (default on)");
  app.add_option("--fps", fps, "animation frames per second (default 10)");
  app.add_flag("--montage,!--no-montage", montage, "write DIR/montage.png (default on)");
  app.add_option("--montage-cols", montage_cols, "montage columns (default about square)");
  app.add_option("--montage-width", montage_width, "montage cell width in pixels (default 320)");
  app.add_option("--montage-frames", montage_frames,
                 "at most this many evenly spaced frames in the montage (default 16)");
  app.add_option("--plot", plot_opt, "observables to plot against time: all | NAME,...");
  app.add_flag("--log", log_y, "logarithmic y axis for --plot; log10(rho) colours for a density");
  app.add_option("--heatmap", heatmap, "heat map of /analysis/matrices/NAME");
  // Mean-field density runs (/fields/density): a space-time heat map, density.png.
  std::string particles;
  std::size_t bins = 64;
  app.add_option("--particles", particles,
                 "density runs: overlay the angle histogram of this particle run (d = 2 on the "
                 "circle, or an oscillator run) as contour lines");
  app.add_option("--bins", bins, "histogram bins for --particles (default 64)");
  app.add_flag("-q,--quiet", quiet, "print nothing but errors");
  // Sweep files (attnflow run of an [ensemble] / [[sweep]] scenario): phase diagrams, curves.
  std::string statistic;
  double level = 0.5, at_time = std::numeric_limits<double>::quiet_NaN();
  bool curves = false;
  app.add_option("--statistic", statistic,
                 "sweep files: the statistic to draw (default: the first recorded)");
  app.add_option("--level", level, "sweep files: contour level of the mean (default 0.5)");
  app.add_option("--time", at_time, "sweep files over two keys: heat map at the frame nearest T "
                                    "(default: the last)");
  app.add_flag("--curves", curves,
               "sweep files: mean +/- 2 stderr against t at up to 6 grid points");

  try {
    std::vector<std::string> rev(args.rbegin(), args.rend());  // CLI11 wants them reversed
    app.parse(rev);
  } catch (const CLI::CallForHelp&) {
    std::cout << app.help();
    return 0;
  } catch (const CLI::ParseError& e) {
    std::cerr << "attnflow render: " << e.what() << "\n(run `attnflow render --help`)\n";
    return 2;
  }

  // --- option checks (exit 2) ---
  int width = 0, height = 0;
  {
    char x = 0, extra = 0;
    std::istringstream ss(size);
    if (!(ss >> width >> x >> height) || x != 'x' || (ss >> extra) || width < 64 ||
        height < 64 || width > 8192 || height > 8192) {
      std::cerr << "attnflow render: --size must be WxH with 64 <= W,H <= 8192, got '" << size
                << "'\n";
      return 2;
    }
  }
  if (!frames_opt.empty() && !times_opt.empty()) {
    std::cerr << "attnflow render: give --frames or --times, not both\n";
    return 2;
  }
  if (!(fps > 0 && fps <= 100)) {
    std::cerr << "attnflow render: --fps must be in (0, 100]\n";
    return 2;
  }
  if (montage_width < 16 || montage_cols < 0 || point_radius < 0 || montage_frames < 1) {
    std::cerr << "attnflow render: --montage-width must be >= 16, --montage-frames >= 1, "
                 "--montage-cols and --point-radius >= 0\n";
    return 2;
  }
  for (const auto& p : inputs) {
    if (!fs::exists(p)) {
      std::cerr << "attnflow render: " << p << ": no such file\n";
      return 2;
    }
  }

  // --- sweep files: phase diagram or curves (viz/sweep_plots.cpp) ---
  const bool sweep_opts = app.count("--statistic") + app.count("--level") + app.count("--time") +
                              app.count("--curves") > 0;
  bool sweep_input = false;
  for (const auto& p : inputs) {
    try {
      sweep_input = sweep_input || is_sweep_file(p);
    } catch (const std::exception&) {  // not readable as a sweep: the run reader will say why
    }
  }
  if (sweep_input) {
    if (inputs.size() != 1) {
      std::cerr << "attnflow render: give one sweep file at a time (not with other files)\n";
      return 2;
    }
    if (!plot_opt.empty() || !heatmap.empty() || !frames_opt.empty() || !times_opt.empty() ||
        app.count("--animate") + app.count("--montage") + app.count("--max-frames") +
                app.count("--color") + app.count("--trail") + app.count("--particles") +
                app.count("--bins") >
            0) {
      std::cerr << "attnflow render: " << inputs.front()
                << " is a sweep file: it is drawn as a phase diagram (or --curves); frame, "
                   "--plot and --heatmap options are for run files\n";
      return 2;
    }
    if (!std::isfinite(level)) {
      std::cerr << "attnflow render: --level must be a finite number\n";
      return 2;
    }
    SweepOptions so;
    so.input = inputs.front();
    so.statistic = statistic;
    so.level = level;
    so.time = at_time;
    so.curves = curves;
    so.quiet = quiet;
    if (app.count("--size") > 0) {
      so.width = width;
      so.height = height;
    }
    if (!out_dir.empty() && fs::path(out_dir).extension() == ".png") {
      so.output = out_dir;
    } else {
      so.output_dir = !out_dir.empty() ? out_dir
                                       : (fs::path(inputs.front()).parent_path() /
                                          fs::path(inputs.front()).stem())
                                                 .string() +
                                             "_render";
    }
    try {
      so.dry_run = true;
      const std::string target = render_sweep(so).front();
      so.dry_run = false;
      if (const int s = pending_signal()) return 128 + s;
      if (!display_usable()) return run_under_xvfb();
      std::error_code ec;
      const fs::path parent = fs::path(target).parent_path();
      if (!parent.empty()) fs::create_directories(parent, ec);
      if (ec) throw OutputError("cannot create output directory " + parent.string() + ": " +
                                ec.message());
      for (const auto& p : render_sweep(so)) say(quiet, "wrote " + p);
    } catch (const Interrupted& e) {
      std::cerr << "attnflow render: " << e.what() << "\n";
      return 128 + e.sig;
    } catch (const InputError& e) {
      std::cerr << "attnflow render: " << e.what() << "\n";
      return 2;
    } catch (const std::exception& e) {
      std::cerr << "attnflow render: " << e.what() << "\n";
      return 4;
    }
    return 0;
  }
  if (sweep_opts) {
    std::cerr << "attnflow render: --statistic, --level, --time and --curves are for sweep "
                 "files (written by `attnflow run` of an [ensemble] scenario)\n";
    return 2;
  }
  const bool explicit_frames = !frames_opt.empty() || !times_opt.empty() ||
                               app.count("--animate") > 0 || app.count("--montage") > 0 ||
                               app.count("--max-frames") > 0 || app.count("--color") > 0 ||
                               app.count("--trail") > 0;
  const bool do_frames = explicit_frames || (plot_opt.empty() && heatmap.empty());
  // Density runs draw density.png where other runs draw frames, and always with --particles.
  const bool overlay = app.count("--particles") + app.count("--bins") > 0;
  if (overlay && (bins < 2 || bins > 4096)) {
    std::cerr << "attnflow render: --bins must be in [2, 4096]\n";
    return 2;
  }
  if (!particles.empty() && !fs::exists(particles)) {
    std::cerr << "attnflow render: --particles " << particles << ": no such file\n";
    return 2;
  }

  // --- read inputs (exit 4 on unreadable files) and validate requests (exit 2) ---
  std::vector<std::unique_ptr<Run>> runs;
  std::unique_ptr<Run> particle_run;
  std::vector<std::vector<std::size_t>> selected;
  std::vector<std::string> plot_names;
  try {
    for (const auto& p : inputs) runs.push_back(std::make_unique<Run>(p));
    if (!particles.empty()) particle_run = std::make_unique<Run>(particles);
  } catch (const attnflow::Error& e) {
    std::cerr << "attnflow render: " << e.what() << "\n";
    return 4;
  }
  try {
    if (overlay) {
      if (runs.size() != 1 || !runs.front()->has_density())
        throw InputError((runs.size() != 1 ? std::string("give one density run file")
                                           : inputs.front() + ": no /fields/density (not a "
                                                              "mean-field density run)") +
                         "; --particles and --bins overlay particles on a density run");
      if (!particle_run)
        throw InputError("--bins: give the particle run with --particles P.h5");
      if (!particle_run->has_angles())
        throw InputError(particles + ": no token angles for --particles: neither phases (" +
                         "/particles/tokens/phase) nor d = 2 positions on the circle (d = " +
                         std::to_string(particle_run->dim()) + ")");
      if (particle_run->times().empty())
        throw InputError(particles + ": the particle run has no frames");
    }
    for (auto& r : runs) {
      if (!r->has_density()) continue;
      if (explicit_frames)
        throw InputError(r->path() + " is a mean-field density run: it is drawn as a space-time "
                         "heat map (density.png); frame options are for particle runs");
      if (r->density().frames == 0) throw InputError(r->path() + ": /fields/density has no frames");
    }
    if (do_frames) {
      for (auto& r : runs) {
        if (r->has_density()) {
          selected.emplace_back();
          continue;
        }
        if (!r->has_trajectory())
          throw InputError(r->path() + ": no trajectory to draw "
                           "(/particles/tokens_view/position/value is missing)");
        if (!r->has_token_scalar(color))
          throw InputError(r->path() + ": cannot colour by '" + color +
                           "': no /particles/tokens/" + color +
                           "/value of shape [T][N] or [T][N][c] (use index, speed, phase or "
                           "a per-token dataset)");
        selected.push_back(choose_frames(*r, frames_opt, times_opt, max_frames));
      }
    }
    if (!plot_opt.empty()) {
      if (plot_opt == "all") {
        for (auto& r : runs)
          for (const auto& [name, obs] : r->observables())
            if (std::find(plot_names.begin(), plot_names.end(), name) == plot_names.end())
              plot_names.push_back(name);
        if (plot_names.empty()) throw InputError("--plot all: the runs store no observables");
      } else {
        plot_names = split_list(plot_opt);
        for (const auto& name : plot_names) {
          bool found = false;
          for (auto& r : runs) found = found || r->observables().count(name) > 0;
          if (!found) {
            std::string avail;
            for (const auto& [n, o] : runs.front()->observables())
              avail += (avail.empty() ? "" : ", ") + n;
            throw InputError("--plot: no run stores /observables/" + name +
                             (avail.empty() ? "" : " (available: " + avail + ")"));
          }
        }
      }
    }
    if (!heatmap.empty()) {
      bool any = false;
      for (auto& r : runs) {
        auto names = r->matrix_names();
        any = any || std::find(names.begin(), names.end(), heatmap) != names.end();
      }
      if (!any)
        throw InputError("--heatmap: no run stores /analysis/matrices/" + heatmap);
    }
    if (animate && do_frames && !animation_supported() && app.count("--animate") > 0)
      throw InputError("--animate: this build has no WebP encoder (libwebp-dev missing)");
  } catch (const InputError& e) {
    std::cerr << "attnflow render: " << e.what() << "\n";
    return 2;
  } catch (const attnflow::Error& e) {
    std::cerr << "attnflow render: " << e.what() << "\n";
    return 4;
  }

  if (const int s = pending_signal()) {
    std::cerr << "attnflow render: interrupted before rendering\n";
    return 128 + s;
  }

  // --- a display for VTK (it aborts without one) ---
  if (!display_usable()) {
    runs.clear();  // close the input files: the renderer child opens them itself
    particle_run.reset();
    return run_under_xvfb();
  }

  if (out_dir.empty()) {
    fs::path p(inputs.front());
    out_dir = (p.parent_path() / p.stem()).string() + "_render";
  }
  try {
    std::error_code ec;
    fs::create_directories(out_dir, ec);
    if (ec || !fs::is_directory(out_dir))
      throw OutputError("cannot create output directory " + out_dir + ": " + ec.message());

    if (do_frames || overlay) {
      for (std::size_t k = 0; k < runs.size(); ++k) {
        Run& run = *runs[k];
        std::string dir = out_dir;
        if (runs.size() > 1) {
          dir = (fs::path(out_dir) / fs::path(run.path()).stem()).string();
          fs::create_directories(dir, ec);
          if (ec) throw OutputError("cannot create " + dir + ": " + ec.message());
        }
        if (run.has_density()) {
          DensityOptions dopt;
          dopt.particles = particle_run.get();
          dopt.bins = bins;
          dopt.log = log_y;
          if (app.count("--size") > 0) {
            dopt.width = width;
            dopt.height = height;
          }
          dopt.quiet = quiet;
          say(quiet, "wrote " + render_density(run, dopt, dir));
          continue;
        }
        if (!do_frames) continue;
        FrameOptions fo;
        fo.frames = selected[k];
        fo.color = color;
        fo.trail = trail;
        fo.width = width;
        fo.height = height;
        fo.point_radius = point_radius;
        fo.quiet = quiet;
        auto pngs = render_frames(run, fo, dir);
        if (pngs.size() == 1)
          say(quiet, "wrote " + pngs.front());
        else
          say(quiet, "wrote " + std::to_string(pngs.size()) + " frames " + pngs.front() +
                         " .. " + fs::path(pngs.back()).filename().string());
        if (pngs.size() > 1 && montage) {
          std::string m = (fs::path(dir) / "montage.png").string();
          std::vector<std::string> cells;  // evenly spaced, first and last included
          if (pngs.size() <= montage_frames) {
            cells = pngs;
          } else {
            for (std::size_t c = 0; c < montage_frames; ++c) {
              std::size_t i = montage_frames == 1
                                  ? pngs.size() - 1
                                  : (c * (pngs.size() - 1) + (montage_frames - 1) / 2) /
                                        (montage_frames - 1);
              if (cells.empty() || cells.back() != pngs[i]) cells.push_back(pngs[i]);
            }
          }
          write_montage(cells, montage_cols, montage_width, m);
          say(quiet, "wrote " + m);
        }
        if (pngs.size() > 1 && animate) {
          if (animation_supported()) {
            std::string a = (fs::path(dir) / "animation.webp").string();
            write_animation(pngs, fps, a);
            say(quiet, "wrote " + a + " (" + std::to_string(pngs.size()) + " frames, " +
                           fmt_number(fps) + " fps)");
          } else if (!quiet) {
            std::cerr << "attnflow render: no animation: built without libwebp\n";
          }
        }
      }
    }
    if (!plot_names.empty()) {
      std::vector<Run*> rp;
      for (auto& r : runs) rp.push_back(r.get());
      PlotOptions po;
      po.observables = plot_names;
      po.log_y = log_y;
      for (const auto& p : render_plots(rp, po, out_dir)) say(quiet, "wrote " + p);
    }
    if (!heatmap.empty()) {
      for (auto& r : runs) {
        auto names = r->matrix_names();
        if (std::find(names.begin(), names.end(), heatmap) == names.end()) continue;
        std::string dir = out_dir;
        if (runs.size() > 1) {
          dir = (fs::path(out_dir) / fs::path(r->path()).stem()).string();
          fs::create_directories(dir, ec);
        }
        for (const auto& p : render_heatmap(*r, heatmap, 800, 700, dir)) say(quiet, "wrote " + p);
      }
    }
  } catch (const Interrupted& e) {
    std::cerr << "attnflow render: " << e.what()
              << "; stopped between frames (files already written are complete)\n";
    return 128 + e.sig;
  } catch (const InputError& e) {
    std::cerr << "attnflow render: " << e.what() << "\n";
    return 2;
  } catch (const attnflow::Error& e) {
    std::cerr << "attnflow render: " << e.what() << "\n";
    return 4;
  } catch (const std::exception& e) {
    std::cerr << "attnflow render: " << e.what() << "\n";
    return 4;
  }
  return 0;
}

}  // namespace attnflow::viz
