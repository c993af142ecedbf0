#!/usr/bin/env python3
"""Run `vigil anomaly` over the NAB subset and score it with NAB's scorer (../shared/tools/nab).

  scripts/nab-eval.py [--set NAME=VALUE ...] [--files all|A|B] [--json]

Prints the score of every profile (threshold optimised over the files scored, as NAB does) and, at
the standard profile's threshold, the score of each category. --files A / B score one half of the
files (alternate files of each category, sorted by name): tune on one half, report the other, to show
the detector does as well on series it was not tuned on. --tune runs a small grid over the main knobs
on half A, picks the best, and reports both halves with it.
"""
import argparse, concurrent.futures, itertools, json, os, re, subprocess, sys, tempfile

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
SHARED = os.path.abspath(os.path.join(ROOT, "..", "..", "shared")) \
    if os.path.isdir(os.path.join(ROOT, "..", "..", "shared")) else "/work/shared"
DATA = os.path.join(SHARED, "datasets", "nab")
SCORER = os.path.join(SHARED, "tools", "nab", "score.py")
PY = "/usr/bin/python3"


def data_files(data):
    out = []
    for cat in sorted(os.listdir(data)):
        d = os.path.join(data, cat)
        if os.path.isdir(d):
            out += [cat + "/" + f for f in sorted(os.listdir(d)) if f.endswith(".csv")]
    return out


def half(files, which):
    """Alternate files of each category: A gets the 1st, 3rd, ...; B the 2nd, 4th, ..."""
    if which == "all":
        return files
    out = []
    for cat, group in itertools.groupby(files, key=lambda k: k.split("/")[0]):
        group = list(group)
        out += group[0 if which == "A" else 1::2]
    return out


def run_detector(vigil, data, results, keys, sets, jobs=2):
    def one(k):
        dst = os.path.join(results, k)
        os.makedirs(os.path.dirname(dst), exist_ok=True)
        argv = [vigil, "anomaly", "-o", dst]
        for s in sets:
            argv += ["--set", s]
        r = subprocess.run(argv + [os.path.join(data, "data", k)], capture_output=True, text=True)
        if r.returncode:
            raise RuntimeError("%s: exit %d: %s" % (k, r.returncode, r.stderr.strip()))
    with concurrent.futures.ThreadPoolExecutor(jobs) as ex:
        list(ex.map(one, keys))


LINE = re.compile(r"^(\S+): (\S+) \(threshold ([^,]+), tp (\d+), fp (\d+), fn (\d+)\) raw (\S+)"
                  r".*windows_hit (\d+)/(\d+)")


def score(data, results, keys, threshold=None):
    argv = [PY, SCORER, "--data", os.path.join(data, "data"), "--windows",
            os.path.join(data, "windows.json"), "--results", results, "--profile", "all",
            "--only", ",".join(keys)]
    if threshold is not None:
        argv += ["--threshold", repr(threshold)]
    r = subprocess.run(argv, capture_output=True, text=True)
    if r.returncode:
        raise RuntimeError("score.py failed: " + r.stderr.strip())
    out = {}
    for line in r.stdout.splitlines():
        m = LINE.match(line)
        if m:
            out[m.group(1)] = {"score": None if m.group(2) == "n/a" else float(m.group(2)),
                               "threshold": float(m.group(3)), "tp": int(m.group(4)),
                               "fp": int(m.group(5)), "fn": int(m.group(6)), "raw": float(m.group(7)),
                               "windows_hit": int(m.group(8)), "windows": int(m.group(9))}
    return out


def evaluate(vigil, data, keys, sets, results=None, per_category=True):
    tmp = None
    if results is None:
        tmp = tempfile.TemporaryDirectory(prefix="nab-")
        results = tmp.name
    run_detector(vigil, data, results, keys, sets)
    res = {"profiles": score(data, results, keys)}
    if per_category:
        thr = res["profiles"]["standard"]["threshold"]
        res["categories"] = {}
        for cat in sorted({k.split("/")[0] for k in keys}):
            ck = [k for k in keys if k.startswith(cat + "/")]
            res["categories"][cat] = score(data, results, ck, thr)["standard"]
    if tmp:
        tmp.cleanup()
    return res


def show(title, res):
    print(title)
    for p, v in res["profiles"].items():
        print("  %-20s %6.2f  (threshold %.6g, windows hit %d/%d, fp rows %d)" % (
            p, v["score"], v["threshold"], v["windows_hit"], v["windows"], v["fp"]))
    for c, v in res.get("categories", {}).items():
        print("  %-30s %6s  (raw %.2f, windows hit %d/%d, fp rows %d)" % (
            c, "n/a" if v["score"] is None else "%.2f" % v["score"], v["raw"], v["windows_hit"],
            v["windows"], v["fp"]))


GRID = {  # the knobs a user might reasonably turn, a few values each
    "refractory": ["60", "120", "240"],
    "tail_q": ["0.02", "0.05", "0.1"],
    "window": ["144", "288", "576"],
}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--vigil", default=os.path.join(ROOT, "vigil"))
    ap.add_argument("--data", default=DATA)
    ap.add_argument("--set", action="append", default=[], help="detector knob NAME=VALUE")
    ap.add_argument("--files", default="all", choices=["all", "A", "B"])
    ap.add_argument("--results", help="keep the result files here")
    ap.add_argument("--tune", action="store_true", help="grid-search on half A, report A, B, all")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    files = data_files(os.path.join(args.data, "data"))
    if args.tune:
        best = None
        for combo in itertools.product(*GRID.values()):
            sets = args.set + ["%s=%s" % kv for kv in zip(GRID, combo)]
            s = evaluate(args.vigil, args.data, half(files, "A"), sets, per_category=False)
            v = s["profiles"]["standard"]["score"]
            print("  A %6.2f  %s" % (v, " ".join(sets)), flush=True)
            if best is None or v > best[0]:
                best = (v, sets)
        out = {"chosen": best[1]}
        for h in ("A", "B", "all"):
            out[h] = evaluate(args.vigil, args.data, half(files, h), best[1])
        if args.json:
            print(json.dumps(out, indent=1))
        else:
            print("chosen on half A:", " ".join(best[1]))
            for h in ("A", "B", "all"):
                show("half %s (%d files)" % (h, len(half(files, h))) if h != "all"
                     else "all files", out[h])
        return
    res = evaluate(args.vigil, args.data, half(files, args.files), args.set, args.results)
    if args.json:
        print(json.dumps(res, indent=1))
    else:
        show("files: %s (%d)" % (args.files, len(half(files, args.files))), res)


if __name__ == "__main__":
    main()
