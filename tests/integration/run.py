#!/usr/bin/env python3
"""Run Vigil's integration tests (as root, real BPF). Usage: run.py [SUBSTRING...]

Every test_* function of tests/integration/test_*.py runs in its own temporary directory. After each
test the runner checks that no Vigil BPF program or link is left loaded. A failed test runs once
more (VIGIL_TEST_RETRIES=0: never); passing then, it is reported FLAKY with its first failure.
"""
import importlib.util
import os
import shutil
import sys
import tempfile
import time
import traceback

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import lib  # noqa: E402


def main():
    if os.geteuid() != 0:
        print("integration tests need root (they load BPF programs)", file=sys.stderr)
        return 2
    filters = sys.argv[1:]
    here = os.path.dirname(os.path.abspath(__file__))
    tests = []
    for fn in sorted(os.listdir(here)):
        if not (fn.startswith("test_") and fn.endswith(".py")):
            continue
        spec = importlib.util.spec_from_file_location(fn[:-3], os.path.join(here, fn))
        mod = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(mod)
        for name in sorted(dir(mod)):
            if name.startswith("test_") and callable(getattr(mod, name)):
                full = f"{fn[:-3]}.{name}"
                if not filters or any(f in full for f in filters):
                    tests.append((full, getattr(mod, name),
                                  getattr(mod, "BPF_PREFIXES", ("vg_", "probe_"))))
    # A test that fails is run once more (VIGIL_TEST_RETRIES, default 1; 0 turns it off). One that
    # passes the second time is reported FLAKY with its first failure in full and counted apart: on
    # a shared 2-CPU host a load spike can starve an accuracy test, and a retry tells that apart
    # from a failure that repeats. A test that fails every time fails the run.
    retries = int(os.environ.get("VIGIL_TEST_RETRIES", "1"))
    passed = failed = skipped = flaky = 0
    t_all = time.time()
    for full, fn, prefixes in tests:
        first_failure = None
        for attempt in range(retries + 1):
            status, detail, dt, measures, tmp = run_one(fn, prefixes)
            # A BPF program or link left loaded is a bug of the code, not of the host: no retry.
            if status != "FAIL" or attempt == retries or detail.startswith("left loaded"):
                break
            print(f"  RETRY   {full} ({dt:.1f} s): failed, running it once more", flush=True)
            first_failure = (detail, tmp)
        if status == "PASS" and first_failure:
            status = "FLAKY"
        elif status == "SKIP" and first_failure:  # a failure is not made good by a skip
            shutil.rmtree(tmp, ignore_errors=True)
            status, detail, tmp = "FAIL", first_failure[0], first_failure[1]
            first_failure = None
        print(f"  {status:<7} {full} ({dt:.1f} s){(': ' + detail.splitlines()[0]) if status == 'SKIP' else ''}",
              flush=True)
        for m in measures:
            print(f"          measured: {m}", flush=True)
        if status == "FLAKY":
            flaky += 1
            print("          passed on its retry; the first run failed:", flush=True)
            print("\n".join("          " + l for l in first_failure[0].rstrip().splitlines()[-40:]),
                  flush=True)
            print(f"          (first run's files kept in {first_failure[1]})", flush=True)
        if status == "FAIL":
            failed += 1
            print("\n".join("          " + l for l in detail.rstrip().splitlines()[-40:]), flush=True)
            also = f"; the first run's in {first_failure[1]}" if first_failure else ""
            print(f"          (files kept in {tmp}{also})", flush=True)
        else:
            shutil.rmtree(tmp, ignore_errors=True)
            if status in ("PASS", "FLAKY"):
                passed += 1
            else:
                skipped += 1
    print(f"integration: {passed} passed ({flaky} of them flaky: failed once, passed on the retry), "
          f"{failed} failed, {skipped} skipped in {time.time() - t_all:.0f} s")
    return 1 if failed else 0


def run_one(fn, prefixes):
    """Run one test in a temporary directory of its own: (status, detail, seconds, measures, dir)."""
    tmp = tempfile.mkdtemp(prefix="vigil-it-")
    ctx = lib.Ctx(tmp)
    progs_before = lib.bpf_progs()
    links_before = lib.bpf_links()
    t0 = time.time()
    status, detail = "PASS", ""
    try:
        fn(ctx)
    except lib.Skip as e:
        status, detail = "SKIP", str(e)
    except Exception:
        status, detail = "FAIL", traceback.format_exc()
    finally:
        ctx.cleanup()
    # Programs are freed asynchronously once their last reference closes: give them a moment.
    # Only what no live process holds counts, so tests of other checkouts running on the same
    # machine at the same time are not taken for this test's leaks.
    # List first, then see who holds them: a program another checkout loads in between is
    # then found held, not taken for a leak. A module whose tests load only programs of its
    # own names says so (BPF_PREFIXES), and programs of other checkouts' commands that are
    # still being torn down are not its leaks.
    def leftovers():
        progs, links = lib.bpf_progs(), lib.bpf_links()
        held_progs, held_links = lib.held_bpf_ids()
        progs = {i: n for i, n in progs.items()
                 if i not in progs_before and i not in held_progs and n.startswith(prefixes)}
        # A leaked link keeps its program loaded: it is one of those.
        links = {i for i, prog in links.items()
                 if prog in progs and i not in links_before and i not in held_links}
        return progs, links

    lib.wait_for(lambda: not any(leftovers()), 3)
    leaked, leaked_links = leftovers()
    if leaked or leaked_links:
        # first in the detail, so the runner does not retry a test that leaked (failed or not)
        leak = (f"left loaded after the test: programs {sorted(leaked.items())}, "
                f"links {sorted(leaked_links)}")
        detail = leak + ("\n" + detail if status == "FAIL" else "")
        status = "FAIL"
    dt = time.time() - t0
    return status, detail, dt, ctx.measures, tmp


if __name__ == "__main__":
    sys.exit(main())
