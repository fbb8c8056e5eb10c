// Package dvm is a p2pdvm peer: a libp2p host with a Kademlia DHT that,
// together with the other peers, forms one distributed virtual machine.
//
// A peer plays five roles, each in its own files:
//
//   - submitter (submit.go): the peer a user submits a job to. It owns the
//     job: it stores the program, spawns the ranks, collects their output and
//     exit codes, and is the only identity allowed to kill the job.
//   - owner (owner.go, records.go): the peer closest in the DHT key space to
//     SHA-256(job) holds the job record; the peer closest to
//     SHA-256(job:rank) holds that rank's location object, picks its host and
//     forwards messages routed by key to it.
//   - host (exec.go, procsock.go): runs rank processes, gives each its
//     identity, carries its messages, and streams its output to the submitter.
//   - data plane (data.go): per-(sender, receiver) sequence numbers, direct
//     streams between hosts once a location is known, and reordering so that
//     delivery is exactly once and FIFO whichever path a message took.
//   - block store (blocks.go, storefile.go, repair.go, pins.go, bin.go): each
//     peer keeps the blocks closest to it, repairs their replicas as peers
//     come and go, leases the blocks of the files it pins, frees what nothing
//     references, and fetches jobs' programs and input files by CID.
//
// Pure decisions (keys, ownership, placement, job state, block repair) live
// in keys.go, state.go and repairplan.go and are tested without a network; libp2p stays at the edges
// (host.go, rpc.go).
package dvm
