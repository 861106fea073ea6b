package tracking

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"strconv"
	"syscall"
)

// ProcessStart identifies a process beyond its pid, which the system
// reuses: its start time in clock ticks since boot (/proc/<pid>/stat field
// 22), or 0 where /proc is not available.
func ProcessStart(pid int) uint64 {
	start, _ := procStat(pid)
	return start
}

// procStat reads a process's start time (field 22 of /proc/<pid>/stat)
// and state (field 3: 'Z' for a zombie); 0 and 0 when it cannot.
func procStat(pid int) (uint64, byte) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, 0
	}
	// The command name (field 2) is in parentheses and may hold spaces.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, 0
	}
	fields := bytes.Fields(b[i+1:])
	if len(fields) < 20 || len(fields[0]) != 1 {
		return 0, 0
	}
	v, _ := strconv.ParseUint(string(fields[19]), 10, 64)
	return v, fields[0][0]
}

// Liveness of a running run's process.
const (
	ProcessAlive   = "alive"
	ProcessGone    = "gone"
	ProcessUnknown = "unknown" // another host, or no pid recorded
)

// ProcessState tells whether the process that is writing a RUNNING run is
// still there: only a process on this host can be checked.
func (r *Run) ProcessState() string {
	host, _ := os.Hostname()
	l := r.Lineage
	if l.PID <= 0 || l.Host != host {
		return ProcessUnknown
	}
	err := syscall.Kill(l.PID, 0)
	if errors.Is(err, syscall.ESRCH) {
		return ProcessGone
	}
	start, state := procStat(l.PID)
	switch {
	case state == 'Z' || state == 'X':
		return ProcessGone // killed, and not yet reaped by its parent
	case l.PIDStart != 0 && start != 0 && start != l.PIDStart:
		return ProcessGone // the pid now belongs to another process
	}
	return ProcessAlive
}

// DisplayStatus is the status with a RUNNING run whose process died shown
// as such.
func (r *Run) DisplayStatus() string {
	if r.Status == StatusRunning && r.ProcessState() == ProcessGone {
		return "RUNNING (process gone)"
	}
	return r.Status
}

// GC marks FAILED every RUNNING run of experiment ("" for all) whose
// process on this host has died, and returns them. Runs of other hosts are
// left alone: their processes cannot be checked from here.
func (s *Store) GC(experiment string) ([]*Run, error) {
	runs, errs := s.List(experiment)
	var marked []*Run
	for _, r := range runs {
		if r.Status != StatusRunning || r.ProcessState() != ProcessGone {
			continue
		}
		err := fmt.Errorf("process %d on %s ended without finishing the run; marked failed by housectl runs gc", r.Lineage.PID, r.Lineage.Host)
		if e := s.End(r, StatusFailed, nil, nil, err); e != nil {
			errs = append(errs, e)
			continue
		}
		marked = append(marked, r)
	}
	return marked, errors.Join(errs...)
}
