// Package storage is p2pdvm's CFS-like block store: files are cut into
// content-defined chunks, each chunk is compressed and stored as a block
// named by the SHA-256 of its content, and a manifest block lists the
// chunks; the manifest's hash is the file's content id (CID).
//
// This package is the store's pure core and its local disk: chunking
// (chunk.go), the block format with its codec and filter bytes
// (block.go), manifests (manifest.go), whole files (file.go), the
// per-peer block directory with atomic writes, a capacity limit and
// verification on every read (disk.go), what keeps blocks alive - pins
// and leases (refs.go) - and the garbage collector's rule (gc.go).
// Placing blocks on k of the closest peers of the DHT, repair, pinning
// across peers and the store CLI are in package dvm.
//
// Content-defined chunking (Rabin fingerprints, restic's chunker) makes
// two versions of a file that differ in a few places share most chunks,
// so a checkpoint stores mostly what changed since the last one. The
// polynomial is fixed: every peer must cut the same bytes the same way.
package storage
