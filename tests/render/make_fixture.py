#!/usr/bin/python3
"""Writes small attnflow run files (H5MD 1.1 layout of SPEC section 4) for the render tests.

usage: /usr/bin/python3 make_fixture.py OUTDIR

  sphere.h5    N=20 tokens on S^2 (d=3) converging to the north pole, T=10 frames (t=0..9);
               phase and charge per token; observables energy (2 exp(-0.4 t)) and diameter;
               /analysis/fits/energy; /analysis/matrices/attention [N][N], sync [2][N][N];
               /parameters attributes name/space/d and the scenario TOML; sphere.xdmf2.
  sphere_b.h5  the same cloud converging at rate 0.25; metadata only in the TOML dataset
               /parameters/scenario (tests the fallback).
  circle.h5    N=12 tokens on S^1 (d=2) with momentum, T=8; observables energy and
               order_parameter; /parameters has only the attributes space and d.
  euclid.h5    N=30 tokens in R^5 contracting while drifting, T=6, no /parameters group.
  garbage.h5, truncated.h5, wrong_shape.h5: malformed inputs.
"""
import os
import sys

import h5py
import numpy as np


def h5md_header(f):
    g = f.create_group("h5md")
    g.attrs["version"] = np.array([1, 1], dtype=np.int32)
    g.create_group("author").attrs["name"] = "render test fixture"
    c = g.create_group("creator")
    c.attrs["name"] = "attnflow"
    c.attrs["version"] = "0.1.0"


def time_series(g, values, times):
    T = len(times)
    g.create_dataset("step", data=np.arange(T, dtype=np.int64))
    g.create_dataset("time", data=np.asarray(times, dtype=np.float64))
    g.create_dataset("value", data=values)


def tokens(f, x, times, extra=None):
    """x: [T][N][d]. Writes tokens (full) and tokens_view (3 columns)."""
    T, N, d = x.shape
    p = f.create_group("particles/tokens")
    box = p.create_group("box")
    box.attrs["dimension"] = np.int32(d)
    box.attrs["boundary"] = np.array([b"none"] * d)
    time_series(p.create_group("position"), x, times)
    for name, val in (extra or {}).items():
        time_series(p.create_group(name), val, times)
    view = np.zeros((T, N, 3))
    view[:, :, : min(d, 3)] = x[:, :, :3]
    v = f.create_group("particles/tokens_view/position")
    v["step"] = p["position/step"]  # hard links, as the core writes them
    v["time"] = p["position/time"]
    v.create_dataset("value", data=view)


def observables(f, obs, times):
    for name, val in obs.items():
        time_series(f.create_group("observables/" + name), np.asarray(val, dtype=np.float64), times)


def converging_sphere(N, T, rate, seed):
    rng = np.random.default_rng(seed)
    x0 = rng.normal(size=(N, 3))
    x0 /= np.linalg.norm(x0, axis=1, keepdims=True)
    pole = np.array([0.0, 0.0, 1.0])
    times = np.arange(T, dtype=np.float64)
    x = np.empty((T, N, 3))
    for t in range(T):
        w = 1.0 - np.exp(-rate * times[t])
        y = (1 - w) * x0 + w * pole
        x[t] = y / np.linalg.norm(y, axis=1, keepdims=True)
    return x, times


def diameter(x):
    return np.array([max(np.linalg.norm(a - b) for a in xt for b in xt) for xt in x])


def attention(x, beta=4.0):
    s = beta * x @ x.T
    e = np.exp(s - s.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def scenario_toml(name, space, d, n):
    return (f'schema = 1\n\n[run]\nname = "{name}"  # fixture\nseed = 7\n\n'
            f'[tokens]\nn = {n}\nd = {d}\nspace = "{space}"\n\n[model]\nkind = "attention"\n')


def xdmf2(path, h5name, N, times):
    grids = []
    for t, tv in enumerate(times):
        grids.append(f"""  <Grid Name="f{t}" GridType="Uniform">
   <Time Value="{tv!r}"/>
   <Topology TopologyType="Polyvertex" NumberOfElements="{N}" NodesPerElement="1"/>
   <Geometry GeometryType="XYZ">
    <DataItem ItemType="HyperSlab" Dimensions="1 {N} 3" Type="HyperSlab">
     <DataItem Dimensions="3 3" Format="XML">{t} 0 0  1 1 1  1 {N} 3</DataItem>
     <DataItem Dimensions="{len(times)} {N} 3" NumberType="Float" Precision="8" Format="HDF">{h5name}:/particles/tokens_view/position/value</DataItem>
    </DataItem>
   </Geometry>
  </Grid>""")
    with open(path, "w") as fh:
        fh.write('<?xml version="1.0" ?>\n<Xdmf Version="2.0">\n <Domain>\n'
                 ' <Grid Name="tokens" GridType="Collection" CollectionType="Temporal">\n'
                 + "\n".join(grids) + "\n </Grid>\n </Domain>\n</Xdmf>\n")


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)

    # sphere.h5
    N, T = 20, 10
    x, times = converging_sphere(N, T, 0.4, seed=1)
    rng = np.random.default_rng(2)
    phase = np.cumsum(rng.normal(0.3, 0.2, size=(T, N)), axis=0) + rng.uniform(0, 6.28, size=N)
    charge = np.tile(np.linspace(-1.0, 1.0, N), (T, 1)) * (1 + 0.1 * np.arange(T))[:, None]
    with h5py.File(os.path.join(out, "sphere.h5"), "w") as f:
        h5md_header(f)
        tokens(f, x, times, {"phase": phase, "charge": charge})
        observables(f, {"energy": 2.0 * np.exp(-0.4 * times) + 1e-3, "diameter": diameter(x)},
                    times)
        p = f.create_group("parameters")
        p.attrs["name"] = "fixture_sphere"
        p.attrs["space"] = "sphere"
        p.attrs["d"] = np.int64(3)
        p.attrs["scenario"] = scenario_toml("fixture_sphere", "sphere", 3, N)
        fit = f.create_group("analysis/fits/energy")
        fit.attrs["rate"] = 0.4
        fit.attrs["t0"] = 0.0
        fit.attrs["t1"] = 9.0
        fit.attrs["intercept"] = np.log(2.0)
        m = f.create_group("analysis/matrices")
        m.create_dataset("attention", data=attention(x[0]))
        m.create_dataset("sync", data=np.stack([attention(x[0], 1.0), attention(x[-1], 8.0)]))
    xdmf2(os.path.join(out, "sphere.xdmf2"), "sphere.h5", N, times)

    # sphere_b.h5: metadata only in the TOML text
    xb, times_b = converging_sphere(N, T, 0.25, seed=3)
    with h5py.File(os.path.join(out, "sphere_b.h5"), "w") as f:
        h5md_header(f)
        tokens(f, xb, times_b)
        observables(f, {"energy": 1.5 * np.exp(-0.25 * times_b) + 1e-3,
                        "diameter": diameter(xb)}, times_b)
        f.create_group("parameters").create_dataset(
            "scenario", data=scenario_toml("fixture_sphere_slow", "sphere", 3, N))

    # circle.h5: d = 2 with momentum
    Nc, Tc = 12, 8
    tc = 0.5 * np.arange(Tc)
    th0 = np.linspace(0, 2 * np.pi, Nc, endpoint=False)
    th = np.array([th0 * np.exp(-0.3 * t) + 0.2 * t for t in tc])
    xc = np.stack([np.cos(th), np.sin(th)], axis=2)
    vc = np.gradient(xc, tc, axis=0)
    r = np.abs(np.exp(1j * th).mean(axis=1))
    with h5py.File(os.path.join(out, "circle.h5"), "w") as f:
        h5md_header(f)
        tokens(f, xc, tc, {"momentum": vc})
        observables(f, {"energy": 1 - r + 1e-3, "order_parameter": r}, tc)
        p = f.create_group("parameters")
        p.attrs["space"] = "sphere"
        p.attrs["d"] = np.int64(2)

    # euclid.h5: d = 5 in R^5 (view = first 3 coordinates), no /parameters at all
    Ne, Te = 30, 6
    rng = np.random.default_rng(5)
    x0 = rng.normal(size=(Ne, 5)) * 2.0
    te = np.arange(Te, dtype=np.float64)
    xe = np.array([x0 * np.exp(-0.3 * t) + np.array([1.0, 0.5, 0, 0, 0]) * t for t in te])
    with h5py.File(os.path.join(out, "euclid.h5"), "w") as f:
        h5md_header(f)
        tokens(f, xe, te)
        observables(f, {"energy": np.exp(-0.6 * te)}, te)

    # malformed inputs
    with open(os.path.join(out, "garbage.h5"), "w") as fh:
        fh.write("this is not an HDF5 file\n" * 10)
    with open(os.path.join(out, "sphere.h5"), "rb") as fh:
        head = fh.read(3000)
    with open(os.path.join(out, "truncated.h5"), "wb") as fh:
        fh.write(head)
    with h5py.File(os.path.join(out, "wrong_shape.h5"), "w") as f:
        h5md_header(f)
        f.create_dataset("particles/tokens_view/position/value", data=np.zeros((T, N)))
        f.create_dataset("particles/tokens_view/position/time", data=times)
    print("fixtures written to", out)


if __name__ == "__main__":
    main()
