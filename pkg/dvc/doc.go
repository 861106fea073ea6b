// Package dvc versions data exactly as DVC 3 does, so that a repository can
// be used with housectl and with DVC alike.
//
// Nouns:
//   - ID: an object id, the lower-case hex MD5 of a file's raw bytes, or of a
//     directory's manifest followed by ".dir".
//   - Manifest: a directory's sorted list of (md5, relpath) entries,
//     serialised byte for byte as Python's json.dumps(sort_keys=True).
//   - Cache: the content-addressed store .dvc/cache/files/md5/<2>/<30>,
//     write-once, objects read-only.
//   - File: a .dvc file; its Outs record what was added.
//   - State: a crash-safe table (inode, mtime, size) -> ID that lets an
//     unchanged file skip re-hashing.
//   - Repo: a directory with .dvc/ in it; commands lock it while they write.
//   - Remote: another store with the cache's layout (a local directory now,
//     S3 later) that push and pull copy objects to and from.
//
// Legacy DVC 2 outputs (no `hash: md5`) are read and checked with the
// dos2unix MD5 and the legacy cache layout; housectl writes only DVC 3.
package dvc
