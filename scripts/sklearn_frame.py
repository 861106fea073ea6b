#!/usr/bin/env python3
"""Write scikit-learn's California Housing frame as CSV, built offline.

fetch_california_housing() is given the local archive instead of downloading
it (its download helper is replaced by a copy of ARCHIVE), and the resulting
frame is written with pandas' to_csv(index=False) to OUT.

    python3 scripts/sklearn_frame.py ../shared/datasets/cal_housing.tgz OUT.csv

Used by `make parity` to check that `housectl data fetch` derives the same
frame byte for byte.
"""
import hashlib
import shutil
import sys
import tempfile
from os.path import join

from sklearn.datasets import _california_housing as ch

archive, out = sys.argv[1], sys.argv[2]


def local_fetch(remote, dirname=None, n_retries=3, delay=1):
    path = join(dirname, remote.filename)
    shutil.copyfile(archive, path)
    with open(path, "rb") as f:
        digest = hashlib.sha256(f.read()).hexdigest()
    if digest != remote.checksum:
        sys.exit(f"sha256 {digest} != {remote.checksum}")
    return path


ch._fetch_remote = local_fetch
with tempfile.TemporaryDirectory() as home:
    frame = ch.fetch_california_housing(data_home=home, as_frame=True).frame
frame.to_csv(out, index=False)
print(f"{out}: {len(frame)} rows, columns {list(frame.columns)}")
