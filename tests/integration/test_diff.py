"""vigil diff: two real CPU profiles of a workload whose split between two functions changes; the
differential flame graph and the top changes, checked against the workload's own clock, go tool pprof
(-normalize -diff_base ranks the same flat changes) and Chromium (check_svg.js)."""
import atexit
import json
import os
import re
import shutil
import subprocess
import tempfile
import xml.etree.ElementTree as ET

from lib import Skip, check_rc, have, node, one_line_error, vigil, workload

BPF_PREFIXES = ("vg_profile", "vg_offcpu", "probe_")  # what profile and offcpu load


_DIR = None
_CACHE = {}


def _capture(name, pct):
    out = os.path.join(_DIR, name)
    r = vigil("profile", "-F", "499", "-o", out, "--", workload("split"), str(pct), "3", timeout=90)
    check_rc(r)
    m = re.search(r"alpha_pct=([\d.]+)", r.stdout + r.stderr)
    assert m, f"workload did not report its split: {r.stderr[-500:]}"
    return out, float(m.group(1))


def _profiles():
    """Two profiles of split, 20% then 80% in hot_alpha, captured once for the module's tests."""
    global _DIR
    if not _CACHE:
        _DIR = tempfile.mkdtemp(prefix="vigil-diff-")
        atexit.register(shutil.rmtree, _DIR, True)
        base, a0 = _capture("base.pb.gz", 20)
        new, a1 = _capture("new.pb.gz", 80)
        _CACHE["p"] = (base, new, a0, a1)
    return _CACHE["p"]


def _pprof_flat_pct(base, new):
    """{function: flat%} of go tool pprof -top -normalize -diff_base (signed)."""
    r = subprocess.run(["go", "tool", "pprof", "-top", "-normalize", "-nodecount=1000",
                        "-diff_base=" + base, new], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr[-1000:]
    out = {}
    for line in r.stdout.splitlines():
        f = line.split()
        if len(f) >= 6 and f[1].endswith("%") and f[4].endswith("%"):
            flat = f[0]
            sign = -1 if flat.startswith("-") else 1
            out[f[5]] = sign * float(f[1].rstrip("%"))
    return out


def test_diff_top_matches_workload_and_pprof(ctx):
    """hot_alpha grew by what the workload measured (20% -> 80% of its CPU), hot_beta shrank by
    as much; the changes equal go tool pprof's normalised flat differences."""
    base, new, a0, a1 = _profiles()
    r = vigil("diff", "-j", "--top", "5", base, new)
    check_rc(r)
    d = json.loads(r.stdout)
    assert d["unit"] == "samples" and d["base_total"] > 50 and d["new_total"] > 50, d
    top = d["grew"][0]
    assert top["function"] == "hot_alpha", f"top growing function: {d['grew'][:3]}"
    assert d["shrank"][0]["function"] == "hot_beta", f"top shrinking function: {d['shrank'][:3]}"
    want = a1 - a0
    ctx.measure(f"hot_alpha self share {top['self_change_pct']:+.2f} points, workload's clock "
                f"{want:+.2f} (bound 10); hot_beta {d['shrank'][0]['self_change_pct']:+.2f}")
    # The profile splits within a few points of the workload's clock (test_profile); a change is
    # the difference of two such shares, plus the few samples spent outside the two functions.
    assert abs(top["self_change_pct"] - want) <= 10, (top, want)
    assert abs(d["shrank"][0]["self_change_pct"] + want) <= 10, (d["shrank"][0], want)
    if not have("go"):
        raise Skip("no go tool pprof")
    flat = _pprof_flat_pct(base, new)
    for row in d["grew"] + d["shrank"]:
        name = row["function"]
        if name.endswith("_[k]"):
            name = name[:-4]
        assert name in flat, f"{name} not in pprof's diff: {sorted(flat)[:20]}"
        # pprof prints two decimals; its flat% is of the new total, as ours is
        assert abs(flat[name] - row["self_change_pct"]) <= 0.011, (name, flat[name], row)
    # the text table: the same first rows
    r = vigil("diff", base, new)
    check_rc(r)
    lines = r.stdout.splitlines()
    grew = lines[lines.index("grew:") + 1]
    shrank = lines[lines.index("shrank:") + 1]
    assert "hot_alpha" in grew and f"{top['self_change_pct']:+.2f}%" in grew, r.stdout
    assert "hot_beta" in shrank, r.stdout


def test_diff_svg(ctx):
    """The differential flame graph: NEW's widths, hot_alpha red, hot_beta blue, tooltips with both
    shares; it works in Chromium (hover, search, zoom) like any Vigil flame graph."""
    base, new, _, _ = _profiles()
    svg = ctx.path("diff.svg")
    r = vigil("diff", base, new, "-o", svg, "--title", "split 20 -> 80")
    check_rc(r)
    root = ET.parse(svg).getroot()
    ns = "{http://www.w3.org/2000/svg}"
    frames = {}
    for g in root.iter(ns + "g"):
        if g.get("data-w") is None:
            continue
        title = g.find(ns + "title").text
        name = title[:title.rindex(" (")]
        if name not in frames or int(g.get("data-w")) > int(frames[name].get("data-w")):
            frames[name] = g
    assert "hot_alpha" in frames and "hot_beta" in frames, sorted(frames)[:20]

    def rgb(g):
        return tuple(int(x) for x in re.match(r"rgb\((\d+),(\d+),(\d+)\)", g.get("data-f")).groups())

    ra, rb = rgb(frames["hot_alpha"]), rgb(frames["hot_beta"])
    assert ra[0] == 255 and ra[1] == ra[2] < 200, f"hot_alpha should be deep red: {ra}"
    assert rb[2] == 255 and rb[0] == rb[1] < 200, f"hot_beta should be deep blue: {rb}"
    assert float(frames["hot_alpha"].get("data-c")) > 30 > -30 > float(frames["hot_beta"].get("data-c"))
    assert "base " in frames["hot_alpha"].find(ns + "title").text
    text = open(svg).read()
    assert "split 20 -&gt; 80" in text and " vs base " in text
    if not os.path.isdir(os.path.join(os.path.dirname(__file__), "..", "browser", "node_modules")):
        raise Skip("no playwright-core (npm ci in tests/browser)")
    res = node("check_svg.js", svg, "hot_alpha", ctx.path("diff.png"))
    assert res.returncode == 0, f"check_svg.js: {res.stdout[-1500:]}{res.stderr[-1500:]}"


def test_diff_bad_input(ctx):
    """Missing, non-profile and mismatched files, a non-SVG output: one-line errors, exit 1, no file."""
    base, new, _, _ = _profiles()
    junk = ctx.path("junk.pb.gz")
    with open(junk, "w") as f:
        f.write("not a profile\n")
    one_line_error(vigil("diff", base), 1, r"two profiles")
    one_line_error(vigil("diff", base, ctx.path("missing.pb.gz")), 1, r"cannot open .*missing")
    one_line_error(vigil("diff", junk, new), 1, r"cannot read .*junk.*not a pprof profile")
    one_line_error(vigil("diff", base, new, "-o", ctx.path("d.png")), 1, r"SVG file")
    one_line_error(vigil("diff", "--top", "0", base, new), 1, r"invalid --top")
    off = ctx.path("off.pb.gz")
    r = vigil("offcpu", "-o", off, "--", "sleep", "0.3", timeout=60)
    check_rc(r)
    out = ctx.path("never.svg")
    one_line_error(vigil("diff", base, off, "-o", out), 1, r"cpu profile .* off-cpu profile")
    assert not os.path.exists(out)
    # the same profile against itself: nothing changed
    r = vigil("diff", "-j", base, base)
    check_rc(r)
    d = json.loads(r.stdout)
    assert d["grew"] == [] and d["shrank"] == [], d
