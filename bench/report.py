#!/usr/bin/python3
"""Merge attnflow's kernel benchmarks with the peer baselines into one JSON and a Markdown report.

    report.py --kernels build/bench/kernels.json --peers peers_numpy.json peers_torch.json
              --json OUT.json --md OUT.md

--kernels is Google Benchmark JSON from build/bench/bench_kernels (entries named
"<kernel>/N:<N>/d:<d>" with user counters pairs_per_s or osc_steps_per_s, GFLOPs, N, d, and
"dgemm/n:<n>" with GFLOPs, n). --peers are files from bench/peers/attention_rhs.py. Any input may
be missing; the report then says "not run".
"""
import argparse
import datetime
import json
import os
import re
import statistics
import subprocess
import sys

D3_TARGET_PAIRS = 2e9          # d = 3 attention_softmax pairs/s target
D64_TARGET_PCT = 60.0          # d = 64 attention_softmax GFLOP/s as % of dgemm peak
REF_KERNEL = "attention_softmax"

# Fields Google Benchmark writes itself; every other numeric field of an entry is a user counter.
GBENCH_FIELDS = {"name", "run_name", "run_type", "repetitions", "repetition_index", "threads",
                 "iterations", "real_time", "cpu_time", "time_unit", "family_index",
                 "per_family_instance_index", "aggregate_name", "aggregate_unit",
                 "error_occurred", "error_message", "label", "big_o", "rms"}


# ---------------------------------------------------------------------------------------------
# Formatting

def fmt_big(x):
    """1.63e9 style (three significant digits, no '+' and no leading zeros in the exponent)."""
    if x is None:
        return "–"
    if x == 0:
        return "0"
    m, e = f"{x:.2e}".split("e")
    return f"{m}e{int(e)}"


def fmt_small(x):
    return "–" if x is None else f"{x:.1f}"


def fmt_ratio(x):
    return "–" if x is None else f"{x:.3g}"


# ---------------------------------------------------------------------------------------------
# Inputs

def load_json(path, what):
    if not path:
        return None
    if not os.path.exists(path):
        print(f"report: {what} file {path} not found; reported as not run", file=sys.stderr)
        return None
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, json.JSONDecodeError) as e:
        print(f"report: cannot read {what} file {path}: {e}; reported as not run", file=sys.stderr)
        return None


def parse_name(name):
    """'attention_softmax/N:4096/d:3/min_time:0.010' -> ('attention_softmax', {'N': '4096', ...})."""
    parts = name.split("/")
    params = {}
    for p in parts[1:]:
        if ":" in p:
            k, v = p.split(":", 1)
            params[k] = v
    return parts[0], params


def as_int(v):
    try:
        return int(float(v))
    except (TypeError, ValueError):
        return None


def summarise_group(entries):
    """One record from all entries of one benchmark instance (repetitions and/or aggregates)."""
    errors = [e for e in entries if e.get("error_occurred")]
    iters = [e for e in entries if e.get("run_type", "iteration") == "iteration" and not e.get("error_occurred")]
    aggs = [e for e in entries if e.get("run_type") == "aggregate" and not e.get("error_occurred")]
    if not iters and not aggs:
        msg = errors[0].get("error_message", "error") if errors else "no data"
        return {"status": "error", "error_message": msg}, entries[0]
    if iters:
        src = iters
    else:  # only aggregates were written (--benchmark_report_aggregates_only)
        by_kind = {e.get("aggregate_name"): e for e in aggs}
        src = [by_kind.get("median") or by_kind.get("mean") or aggs[0]]
    counters = {}
    for key in src[0]:
        if key in GBENCH_FIELDS:
            continue
        vals = [e[key] for e in src if isinstance(e.get(key), (int, float)) and not isinstance(e.get(key), bool)]
        if vals:
            counters[key] = statistics.median(vals)
    rec = {"status": "ok", "counters": counters, "repetitions": len(src),
           "real_time": statistics.median(e.get("real_time", 0.0) for e in src),
           "time_unit": src[0].get("time_unit")}
    return rec, src[0]


def read_kernels(doc):
    """-> (kernel records, dgemm records) from Google Benchmark JSON."""
    groups = {}
    for e in doc.get("benchmarks", []):
        key = e.get("run_name") or re.sub(r"_(mean|median|stddev|cv)$", "", e.get("name", ""))
        groups.setdefault(key, []).append(e)
    kernels, dgemms = [], []
    for run_name, entries in groups.items():
        rec, first = summarise_group(entries)
        kernel, params = parse_name(run_name)
        c = rec.get("counters", {})
        rec["name"] = run_name
        rec["kernel"] = kernel
        if kernel.startswith("dgemm"):
            rec["n"] = as_int(c.get("n", params.get("n")))
            rec["GFLOPs"] = c.get("GFLOPs")
            dgemms.append(rec)
            continue
        rec["N"] = as_int(c.get("N", params.get("N")))
        rec["d"] = as_int(c.get("d", params.get("d")))
        rec["params"] = {k: v for k, v in params.items()
                         if k not in ("N", "d", "min_time", "repeats", "iterations", "real_time",
                                      "process_time", "manual_time", "threads")}
        rec["pairs_per_s"] = c.get("pairs_per_s")
        rec["osc_steps_per_s"] = c.get("osc_steps_per_s")
        rec["GFLOPs"] = c.get("GFLOPs")
        kernels.append(rec)
    return kernels, dgemms


def lscpu():
    info = {}
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True, timeout=10).stdout
        for line in out.splitlines():
            if ":" in line:
                k, v = line.split(":", 1)
                info[k.strip()] = v.strip()
    except (OSError, subprocess.SubprocessError):
        pass
    return info


def thread_info(context):
    """Thread count: GB context num_cpus and OMP_NUM_THREADS from the context or environment."""
    t = {"num_cpus": context.get("num_cpus")}
    for key in ("OMP_NUM_THREADS", "omp_num_threads", "omp_max_threads", "num_threads", "threads"):
        if key in context:
            t["OMP_NUM_THREADS"] = context[key]
            t["OMP_NUM_THREADS_source"] = f"benchmark context ({key})"
            break
    else:
        if "OMP_NUM_THREADS" in os.environ:
            t["OMP_NUM_THREADS"] = os.environ["OMP_NUM_THREADS"]
            t["OMP_NUM_THREADS_source"] = "environment of report.py"
    return t


# ---------------------------------------------------------------------------------------------
# Derived tables

def peer_lookup(peer):
    """(N, d) -> peer result dict."""
    if not peer:
        return {}
    return {(r.get("N"), r.get("d")): r for r in peer.get("results", [])}


def ratio_rows(kernels, peers):
    ours = {(k["N"], k["d"]): k for k in kernels if k["kernel"] == REF_KERNEL and not k["params"]}
    looks = {name: peer_lookup(p) for name, p in peers.items()}
    keys = set(ours)
    for lk in looks.values():
        keys |= set(lk)
    rows = []
    for N, d in sorted(k for k in keys if None not in k):
        a = ours.get((N, d))
        a_val = a.get("pairs_per_s") if a and a["status"] == "ok" else None
        row = {"N": N, "d": d, "attnflow": {"pairs_per_s": a_val,
                                             "status": "not run" if a is None else a["status"]}}
        for name in peers:
            r = looks[name].get((N, d))
            if peers[name] is None or r is None:
                row[name] = {"status": "not run", "pairs_per_s": None, "ratio": None}
            elif "skipped" in r:
                row[name] = {"status": "skipped (memory)", "reason": r["skipped"], "pairs_per_s": None, "ratio": None}
            else:
                p = r.get("pairs_per_s")
                row[name] = {"status": "ok", "pairs_per_s": p,
                             "ratio": a_val / p if a_val and p else None}
        rows.append(row)
    return rows


def targets(kernels, peak):
    soft = [k for k in kernels if k["kernel"] == REF_KERNEL and not k["params"] and k["status"] == "ok"]
    out = {}
    d3 = [k for k in soft if k["d"] == 3 and k.get("pairs_per_s")]
    at4096 = next((k for k in d3 if k["N"] == 4096), None)
    best = max(d3, key=lambda k: k["pairs_per_s"], default=None)
    out["d3_N4096"] = None if at4096 is None else {
        "N": 4096, "pairs_per_s": at4096["pairs_per_s"], "target": D3_TARGET_PAIRS,
        "pass": at4096["pairs_per_s"] >= D3_TARGET_PAIRS}
    out["d3_best"] = None if best is None else {
        "N": best["N"], "pairs_per_s": best["pairs_per_s"], "target": D3_TARGET_PAIRS,
        "pass": best["pairs_per_s"] >= D3_TARGET_PAIRS}
    out["d64"] = []
    for k in sorted((k for k in soft if k["d"] == 64 and k.get("GFLOPs") is not None), key=lambda k: k["N"]):
        pct = 100.0 * k["GFLOPs"] / peak if peak else None
        out["d64"].append({"N": k["N"], "GFLOPs": k["GFLOPs"], "pct_of_dgemm_peak": pct,
                           "target_pct": D64_TARGET_PCT,
                           "pass": None if pct is None else pct >= D64_TARGET_PCT})
    return out


# ---------------------------------------------------------------------------------------------
# Markdown

def verdict(ok):
    return "not run" if ok is None else ("PASS" if ok else "FAIL")


def markdown(m):
    L = []
    mach, th = m["machine"], m["threads"]
    L.append("# attnflow kernel benchmarks")
    L.append("")
    L.append(f"- Date: {m['date']} (benchmark run: {m['benchmark_date'] or 'not run'})")
    L.append(f"- CPU: {mach.get('cpu_model') or 'unknown'} ({mach.get('cpus') or '?'} CPUs, "
             f"{mach.get('cores_per_socket') or '?'} cores/socket, {mach.get('threads_per_core') or '?'} threads/core)")
    omp = th.get("OMP_NUM_THREADS")
    L.append(f"- Threads: num_cpus = {th.get('num_cpus') if th.get('num_cpus') is not None else 'not run'}, "
             f"OMP_NUM_THREADS = {omp if omp is not None else 'not set'}"
             + (f" ({th['OMP_NUM_THREADS_source']})" if omp is not None else ""))
    peak = m["dgemm"]["peak_GFLOPs"]
    L.append(f"- dgemm peak: {fmt_small(peak) + ' GFLOP/s' if peak else 'not run'}"
             + (f" (best of n = {', '.join(str(e['n']) for e in m['dgemm']['entries'] if e.get('GFLOPs'))})"
                if peak else ""))
    for name, p in m["peers"].items():
        if p is None:
            L.append(f"- Peer {name}: not run")
        else:
            L.append(f"- Peer {name}: {name} {p.get('version')}, {p.get('threads')} threads, BLAS: {p.get('blas')}")
    L.append("")

    L.append("## Kernels")
    L.append("")
    if m["kernels_file_status"] != "ok":
        L.append(f"Kernel benchmarks: {m['kernels_file_status']}.")
    elif not m["kernels"] and not m["dgemm"]["entries"]:
        L.append("Kernel benchmarks: the file has no entries (filter matched nothing?).")
    else:
        L.append("| kernel | N | d | pairs/s | osc-steps/s | GFLOP/s | % of dgemm peak |")
        L.append("|---|---:|---:|---:|---:|---:|---:|")
        for k in m["kernels"]:
            label = k["kernel"] + ("" if not k["params"] else
                                   " (" + ", ".join(f"{a}:{b}" for a, b in k["params"].items()) + ")")
            if k["status"] != "ok":
                L.append(f"| {label} | {k['N']} | {k['d']} | error | error | error | error |")
                continue
            L.append(f"| {label} | {k['N']} | {k['d']} | {fmt_big(k['pairs_per_s'])} | "
                     f"{fmt_big(k['osc_steps_per_s'])} | {fmt_small(k['GFLOPs'])} | {fmt_small(k['pct_of_dgemm_peak'])} |")
        if m["dgemm"]["entries"]:
            L.append("")
            L.append("| dgemm n | GFLOP/s |")
            L.append("|---:|---:|")
            for e in m["dgemm"]["entries"]:
                L.append(f"| {e['n']} | {'error' if e['status'] != 'ok' else fmt_small(e['GFLOPs'])} |")
    L.append("")

    L.append(f"## {REF_KERNEL}: attnflow vs peers (pairs/s)")
    L.append("")
    names = list(m["peers"])
    if not m["ratios"]:
        L.append("No attention_softmax or peer results: not run.")
    else:
        head = "| N | d | attnflow | " + " | ".join(names) + " | " + " | ".join(f"attnflow/{n}" for n in names) + " |"
        L.append(head)
        L.append("|---:|---:|---:|" + "---:|" * (2 * len(names)))
        for r in m["ratios"]:
            a = r["attnflow"]
            a_txt = fmt_big(a["pairs_per_s"]) if a["pairs_per_s"] is not None else a["status"]
            vals, rats = [], []
            for n in names:
                p = r[n]
                if p["status"] == "ok":
                    vals.append(fmt_big(p["pairs_per_s"]))
                    rats.append(fmt_ratio(p["ratio"]))
                else:
                    vals.append(p["status"])
                    if p["status"] == "skipped (memory)" and a["pairs_per_s"] is not None:
                        rats.append("– (peer skipped; attnflow ran)")
                    else:
                        rats.append("–")
            L.append(f"| {r['N']} | {r['d']} | {a_txt} | " + " | ".join(vals) + " | " + " | ".join(rats) + " |")
        skipped = {r[n]["reason"] for r in m["ratios"] for n in names if r[n]["status"] == "skipped (memory)"}
        if skipped:
            L.append("")
            L.append("Skipped peers (memory): " + "; ".join(sorted(skipped)) + ".")
    L.append("")

    t = m["targets"]
    L.append("## Targets")
    L.append("")
    for key, where in (("d3_N4096", "N = 4096"), ("d3_best", "best over N")):
        x = t[key]
        if x is None:
            L.append(f"- d = 3 {REF_KERNEL} pairs/s at {where}: not run (target {fmt_big(D3_TARGET_PAIRS)})")
        else:
            at = "" if key == "d3_N4096" else f" (N = {x['N']})"
            L.append(f"- d = 3 {REF_KERNEL} pairs/s at {where}{at}: {fmt_big(x['pairs_per_s'])} vs target "
                     f"{fmt_big(x['target'])}: **{verdict(x['pass'])}**")
    if not t["d64"]:
        L.append(f"- d = 64 {REF_KERNEL} GFLOP/s vs {D64_TARGET_PCT:.0f}% of dgemm peak: not run")
    for x in t["d64"]:
        pct = "dgemm not run" if x["pct_of_dgemm_peak"] is None else f"{fmt_small(x['pct_of_dgemm_peak'])}% of peak"
        L.append(f"- d = 64 {REF_KERNEL} at N = {x['N']}: {fmt_small(x['GFLOPs'])} GFLOP/s = {pct} "
                 f"vs target {D64_TARGET_PCT:.0f}%: **{verdict(x['pass'])}**")
    L.append("")
    return "\n".join(L)


# ---------------------------------------------------------------------------------------------

def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--kernels", help="Google Benchmark JSON from bench_kernels")
    ap.add_argument("--peers", nargs="*", default=[], help="JSON files from bench/peers/attention_rhs.py")
    ap.add_argument("--json", required=True, help="merged JSON output")
    ap.add_argument("--md", required=True, help="Markdown output")
    a = ap.parse_args()

    gb = load_json(a.kernels, "kernels")
    context = (gb or {}).get("context", {})
    kernels, dgemms = read_kernels(gb) if gb else ([], [])
    ok_dgemm = [e["GFLOPs"] for e in dgemms if e["status"] == "ok" and e.get("GFLOPs")]
    peak = max(ok_dgemm) if ok_dgemm else None
    for k in kernels:
        k["pct_of_dgemm_peak"] = (100.0 * k["GFLOPs"] / peak
                                  if peak and k["status"] == "ok" and k.get("GFLOPs") is not None else None)

    # Peers keyed by their backend; numpy and torch always appear (as "not run" if absent).
    peers = {"numpy": None, "torch": None}
    for path in a.peers:
        p = load_json(path, "peer")
        if p is not None:
            peers[p.get("backend", os.path.splitext(os.path.basename(path))[0])] = p

    cpu = lscpu()
    merged = {
        "date": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
        "benchmark_date": context.get("date"),
        "machine": {"cpu_model": cpu.get("Model name"), "cpus": cpu.get("CPU(s)"),
                    "cores_per_socket": cpu.get("Core(s) per socket"),
                    "threads_per_core": cpu.get("Thread(s) per core"), "sockets": cpu.get("Socket(s)"),
                    "host_name": context.get("host_name")},
        "threads": thread_info(context),
        "kernels_file": a.kernels,
        "kernels_file_status": "ok" if gb else "not run",
        "gbench_context": context,
        "dgemm": {"peak_GFLOPs": peak, "entries": dgemms},
        "kernels": kernels,
        "peers": peers,
        "ratios": ratio_rows(kernels, peers),
        "targets": targets(kernels, peak),
    }
    md = markdown(merged)
    for path in (a.json, a.md):
        os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with open(a.json, "w") as f:
        json.dump(merged, f, indent=2)
        f.write("\n")
    with open(a.md, "w") as f:
        f.write(md + "\n")
    print(f"wrote {a.json} and {a.md}", file=sys.stderr)


if __name__ == "__main__":
    main()
