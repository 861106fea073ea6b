#!/usr/bin/env bash
# Check that `housectl data fetch` derives scikit-learn's California Housing
# frame byte for byte: scikit-learn (Debian python3-sklearn) builds its frame
# from the same archive and pandas writes it; the two CSVs must be identical.
# Usage: scripts/parity-frame.sh BIN ARCHIVE
set -euo pipefail
bin=$(realpath "$1"); archive=$(realpath "$2")
here=$(cd "$(dirname "$0")" && pwd)
"$here/deps-debian.sh" python3-sklearn python3-pandas
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
(cd "$work" && HOUSECTL_DATA_URL="file://$archive" "$bin" data fetch >/dev/null 2>&1)
/usr/bin/python3 "$here/sklearn_frame.py" "$archive" "$work/sklearn.csv"
if cmp -s "$work/sklearn.csv" "$work/data/california.csv"; then
  echo "parity: data/california.csv is byte-identical to scikit-learn $(/usr/bin/python3 -c 'import sklearn; print(sklearn.__version__)')'s frame ($(sha256sum < "$work/sklearn.csv" | cut -c1-16)…)"
else
  echo "parity: FAILED: housectl's frame differs from scikit-learn's" >&2
  cmp "$work/sklearn.csv" "$work/data/california.csv" >&2 || true
  exit 1
fi
