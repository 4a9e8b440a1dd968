#!/usr/bin/python3
"""The generated reference and the messages of issue 18 (run by ctest).

usage: reference_tests.py ATTNFLOW SOURCE_DIR TEST

TEST is one of:
  help_topics        `attnflow help` and its topics exit 0 and print every key line; an unknown
                     model, integrator or topic exits 2 listing the valid ones
  reference_fresh    docs/reference.md equals `attnflow help --markdown`
  help_scenarios     for every registered model, a scenario written from `attnflow help scenario`
                     and `attnflow help model KIND` alone (required keys with their examples, the
                     model's keys with their defaults, the context it prints) runs to a finite end
  set_blame          --set foo.bar=1 is blamed on the --set, not on the scenario file
  set_out_of_range   a seed of 2^63 via --set says out of range (not "got a string")
  csv_directory      a folder given as a CSV path says it is a folder
  analyze_prefix     analyze errors say "attnflow analyze: ..." once, not "analyze: analyze:"
  ssa_seed           analyze --ssa uses the run's model seed unless --seed is given
  blowup_warnings    validate explains the defaults that blow up (attention / linear_attention /
                     accelerated_attention on R^d) and what to set
  observable_errors  an unknown observable lists the valid names; an unavailable one gives the
                     reason
"""
import os
import re
import subprocess
import sys
import tempfile

os.environ.setdefault("HDF5_USE_FILE_LOCKING", "FALSE")
os.environ.setdefault("OMP_NUM_THREADS", "1")

ATTNFLOW, SRC, TEST = sys.argv[1], sys.argv[2], sys.argv[3]
TMP = tempfile.mkdtemp(prefix="attnflow-ref-")


def fail(msg):
    print("FAIL:", msg)
    sys.exit(1)


def run(args, **kw):
    p = subprocess.run([ATTNFLOW] + args, capture_output=True, text=True, **kw)
    return p.returncode, p.stdout, p.stderr


def expect(rc_want, args, *needles, absent=()):
    rc, so, se = run(args)
    text = so + se
    print("$ attnflow", " ".join(args), "->", rc)
    print(text)
    if rc != rc_want:
        fail(f"{args}: exit {rc}, expected {rc_want}")
    for n in needles:
        if n not in text:
            fail(f"{args}: output lacks {n!r}")
    for n in absent:
        if n in text:
            fail(f"{args}: output has {n!r}")
    return text


def write(name, text):
    path = os.path.join(TMP, name)
    with open(path, "w") as f:
        f.write(text)
    return path


def models():
    rc, so, _ = run(["help", "model"])
    if rc != 0:
        fail("help model")
    return [m.group(1) for m in re.finditer(r"^  (\w+)  ", so, re.M)]


KEY_LINE = re.compile(r"^  ([a-z_]+)\.([A-Za-z_0-9]+) = (.*)$")


def parse_keys(text):
    """Key lines of help output: (table, key, default text, only-when text, block header)."""
    out, header = [], ""
    lines = text.splitlines()
    for i, line in enumerate(lines):
        if line.startswith("[") or (line and not line.startswith(" ")):
            header = line
        m = KEY_LINE.match(line)
        if not m:
            continue
        when = ""
        for nxt in lines[i + 1:]:
            if not nxt.startswith("      "):
                break
            if nxt.strip().startswith("only when:"):
                when = nxt.strip()
        out.append((m.group(1), m.group(2), m.group(3).strip(), when, header))
    return out


def value_of(default):
    """The TOML value to write for a printed default, or None (computed: leave it out)."""
    if default.startswith("(required)"):
        m = re.search(r"e\.g\. (.*)$", default)
        return m.group(1) if m else None
    if default.startswith("("):
        return None
    return default


def test_help_topics():
    text = expect(0, ["help"], "attention", "rk4", "model [KIND]")
    for kind in models():
        t = expect(0, ["help", "model", kind], f'model.kind = "{kind}"', "Keys of [model]")
        if not parse_keys(t):
            fail(f"help model {kind}: no key lines")
    expect(0, ["help", "model", "linear_attention"], "model.A = ", "model.V = ", "N(0, 1/d)")
    expect(0, ["help", "scenario"], "tokens.mean = ", "tokens.cov = ", "tokens.nu = 5.0",
           "tokens.momentum_scale = 1.0", "run.frames = 101", "tokens.clusters = 2")
    expect(0, ["help", "integrator", "rk4"], "order: 4", "integrator.dt = ")
    expect(0, ["help", "observables"], "mean_inner", "inner_spread", "hemisphere_margin",
           "mean_norm", "r_theory", "needs: ")
    claims = expect(0, ["help", "claims"])
    for kind in ["rate", "final", "monotone", "max_residual", "min", "max", "power_rate",
                 "hitting_time", "drift", "drift_order", "compare_runs", "ellipticity",
                 "probability", "ensemble_mean", "crossing", "ensemble_power_law",
                 "ensemble_curve"]:
        if f'kind = "{kind}"' not in claims:
            fail(f"help claims lacks {kind}")
    expect(0, ["help", "conventions"], "N(0, 1/d)", "format=\"H5MD\"", "convert_units=False",
           "N times faster", "101", "working directory", "min(N, 512)")
    expect(2, ["help", "model", "atention"], 'unknown model "atention"', '"attention"',
           '"kuramoto"', 'did you mean "attention"')
    expect(2, ["help", "integrator", "rk5"], 'unknown integrator "rk5"', '"rk4"', '"dopri5"')
    expect(2, ["help", "modle"], "unknown help topic", '"model"')
    expect(0, ["--help"], "help")


def test_reference_fresh():
    rc, so, se = run(["help", "--markdown"])
    if rc != 0:
        fail(f"help --markdown: exit {rc}: {se}")
    path = os.path.join(SRC, "docs", "reference.md")
    with open(path) as f:
        committed = f.read()
    if committed != so:
        fail("docs/reference.md is stale: regenerate it with "
             "`attnflow help --markdown > docs/reference.md`")


def test_help_scenarios():
    import h5py
    import numpy as np
    rc, scen_text, _ = run(["help", "scenario"])
    if rc != 0:
        fail("help scenario")
    base = {}
    for table, key, default, when, header in parse_keys(scen_text):
        # the required keys of the required tables ([tokens], [integrator])
        if "Required table" in header and default.startswith("(required)") and not when:
            base.setdefault(table, {})[key] = value_of(default)
    for kind in models():
        rc, text, _ = run(["help", "model", kind])
        tables = {t: dict(kv) for t, kv in base.items()}
        tables["model"] = {"kind": f'"{kind}"'}
        for table, key, default, when, header in parse_keys(text):
            if header.startswith("Runs with"):  # the context: table.key = value
                tables.setdefault(table, {})[key] = default
                continue
            if table != "model" or when:
                continue
            v = value_of(default)
            if v is not None:
                tables["model"][key] = v
        if "layers" in tables.get("integrator", {}):
            tables["integrator"].pop("t_end", None)  # alternatives (help scenario says so)
        body = ""
        for table in ["tokens", "model", "integrator"] + [t for t in tables if t not in ("tokens", "model", "integrator")]:
            body += f"[{table}]\n" + "".join(f"{k} = {v}\n" for k, v in tables.get(table, {}).items())
        path = write(f"{kind}.toml", body)
        out = os.path.join(TMP, f"{kind}.h5")
        print(f"--- {kind}\n{body}")
        rc, so, se = run(["run", path, "-o", out, "--quiet"])
        if rc != 0:
            fail(f"{kind}: the scenario written from `attnflow help` exits {rc}: {se}")
        with h5py.File(out, "r") as f:
            x = f["particles/tokens/position/value"][...]
            if not np.all(np.isfinite(x)):
                fail(f"{kind}: non-finite positions")
        print(f"{kind}: ok, {x.shape[0]} frames")


QUICK = ('[tokens]\nn = 8\nd = 3\nspace = "sphere"\n[model]\nkind = "attention"\n'
         '[integrator]\nt_end = 1.0\n')


def test_set_blame():
    path = write("quick.toml", QUICK)
    expect(2, ["validate", path, "--set", "foo.bar=1"], "--set foo.bar=1", "unknown section [foo]",
           absent=(path + ":",))
    expect(2, ["validate", path, "--set", "tokens.foo.bar=1"], "--set tokens.foo.bar=1",
           "unknown key 'foo' in [tokens]", absent=(path + ":",))
    expect(2, ["validate", path, "--set", "model.betaa=2"], "--set model.betaa=2", "did you mean 'beta'")


def test_set_out_of_range():
    path = write("quick.toml", QUICK)
    expect(2, ["validate", path, "--set", "run.seed=9223372036854775808"],
           "--set run.seed=9223372036854775808", "out of range", absent=("got a string",))
    expect(2, ["validate", path, "--set", "run.seed=-1"], "run.seed must be >= 0")
    expect(0, ["validate", path, "--set", "run.seed=9223372036854775807"], "ok")


def test_csv_directory():
    folder = os.path.join(TMP, "x0.csv")
    os.makedirs(folder)
    path = write("file.toml", QUICK.replace('space = "sphere"\n', 'space = "sphere"\ninit = "file"\npath = "x0.csv"\n'))
    expect(2, ["validate", path], "tokens.path", "names a folder, not a file", absent=("does not exist",))
    k = write("kur.toml", '[tokens]\nn = 4\nd = 1\n[model]\nkind = "kuramoto"\ncoupling_rule = "matrix"\n'
                          'coupling_matrix = "x0.csv"\n[integrator]\nt_end = 1.0\n')
    expect(2, ["validate", k], "model.coupling_matrix", "names a folder", absent=("does not exist",))


def test_analyze_prefix():
    expect(2, ["analyze"], "attnflow analyze: no run file given", absent=("analyze: analyze:",))
    expect(2, ["analyze", "x.h5", "--window", "1"], "attnflow analyze: --window",
           absent=("analyze: analyze:",))
    expect(2, ["analyze", "x.h5", "--bogus"], "attnflow analyze: unknown option '--bogus'",
           absent=("analyze: analyze:",))


def test_ssa_seed():
    scen = write("ssa.toml", '[run]\nseed = 5\n[tokens]\nn = 16\nd = 4\n[model]\nkind = "ssa"\n'
                             '[integrator]\nlayers = 2\n')
    out = os.path.join(TMP, "ssa.h5")
    rc, so, se = run(["run", scen, "-o", out, "--quiet"])
    if rc != 0:
        fail(f"run: {se}")
    t = expect(0, ["analyze", out, "--ssa"], "seed = 5")
    t5 = expect(0, ["analyze", out, "--ssa", "--seed", "5"], "seed = 5")
    t0 = expect(0, ["analyze", out, "--ssa", "--seed", "0"], "seed = 0")
    if t.replace(out, "") != t5.replace(out, ""):
        fail("the default seed is not the run's seed")
    if t.replace("seed = 5", "") == t0.replace("seed = 0", ""):
        fail("seed 0 gives the same statistics: the seed is not used")
    out2 = os.path.join(TMP, "ssa2.h5")
    rc, so, se = run(["run", scen, "-o", out2, "--quiet", "--set", "run.model_seed=11"])
    expect(0, ["analyze", out2, "--ssa"], "seed = 11")


def test_blowup_warnings():
    lin = write("lin.toml", '[tokens]\nn = 8\nd = 3\n[model]\nkind = "linear_attention"\n'
                            '[integrator]\nt_end = 10.0\n')
    expect(0, ["validate", lin], "warning", "blows up", 'tokens.space = "sphere"')
    expect(0, ["validate", lin, "--set", 'tokens.space="sphere"'], "ok", absent=("warning",))
    usa = write("usa.toml", '[tokens]\nn = 8\nd = 3\n[model]\nkind = "attention"\n'
                            'normalization = "mean"\nQ = "random"\nK = "random"\nV = "random"\n'
                            '[integrator]\nt_end = 10.0\n')
    expect(0, ["validate", usa], "warning", "escape", "tokens.space")
    acc = write("acc.toml", '[tokens]\nn = 8\nd = 3\n[model]\nkind = "accelerated_attention"\n'
                            '[integrator]\nt0 = 1.0\nt_end = 10.0\n')
    expect(0, ["validate", acc], "warning", "unbounded below", "potential")
    rc, so, se = run(["run", acc, "-o", os.path.join(TMP, "acc.h5")])
    print(rc, se)
    if "warning" not in se:
        fail("run does not print the warning")


def test_observable_errors():
    ak = write("ak.toml", '[tokens]\nn = 8\nd = 4\nspace = "sphere"\n[model]\nkind = "akorn"\n'
                          'coupling_rule = "attention"\n[integrator]\nt_end = 1.0\n'
                          '[observe]\nquantities = ["energy"]\n')
    expect(2, ["validate", ak], "'energy'", "not available in this configuration",
           "coupling_rule = \"uniform\"")
    ku = write("ku.toml", '[tokens]\nn = 8\nd = 1\n[model]\nkind = "kuramoto"\n'
                          'coupling_rule = "ssa"\n[integrator]\nt_end = 1.0\n'
                          '[observe]\nquantities = ["r_theory"]\n')
    expect(2, ["validate", ku], "'r_theory'", "not available")
    bad = write("bad.toml", QUICK + '[observe]\nquantities = ["mean_innr"]\n')
    expect(2, ["validate", bad], "unknown observable 'mean_innr'", "did you mean 'mean_inner'",
           "available:", "diameter", "energy")


TESTS = {k[5:]: v for k, v in globals().items() if k.startswith("test_")}
if TEST not in TESTS:
    fail(f"unknown test {TEST}")
TESTS[TEST]()
print("PASS")
