package dvm

import (
	"crypto/sha256"
	"encoding/binary"
	"sort"
	"strconv"
	"strings"

	kb "github.com/libp2p/go-libp2p-kbucket"
	"github.com/libp2p/go-libp2p/core/peer"
)

// JobKey is the DHT key of a job's record: SHA-256(job).
func JobKey(job string) []byte {
	h := sha256.Sum256([]byte(job))
	return h[:]
}

// RankKey is the DHT key of a rank's location object: SHA-256(job:rank).
func RankKey(job string, rank int) []byte {
	h := sha256.Sum256([]byte(job + ":" + strconv.Itoa(rank)))
	return h[:]
}

// closest returns the candidate nearest to key in the DHT's XOR metric, the
// same metric kad-dht's closest-peers lookup sorts by. It returns "" for no
// candidates.
func closest(key []byte, cands []peer.ID) peer.ID {
	if len(cands) == 0 {
		return ""
	}
	return byDistance(key, cands)[0]
}

// byDistance returns the candidates ordered by XOR distance to key.
func byDistance(key []byte, cands []peer.ID) []peer.ID {
	return kb.SortClosestPeers(append([]peer.ID(nil), cands...), kb.ConvertKey(string(key)))
}

// pickHost spreads a job's ranks round-robin over the live peers, starting
// at an offset derived from the job so that concurrent jobs do not all put
// rank 0 on the same peer. Every owner computes it independently; with the
// same view of the live peers they agree, so ranks land on distinct peers
// while there are enough of them.
func pickHost(live []peer.ID, job string, rank int) peer.ID {
	if len(live) == 0 {
		return ""
	}
	ps := append([]peer.ID(nil), live...)
	sort.Slice(ps, func(i, j int) bool { return ps[i] < ps[j] })
	ps = dedupSorted(ps)
	off := binary.BigEndian.Uint64(JobKey(job)[:8])
	return ps[(off+uint64(rank))%uint64(len(ps))]
}

func dedupSorted(ps []peer.ID) []peer.ID {
	out := ps[:0]
	for i, p := range ps {
		if i == 0 || p != ps[i-1] {
			out = append(out, p)
		}
	}
	return out
}

// runID names run r of a job: the job id for the first run, and
// "<job>.<r>" for each restart. Everything a run leaves in the DVM
// (location objects, rank processes, routes, direct connections) is
// keyed by it, so nothing of a replaced run can reach the next one.
func runID(job string, run int) string {
	if run == 0 {
		return job
	}
	return job + "." + strconv.Itoa(run)
}

// parseRunID splits a run id into its job id and run number.
func parseRunID(rid string) (job string, run int, ok bool) {
	job, r, found := strings.Cut(rid, ".")
	if !found {
		return rid, 0, rid != ""
	}
	n, err := strconv.Atoi(r)
	if err != nil || n < 1 || job == "" {
		return "", 0, false
	}
	return job, n, true
}
