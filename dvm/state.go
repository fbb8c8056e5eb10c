package dvm

import (
	"time"

	"github.com/libp2p/go-libp2p/core/peer"
)

// JobState is where a job is in its life, named as squeue users expect.
type JobState string

const (
	JobQueued  JobState = "queued"
	JobRunning JobState = "running"
	JobDone    JobState = "done"
	JobFailed  JobState = "failed"
	JobKilled  JobState = "killed"
)

// Terminal reports whether the job has ended.
func (s JobState) Terminal() bool { return s == JobDone || s == JobFailed || s == JobKilled }

// RankState is where one rank is.
type RankState string

const (
	RankPending RankState = "pending" // spawn sent, not yet running
	RankRunning RankState = "running"
	RankExited  RankState = "exited" // ended by itself; Exit holds the code
	RankKilled  RankState = "killed" // ended by the runtime
	RankLost    RankState = "lost"   // its host vanished
)

// RankInfo is one rank in a job record.
type RankInfo struct {
	Rank   int       `json:"rank"`
	Host   peer.ID   `json:"host,omitempty"`
	State  RankState `json:"state"`
	Exit   int       `json:"exit"`
	Signal string    `json:"signal,omitempty"`
	// Messages the rank sent through its host, routed through owners and
	// by Floc shortcuts: final once it exited; while it runs, what its
	// host counted when the submitter's status asked.
	Routed   uint64 `json:"routed,omitempty"`
	Shortcut uint64 `json:"shortcut,omitempty"`
}

// JobRecord is what the DVM knows of a job. The submitter holds the live
// copy; the owner of SHA-256(job) holds the copy other peers read.
type JobRecord struct {
	ID        string     `json:"id"`
	Owner     peer.ID    `json:"owner"` // the submitting peer: only it may kill the job
	Program   string     `json:"program"`
	Args      []string   `json:"args,omitempty"`
	N         int        `json:"n"`
	State     JobState   `json:"state"`
	Submitted time.Time  `json:"submitted"`
	Ended     time.Time  `json:"ended,omitzero"`
	ExitCode  int        `json:"exit_code"`
	Err       string     `json:"error,omitempty"`
	Ranks     []RankInfo `json:"ranks"`
	// Checkpointing: the committed epochs (oldest first), how many times
	// the job restarted, and which run of it is current (0 the first;
	// each restart starts a new run under its own run id, see runID).
	CkptInterval time.Duration `json:"ckpt_interval,omitempty"`
	Epochs       []EpochInfo   `json:"epochs,omitempty"`
	Restarts     int           `json:"restarts,omitempty"`
	CkptPending  int           `json:"ckpt_pending,omitempty"` // the epoch being taken, 0 if none
	Resumes      string        `json:"resumes,omitempty"`      // "JOB@EPOCH": the checkpoint this job started from
	Run          int           `json:"run,omitempty"`
	// Rev grows with every version the owner publishes, and Sig is the
	// owner's libp2p signature over the record without Sig. A record is
	// thereby self-certifying: any peer may store or hand it on, and none
	// can forge or roll one back.
	Rev      uint64 `json:"rev"`
	OwnerKey []byte `json:"owner_key,omitempty"` // public key of Owner (not every key type is inlined in a peer ID)
	Sig      []byte `json:"sig,omitempty"`
}

// jobCore is the submitter's state machine for one job. It does no I/O:
// each event returns what the caller must do.
type jobCore struct {
	rec         JobRecord
	live        int  // ranks not yet ended
	failed      bool // a rank failed or the job was killed: tear down
	killSent    bool
	maxRestarts int // restarts allowed after a lost rank (0: none)
}

// action tells the driver of a jobCore what to do after an event.
type action struct {
	killAll bool // kill every remaining rank
	ended   bool // the job just reached a terminal state
	// restart: a rank's host was lost and the job may restart. The core
	// has moved to the next run; the driver kills what is left of the
	// previous one (run restart-1) and spawns every rank again.
	restart bool
}

func newJobCore(rec JobRecord) *jobCore {
	rec.State = JobQueued
	rec.Ranks = make([]RankInfo, rec.N)
	for i := range rec.Ranks {
		rec.Ranks[i] = RankInfo{Rank: i, State: RankPending}
	}
	return &jobCore{rec: rec, live: rec.N}
}

// placed records where a rank runs. The job is running once every rank
// has a host.
func (j *jobCore) placed(rank int, host peer.ID) {
	r := &j.rec.Ranks[rank]
	if r.State != RankPending {
		return
	}
	r.Host, r.State = host, RankRunning
	if j.rec.State == JobQueued {
		for _, x := range j.rec.Ranks {
			if x.State == RankPending {
				return
			}
		}
		j.rec.State = JobRunning
	}
}

// exited records a rank's end. A rank that ends with a non-zero status
// (or is lost) before the job is torn down fails the job with its code,
// as mpiexec does; later ends of ranks we killed do not change the code.
func (j *jobCore) exited(rank int, code int, signal string, st RankState) action {
	r := &j.rec.Ranks[rank]
	if r.State == RankExited || r.State == RankKilled || r.State == RankLost {
		return action{}
	}
	if st == RankLost && !j.failed && j.rec.Restarts < j.maxRestarts {
		r.Exit, r.Signal, r.State = code, signal, st
		j.restart()
		return action{restart: true}
	}
	r.Exit, r.Signal, r.State = code, signal, st
	if j.killSent && st == RankExited && code != 0 {
		r.State = RankKilled
	}
	j.live--
	var a action
	if (code != 0 || st == RankLost) && !j.failed {
		j.failed = true
		j.rec.State = JobFailed
		j.rec.ExitCode = code
		if code == 0 {
			j.rec.ExitCode = 1
		}
		a.killAll = j.live > 0
		j.killSent = j.killSent || a.killAll
	}
	if j.live == 0 {
		if !j.failed {
			j.rec.State = JobDone
		}
		a.ended = true
	}
	return a
}

// kill ends the job with state (killed by its owner or Ctrl-C; failed by a
// failed spawn or an abort). It reports whether there are ranks to kill.
func (j *jobCore) kill(reason string, code int, state JobState) action {
	if j.rec.State.Terminal() && !j.failed {
		return action{}
	}
	if !j.failed {
		j.failed = true
		j.rec.State = state
		j.rec.ExitCode = code
		j.rec.Err = reason
	}
	// Ranks that never got a host will never report; count them out now.
	// A spawn still in flight is killed when its placement arrives.
	for i := range j.rec.Ranks {
		if j.rec.Ranks[i].State == RankPending {
			j.rec.Ranks[i].State = RankKilled
			j.live--
		}
	}
	a := action{killAll: j.live > 0 && !j.killSent}
	j.killSent = true
	if j.live == 0 {
		a.ended = true
	}
	return a
}

func (j *jobCore) ended() bool { return j.live == 0 }

// restart begins the next run of the job: every rank is pending again.
func (j *jobCore) restart() {
	j.rec.Restarts++
	j.rec.Run++
	j.rec.State = JobRunning
	for i := range j.rec.Ranks {
		j.rec.Ranks[i] = RankInfo{Rank: i, State: RankPending}
	}
	j.live = j.rec.N
}
