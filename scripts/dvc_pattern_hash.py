#!/usr/bin/env python3
"""Hash a directory the way DVC 3 does, in plain Python (hashlib), as the
peer for `housectl data hash DIR`: walk, md5 each file in 1 MiB chunks,
build [{"md5", "relpath"}], sort by relpath, json.dumps(sort_keys=True),
md5 of that + ".dir". DVC itself cannot be installed here (no PyPI); this is
the same work without DVC's own overheads, so it flatters the peer.

    python3 scripts/dvc_pattern_hash.py DIR
"""
import hashlib
import json
import os
import sys


def md5_file(path):
    h = hashlib.md5()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1024 * 1024), b""):
            h.update(chunk)
    return h.hexdigest()


root = sys.argv[1]
entries = []
for dirpath, _dirs, files in os.walk(root):
    for name in files:
        p = os.path.join(dirpath, name)
        entries.append({"md5": md5_file(p), "relpath": os.path.relpath(p, root).replace(os.sep, "/")})
entries.sort(key=lambda e: e["relpath"])
manifest = json.dumps(entries, sort_keys=True)
print(hashlib.md5(manifest.encode()).hexdigest() + ".dir", root)
