#!/usr/bin/env bash
# Build SeaweedFS's `weed` (Apache-2.0), the real S3 server the tests run
# against, into bin/tools/weed, once. `go install` refuses its module (it
# has replace directives), so it is built inside the module's source from
# the module cache. About 5 minutes on 2 cores, a ~230 MB binary.
set -euo pipefail
cd "$(dirname "$0")/.."
VERSION=v0.0.0-20261109003541-7506e5f91cd6
OUT=bin/tools/weed
STAMP=bin/tools/weed.version
if [ -x "$OUT" ] && [ "$(cat "$STAMP" 2>/dev/null)" = "$VERSION" ]; then
  exit 0
fi
mkdir -p bin/tools
echo "building SeaweedFS $VERSION into $OUT (once; about 5 minutes)" >&2
DIR=$(go mod download -json "github.com/seaweedfs/seaweedfs@$VERSION" | sed -n 's/^\t"Dir": "\(.*\)",$/\1/p')
[ -n "$DIR" ] || { echo "seaweedfs: go mod download gave no Dir" >&2; exit 1; }
WORK=$(mktemp -d)
trap 'chmod -R u+w "$WORK"; rm -rf "$WORK"' EXIT
cp -r "$DIR/." "$WORK/"
chmod -R u+w "$WORK"
(cd "$WORK" && CGO_ENABLED=0 go build -trimpath -ldflags '-s -w' -o "$WORK/weed.bin" ./weed)
mv "$WORK/weed.bin" "$OUT"
echo "$VERSION" > "$STAMP"
