// Package floc is the decision core of Floc, the P2P-DVM's shortcut policy
// for rank-to-rank messages.
//
// Without Floc a message to a rank is routed by key: the sending peer looks
// up the owner of SHA-256(job:rank) in the DHT, the owner forwards the
// message to the peer hosting the rank, and the reply carries the rank's
// location (host and version). That is two peer hops per message, which is
// the right price for a message sent once and the wrong one for a pair of
// ranks that talk all the time. Floc counts traffic per destination over a
// sliding window and, once a destination is chatty, keeps its location as
// a shortcut: later messages go straight to the host (one hop) over a
// connection the caller protects from libp2p's connection manager.
//
// The policy:
//
//   - Every message passes through Table.Next, which counts it and says
//     whether to send it by a shortcut or routed.
//   - A destination is chatty while the window holds at least MinMsgs
//     messages or MinBytes bytes to it. Next then asks (want) for the
//     location in the routed reply, and Table.Learned installs a shortcut
//     from it.
//   - A routed reply with the same location revalidates the shortcut; a
//     newer version replaces it. Every Refresh one message goes routed
//     on purpose, so a location that moved is noticed even if the old host
//     keeps accepting.
//   - A shortcut is dropped when its host refuses a message (Invalidate),
//     when it has not been used for Quiet (Sweep), when MaxShortcuts would
//     be exceeded (least recently used first), or when its job ends
//     (DropJob). Hosts are counted across destinations, since several
//     ranks can share one host, and the caller is told when a host gains
//     its first shortcut or loses its last, to protect or unprotect the
//     connection.
//
// The package does no I/O, starts no goroutines and reads time only
// through the clock given to New, like etcd raft's core: the caller owns
// the network, and tests drive the policy with a fake clock. Next runs on
// every message, so in steady state it is one map lookup and a few integer
// updates under one mutex, without allocating.
//
// Why the defaults (DefaultConfig):
//
//   - MinMsgs 4 in a Window of 1s: a pair exchanging a few messages a
//     second in steady state (an iterative solver's halo exchange, a
//     pipeline stage, a broadcast tree or barriers repeated over links of
//     tens of milliseconds) gets a shortcut within its first second, while
//     the one-off collectives at the start and end of a run, one or two
//     messages a pair, stay routed and cost no connection. 8 was too many:
//     over 20-60 ms links a pair sending 10 a second delivers them in
//     bursts, crossed 8 only now and then, and a broadcast tree's pairs
//     took seconds to get their shortcuts (flocbench: 92.5% of its
//     messages took one hop after a 3 s warm-up).
//   - MinBytes 256 KiB in the window: a bulk transfer carried by few large
//     messages is worth the direct path although it never reaches MinMsgs.
//   - Buckets 8: the window slides in steps of 125ms, fine enough that a
//     burst is forgotten soon after a second, with 128 bytes of counters a
//     destination.
//   - MaxShortcuts 256: a shortcut costs one protected connection and a
//     cache entry, so 256 covers an all-to-all among 256 ranks from one
//     peer without letting a huge job pin every connection.
//   - Quiet 10s: phases that pause (a checkpoint, I/O, a slow rank) keep
//     their shortcuts across the pause instead of paying the routed path
//     again to win them back.
//   - Refresh 5s: bounds how long a stale location can be used without
//     the owner being asked, at the cost of one routed message in every
//     5s of traffic.
//   - MaxTracked 4096: a counted destination takes about 500 bytes
//     (entry, ring and map slot), so counting thousands costs about 2 MiB,
//     while a peer's ranks rarely talk to more in one window.
//
// Switching between the routed and the direct path can let a message
// overtake an earlier one to the same destination; ordering is the
// caller's business.
package floc
