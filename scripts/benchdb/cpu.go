package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// On a shared machine the rates of both sides depend on how much CPU the other tenants leave
// them; the CPU time each side spends per transaction or call does much less. These read it
// from /proc.

// clockTick is the unit of /proc/PID/stat times (USER_HZ, 100 on Linux).
const clockTick = 10 * time.Millisecond

// cpuUse is the CPU time of the parts of one measured point.
type cpuUse struct {
	postgres time.Duration // the cluster's processes
	driver   time.Duration // pgbench, or mcpserver
	client   time.Duration // the load client (server side only)
}

func (a cpuUse) sub(b cpuUse) cpuUse {
	return cpuUse{a.postgres - b.postgres, a.driver - b.driver, a.client - b.client}
}

func (a cpuUse) total() time.Duration { return a.postgres + a.driver + a.client }

// procStat reads utime+stime of pid and, with children, the times of its reaped children.
func procStat(pid int, children bool) (ppid int, cpu time.Duration, err error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, 0, err
	}
	// The command name is in parentheses and may hold spaces: fields start after the last ')'.
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	if len(f) < 15 {
		return 0, 0, fmt.Errorf("/proc/%d/stat: too few fields", pid)
	}
	num := func(i int) int64 { n, _ := strconv.ParseInt(f[i], 10, 64); return n }
	// f[0] is field 3 (state): ppid is field 4, utime 14, stime 15, cutime 16, cstime 17.
	ticks := num(11) + num(12)
	if children {
		ticks += num(13) + num(14)
	}
	return int(num(1)), time.Duration(ticks) * clockTick, nil
}

// postgresCPU is the CPU time of a cluster: the postmaster with every child it has reaped,
// plus its live children (backends, background workers).
func postgresCPU(postmaster int) (time.Duration, error) {
	_, total, err := procStat(postmaster, true)
	if err != nil {
		return 0, fmt.Errorf("read the postmaster's CPU time: %w", err)
	}
	dirs, _ := filepath.Glob("/proc/[0-9]*")
	for _, d := range dirs {
		pid, _ := strconv.Atoi(filepath.Base(d))
		if ppid, cpu, err := procStat(pid, false); err == nil && ppid == postmaster {
			total += cpu
		}
	}
	return total, nil
}

// selfCPU is this process's CPU time: the load client's, during a server point.
func selfCPU() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// postmasterPID reads the cluster's postmaster.pid.
func postmasterPID(dataDir string) (int, error) {
	b, err := os.ReadFile(filepath.Join(dataDir, "postmaster.pid"))
	if err != nil {
		return 0, err
	}
	pid, err := strconv.Atoi(strings.TrimSpace(strings.SplitN(string(b), "\n", 2)[0]))
	if err != nil {
		return 0, fmt.Errorf("postmaster.pid: %w", err)
	}
	return pid, nil
}
