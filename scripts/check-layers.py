#!/usr/bin/env python3
"""Keep user/'s data flow one-way: a file may include headers of its own folder and of folders below
it in the ladder, never of a folder above (DESIGN.md section 2, user/README.md).

    scripts/check-layers.py [USER_DIR]     exit 0 when clean, 1 with one line per violation

Also checked: every folder of USER_DIR is on the ladder and has a README.md; project headers are
included by their folder-qualified name ("model/profile.h"), never by a relative path.
"""
import os
import re
import sys

# Top to bottom. main.c (at USER_DIR's root) sits above them all.
LADDER = ["cmd", "service", "analytics", "export", "collect", "kernel", "symbols", "model", "util"]
RANK = {name: i for i, name in enumerate(LADDER)}
INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"')


def check(root):
    problems = []
    for entry in sorted(os.listdir(root)):
        path = os.path.join(root, entry)
        if os.path.isdir(path):
            if entry not in RANK:
                problems.append(f"{path}: folder is not on the ladder ({' > '.join(LADDER)}); "
                                "add it to scripts/check-layers.py and DESIGN.md")
            elif not os.path.isfile(os.path.join(path, "README.md")):
                problems.append(f"{path}: missing README.md (what lives here, what it may use)")
    for dirpath, _, files in os.walk(root):
        rel = os.path.relpath(dirpath, root)
        room = None if rel == "." else rel.split(os.sep)[0]
        for f in sorted(files):
            if not f.endswith((".c", ".h")):
                continue
            src = os.path.join(dirpath, f)
            with open(src, encoding="utf-8", errors="replace") as fh:
                for lineno, line in enumerate(fh, 1):
                    m = INCLUDE.match(line)
                    if not m:
                        continue
                    inc = m.group(1)
                    where = f"{src}:{lineno}"
                    if inc.startswith(("./", "../")) or "/../" in inc:
                        problems.append(f"{where}: relative include \"{inc}\"; name it as "
                                        "\"folder/file.h\"")
                        continue
                    head = inc.split("/")[0] if "/" in inc else None
                    if head in RANK:
                        if room is not None and room in RANK and RANK[head] < RANK[room]:
                            problems.append(f"{where}: {room}/ includes \"{inc}\" from {head}/, "
                                            f"which is above it ({' > '.join(LADDER)})")
                    elif head is None and os.path.isfile(os.path.join(dirpath, inc)):
                        qual = f"{room}/{inc}" if room else inc
                        problems.append(f"{where}: include \"{inc}\" as \"{qual}\"")
    return problems


def main():
    root = sys.argv[1] if len(sys.argv) > 1 else "user"
    if not os.path.isdir(root):
        print(f"check-layers: no such directory '{root}'", file=sys.stderr)
        return 2
    problems = check(root)
    for p in problems:
        print(f"check-layers: {p}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
