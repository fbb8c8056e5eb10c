package dvm

import (
	"testing"

	"github.com/libp2p/go-libp2p/core/peer"
)

func TestJobCoreTransitions(t *testing.T) {
	type ev struct {
		kind  string // place, exit, lost, kill
		rank  int
		code  int
		state JobState
		kill  bool
		ended bool
	}
	cases := []struct {
		name     string
		n        int
		evs      []ev
		wantCode int
	}{
		{"all succeed", 2, []ev{
			{kind: "place", rank: 0, state: JobQueued},
			{kind: "place", rank: 1, state: JobRunning},
			{kind: "exit", rank: 1, state: JobRunning},
			{kind: "exit", rank: 0, state: JobDone, ended: true},
		}, 0},
		{"first failure wins and kills the rest", 3, []ev{
			{kind: "place", rank: 0}, {kind: "place", rank: 1}, {kind: "place", rank: 2, state: JobRunning},
			{kind: "exit", rank: 2, code: 3, state: JobFailed, kill: true},
			{kind: "exit", rank: 0, code: 137, state: JobFailed},
			{kind: "exit", rank: 1, code: 0, state: JobFailed, ended: true},
		}, 3},
		{"lost host fails the job", 2, []ev{
			{kind: "place", rank: 0}, {kind: "place", rank: 1, state: JobRunning},
			{kind: "lost", rank: 0, code: 255, state: JobFailed, kill: true},
			{kind: "exit", rank: 1, code: 137, state: JobFailed, ended: true},
		}, 255},
		{"kill before placement ends at once", 2, []ev{
			{kind: "kill", code: 130, state: JobKilled, ended: true},
		}, 130},
		{"kill while running", 2, []ev{
			{kind: "place", rank: 0}, {kind: "place", rank: 1},
			{kind: "kill", code: 137, state: JobKilled, kill: true},
			{kind: "exit", rank: 0, code: 137, state: JobKilled},
			{kind: "exit", rank: 1, code: 137, state: JobKilled, ended: true},
		}, 137},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			j := newJobCore(JobRecord{ID: "j", N: c.n})
			for i, e := range c.evs {
				var a action
				switch e.kind {
				case "place":
					j.placed(e.rank, peer.ID("h"))
				case "exit":
					a = j.exited(e.rank, e.code, "", RankExited)
				case "lost":
					a = j.exited(e.rank, e.code, "", RankLost)
				case "kill":
					a = j.kill("by user", e.code, JobKilled)
				}
				if e.state != "" && j.rec.State != e.state {
					t.Fatalf("event %d: state %s, want %s", i, j.rec.State, e.state)
				}
				if a.killAll != e.kill || a.ended != e.ended {
					t.Fatalf("event %d: action %+v, want kill=%v ended=%v", i, a, e.kill, e.ended)
				}
			}
			if j.rec.ExitCode != c.wantCode {
				t.Fatalf("exit code %d, want %d", j.rec.ExitCode, c.wantCode)
			}
		})
	}
}

func TestDuplicateExitIgnored(t *testing.T) {
	j := newJobCore(JobRecord{ID: "j", N: 2})
	j.placed(0, "h")
	j.placed(1, "h")
	j.exited(0, 0, "", RankExited)
	if a := j.exited(0, 0, "", RankExited); a.ended {
		t.Fatal("a duplicate exit must not end the job")
	}
	if j.ended() {
		t.Fatal("job ended with a rank still running")
	}
}

// A lost rank restarts the job while restarts remain: every rank is
// pending again in the next run. Once they are used up, a loss fails it.
func TestLostRankRestartsThenFails(t *testing.T) {
	j := newJobCore(JobRecord{ID: "j", N: 2})
	j.maxRestarts = 1
	j.placed(0, "h")
	j.placed(1, "h2")
	if a := j.exited(1, 255, "", RankLost); !a.restart || a.killAll || a.ended {
		t.Fatalf("first loss: %+v, want a restart", a)
	}
	if j.rec.Run != 1 || j.rec.Restarts != 1 || j.rec.State != JobRunning || j.live != 2 {
		t.Fatalf("after restart: run %d restarts %d state %s live %d", j.rec.Run, j.rec.Restarts, j.rec.State, j.live)
	}
	for _, r := range j.rec.Ranks {
		if r.State != RankPending || r.Host != "" {
			t.Fatalf("rank %d after restart: %+v", r.Rank, r)
		}
	}
	j.placed(0, "h")
	j.placed(1, "h3")
	a := j.exited(0, 255, "", RankLost)
	if a.restart || !a.killAll || j.rec.State != JobFailed {
		t.Fatalf("loss with no restarts left: %+v, state %s", a, j.rec.State)
	}
	// A rank that fails by itself never restarts the job.
	j = newJobCore(JobRecord{ID: "j", N: 1})
	j.maxRestarts = 3
	j.placed(0, "h")
	if a := j.exited(0, 2, "", RankExited); a.restart || j.rec.State != JobFailed {
		t.Fatalf("a failing rank restarted the job: %+v", a)
	}
}
