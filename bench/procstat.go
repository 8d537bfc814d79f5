package main

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// procStat reads /proc/<pid>/stat: the command name and the fields after it
// (f[0] is field 3, the state).
func procStat(pid int) (string, []string, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return "", nil, err
	}
	// the command name (field 2) may hold spaces; fields after it are plain
	open, end := bytes.IndexByte(b, '('), bytes.LastIndexByte(b, ')')
	if open < 0 || end < open {
		return "", nil, errors.New("malformed /proc/<pid>/stat")
	}
	f := strings.Fields(string(b[end+1:]))
	if len(f) < 15 {
		return "", nil, errors.New("short /proc/<pid>/stat")
	}
	return string(b[open+1 : end]), f, nil
}

// procCPU is a process's command name and its user plus system CPU time.
func procCPU(pid int) (string, time.Duration, error) {
	comm, f, err := procStat(pid)
	if err != nil {
		return "", 0, err
	}
	t, err := ticks(f[11], f[12]) // utime, stime: fields 14 and 15
	return comm, t, err
}

func ticks(fields ...string) (time.Duration, error) {
	var sum int64
	for _, s := range fields {
		v, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return 0, fmt.Errorf("parse /proc/<pid>/stat: %w", err)
		}
		sum += v
	}
	return time.Duration(sum) * clockTick, nil
}

// postgresCPU is the CPU time of this machine's PostgreSQL servers so far:
// every live process named postgres, plus what the postmasters (postgres
// processes whose parent is not one) collected from children that ended.
// Differences of two readings are the server's CPU between them, for every
// client (not only Herald's). -1 when /proc cannot be read.
func postgresCPU() time.Duration {
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return -1
	}
	type proc struct {
		ppid     int
		own, kid time.Duration
	}
	procs := map[int]proc{}
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		comm, f, err := procStat(pid)
		if err != nil || comm != "postgres" {
			continue // gone since the listing, or not PostgreSQL
		}
		ppid, err1 := strconv.Atoi(f[1])
		own, err2 := ticks(f[11], f[12])
		kid, err3 := ticks(f[13], f[14]) // cutime, cstime: fields 16 and 17
		if errors.Join(err1, err2, err3) != nil {
			continue
		}
		procs[pid] = proc{ppid: ppid, own: own, kid: kid}
	}
	var total time.Duration
	for _, p := range procs {
		total += p.own
		if _, child := procs[p.ppid]; !child {
			total += p.kid
		}
	}
	return total
}
