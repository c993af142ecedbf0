#!/usr/bin/env python3
"""The layering check's own test (run by `make lint`): it must pass a tree that follows the ladder and
reject an upward include, a relative include, an unqualified one, a folder off the ladder and a folder
without README.md. Each case builds a small tree in a temporary directory."""
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
CHECK = os.path.join(HERE, "..", "..", "scripts", "check-layers.py")


def tree(root, files):
    for path, text in files.items():
        full = os.path.join(root, path)
        os.makedirs(os.path.dirname(full), exist_ok=True)
        with open(full, "w") as f:
            f.write(text)


def run(root):
    p = subprocess.run([sys.executable, CHECK, root], capture_output=True, text=True)
    return p.returncode, p.stderr


BASE = {
    "main.c": '#include "cmd/commands.h"\n',
    "cmd/README.md": "x", "cmd/commands.h": "", "cmd/profile.c": '#include "export/export.h"\n',
    "export/README.md": "x", "export/export.h": '#include "model/profile.h"\n',
    "model/README.md": "x", "model/profile.h": '#include "util/log.h"\n#include "vigil/common.h"\n',
    "util/README.md": "x", "util/log.h": "",
}


def case(name, extra, want_rc, want_text):
    files = dict(BASE)
    files.update(extra)
    with tempfile.TemporaryDirectory(prefix="vigil-layers-") as root:
        tree(root, files)
        rc, err = run(root)
        err = err.replace(root + "/", "")
    ok = rc == want_rc and want_text in err
    print(f"  {'ok' if ok else 'FAIL'}   {name}: rc {rc}" + (f", {err.strip()}" if err else ""))
    return ok


def main():
    results = [
        case("ladder followed", {}, 0, ""),
        case("upward include (model -> export)",
             {"model/hist.c": '#include "export/export.h"\n'}, 1, "which is above it"),
        case("upward include (util -> cmd)",
             {"util/cli.c": '#include "cmd/commands.h"\n'}, 1, "util/ includes \"cmd/commands.h\""),
        case("relative include", {"model/x.c": '#include "../util/log.h"\n'}, 1,
             "relative include"),
        case("unqualified same-folder include", {"model/x.c": '#include "profile.h"\n'}, 1,
             "as \"model/profile.h\""),
        case("folder off the ladder", {"misc/README.md": "x", "misc/a.c": ""}, 1,
             "not on the ladder"),
        case("folder without README.md", {"symbols/elf.c": ""}, 1, "missing README.md"),
    ]
    if not all(results):
        print("test_check_layers: FAILED", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
