package tracking

import (
	"os"
	"os/exec"
	"testing"
	"time"
)

// A RUNNING run whose process is gone is shown as such and marked failed
// by GC; a live one (this test) is left alone.
func TestGCMarksAbandonedRuns(t *testing.T) {
	cmd := exec.CommandContext(t.Context(), "true")
	if err := cmd.Run(); err != nil {
		t.Skip("no true(1):", err)
	}
	host, _ := os.Hostname()
	s := &Store{Dir: t.TempDir(), Now: time.Now}
	dead, err := s.Start("e", "dead", "linear", nil, nil, Lineage{Host: host, PID: cmd.Process.Pid})
	if err != nil {
		t.Fatal(err)
	}
	live, err := s.Start("e", "live", "linear", nil, nil, Lineage{Host: host, PID: os.Getpid(), PIDStart: ProcessStart(os.Getpid())})
	if err != nil {
		t.Fatal(err)
	}
	other, err := s.Start("e", "other", "linear", nil, nil, Lineage{Host: host + "-elsewhere", PID: cmd.Process.Pid})
	if err != nil {
		t.Fatal(err)
	}
	if got := dead.DisplayStatus(); got != "RUNNING (process gone)" {
		t.Errorf("dead run shows %q", got)
	}
	marked, err := s.GC("")
	if err != nil || len(marked) != 1 || marked[0].ID != dead.ID {
		t.Fatalf("GC marked %v, %v", marked, err)
	}
	for _, tc := range []struct {
		r    *Run
		want string
	}{{dead, StatusFailed}, {live, StatusRunning}, {other, StatusRunning}} {
		r, err := Load(tc.r.Dir())
		if err != nil || r.Status != tc.want {
			t.Errorf("%s: status %v (%v), want %s", tc.r.Name, r.Status, err, tc.want)
		}
	}
}

// A process killed but not yet reaped (a zombie: its parent, say strace,
// died with it) is gone, though its pid still answers signal 0.
func TestZombieProcessIsGone(t *testing.T) {
	cmd := exec.CommandContext(t.Context(), "sleep", "60")
	if err := cmd.Start(); err != nil {
		t.Skip("no sleep(1):", err)
	}
	pid := cmd.Process.Pid
	host, _ := os.Hostname()
	r := &Run{Status: StatusRunning, Lineage: Lineage{Host: host, PID: pid, PIDStart: ProcessStart(pid)}}
	if got := r.ProcessState(); got != ProcessAlive {
		t.Fatalf("a sleeping process is %s", got)
	}
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	// Not waited for: it stays a zombie until cmd.Wait.
	deadline := time.Now().Add(5 * time.Second)
	for r.ProcessState() != ProcessGone && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if got := r.ProcessState(); got != ProcessGone {
		t.Errorf("a killed, unreaped process is %s", got)
	}
	_ = cmd.Wait()
}
