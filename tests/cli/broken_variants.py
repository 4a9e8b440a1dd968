#!/usr/bin/python3
"""Every scenario's claims must be able to fail (run by ctest, label broken_variant).

usage: broken_variants.py ATTNFLOW SOURCE_DIR TEST [ARG]

TEST is one of:
  variant FILE   FILE declares a deliberately broken model in a comment line
                     # ci: broken = KEY=VALUE [KEY=VALUE ...]
                 (each pair is one `--set`; pairs are separated by spaces and split like a shell
                 command line, so a value with spaces can be quoted; keys that only shorten the
                 run for CI, e.g. tokens.n=2000, may sit beside the breaking ones). The test runs
                     attnflow check FILE --set run.output=TMP --set KEY=VALUE ...
                 and passes only if the broken model runs and at least one claim fails: exit 1
                 and a FAIL line. Exit 0 (every claim still passes) fails the test: the claims
                 cannot tell this wrong model from the right one. Exit 2 or 3 (invalid input,
                 numerical failure) also fails it: a variant that errors out is not caught by a
                 claim. A scenario without [[expect]] claims or without a '# ci: broken' line fails,
                 so every new scenario has to declare one.
  declared       every scenario in SOURCE_DIR/scenarios has claims and one '# ci: broken' line
                 (no run; a cheap guard beside the per-scenario tests)

docs/claims.md lists, for every scenario, the variant and the claim that catches it.
"""
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile

ATTNFLOW, SRC, TEST = sys.argv[1], sys.argv[2], sys.argv[3]
ARG = sys.argv[4] if len(sys.argv) > 4 else None
BROKEN = re.compile(r"^#\s*ci:\s*broken\s*=\s*(.*?)\s*$", re.M)


def fail(msg):
    print("FAIL:", msg)
    sys.exit(1)


def declared_variant(path):
    """The --set pairs of FILE's '# ci: broken' line; fails the test when there is none."""
    text = open(path).read()
    if not re.search(r"^\[\[expect\]\]", text, re.M):
        fail(f"{path}: no [[expect]] claims, so nothing can catch a broken model")
    lines = BROKEN.findall(text)
    if not lines:
        fail(f"{path}: no '# ci: broken = KEY=VALUE ...' line (every scenario declares a broken "
             "variant that one of its claims must catch; see tests/cli/broken_variants.py)")
    if len(lines) > 1:
        fail(f"{path}: {len(lines)} '# ci: broken' lines, expected one")
    pairs = shlex.split(lines[0])
    if not pairs:
        fail(f"{path}: the '# ci: broken' line is empty")
    for p in pairs:
        if "=" not in p or p.startswith("="):
            fail(f"{path}: '{p}' in the '# ci: broken' line is not KEY=VALUE")
        if p.split("=", 1)[0] == "run.output":
            fail(f"{path}: the broken variant must not set run.output")
    return pairs


def test_variant(path):
    pairs = declared_variant(path)
    tmp = tempfile.mkdtemp(prefix="attnflow-broken-")
    try:
        cmd = [ATTNFLOW, "check", path, "--set", f"run.output={tmp}/run.h5"]
        for p in pairs:
            cmd += ["--set", p]
        # '# ci: set = KEY=VALUE ...': the shortened run CI uses for a long scenario.
        for line in re.findall(r"^#\s*ci:\s*set\s*=\s*(.*?)\s*$", open(path).read(), re.M):
            for p in line.split():
                cmd += ["--set", p]
        print("$", " ".join(shlex.quote(c) for c in cmd), flush=True)
        # One thread unless the caller says otherwise: results do not depend on the thread count,
        # and idle OpenMP threads spinning at barriers cost CPU on a shared machine.
        env = dict(os.environ)
        env.setdefault("OMP_NUM_THREADS", "1")
        p = subprocess.run(cmd, capture_output=True, text=True, env=env)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print(p.stdout)
    print(p.stderr)
    failed = [l for l in p.stdout.splitlines() if l.startswith("FAIL")]
    if p.returncode == 0:
        fail(f"every claim still passes under the broken variant {' '.join(pairs)}: the claims "
             "cannot tell this wrong model from the right one")
    if p.returncode != 1:
        fail(f"the broken variant exits {p.returncode} (not 1): it must run and be caught by a "
             "claim, not error out")
    if not failed:
        fail("exit 1 but no FAIL line")
    print(f"caught: {len(failed)} claim(s) fail under {' '.join(pairs)}")


def test_declared():
    d = os.path.join(SRC, "scenarios")
    names = sorted(f for f in os.listdir(d) if f.endswith(".toml"))
    if not names:
        fail(f"no scenarios in {d}")
    for n in names:
        declared_variant(os.path.join(d, n))
    print(f"{len(names)} scenarios declare a broken variant")


TESTS = {"variant": lambda: test_variant(ARG), "declared": test_declared}
if TEST not in TESTS:
    fail(f"unknown test '{TEST}' (variant FILE | declared)")
TESTS[TEST]()
print("ok")
