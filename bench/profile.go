package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"
)

// profileChunk is the length of one CPU profile: inside every Herald
// listener's write timeout. `go tool pprof` merges the files of a process.
const profileChunk = 10 * time.Second

// profiler fetches back-to-back CPU profiles from every Herald process
// (config ops.pprof) into dir until stopped: <role>-<pid>-<n>.pprof; when
// stopped, each process's allocation profile (everything it allocated since
// it started): allocs-<role>-<pid>.pprof.
type profiler struct {
	dir    string
	procs  []*instance
	roles  []string
	cancel context.CancelFunc
	wg     sync.WaitGroup
	mu     sync.Mutex
	files  []string
	errs   []error
}

func startProfiler(ctx context.Context, dir string, procs []*instance, roles []string) (*profiler, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}

	ctx, cancel := context.WithCancel(ctx)
	p := &profiler{dir: dir, procs: procs, roles: roles, cancel: cancel}
	for i, h := range procs {
		p.wg.Add(1)
		go func() {
			defer p.wg.Done()
			for n := 1; ctx.Err() == nil; n++ {
				path := filepath.Join(dir, fmt.Sprintf("%s-%d-%d.pprof", roles[i], h.pid(), n))
				if err := fetchProfile(ctx, h.baseURL(), path); err != nil {
					if ctx.Err() == nil {
						p.add("", fmt.Errorf("profile of %s: %w", roles[i], err))
					}
					return
				}
				p.add(path, nil)
			}
		}()
	}
	return p, nil
}

func (p *profiler) add(file string, err error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if file != "" {
		p.files = append(p.files, file)
	}
	if err != nil {
		p.errs = append(p.errs, err)
	}
}

// stop ends the profiles in flight (the last one is lost) and returns the
// files written.
func (p *profiler) stop(progress io.Writer) []string {
	p.cancel()
	p.wg.Wait()
	for i, h := range p.procs {
		path := filepath.Join(p.dir, fmt.Sprintf("allocs-%s-%d.pprof", p.roles[i], h.pid()))
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		err := fetch(ctx, h.baseURL()+"/debug/pprof/allocs", path)
		cancel()
		if err != nil {
			p.add("", fmt.Errorf("allocation profile of %s: %w", p.roles[i], err))
			continue
		}
		p.add(path, nil)
	}
	for _, err := range p.errs {
		fmt.Fprintln(progress, "warning:", err)
	}
	return p.files
}

func fetchProfile(ctx context.Context, base, path string) error {
	return fetch(ctx, fmt.Sprintf("%s/debug/pprof/profile?seconds=%d", base, int(profileChunk/time.Second)), path)
}

// fetch writes what url answers into the file at path.
func fetch(ctx context.Context, url, path string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return fmt.Errorf("GET %s: %s: %s", url, resp.Status, b)
	}
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	return os.WriteFile(path, b, 0o644)
}

// checkProfileDir refuses a profile directory that already holds files, so
// two runs' profiles never mix; a missing one is created later.
func checkProfileDir(dir string) error {
	ents, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	if len(ents) > 0 {
		return fmt.Errorf("--profile %s is not empty: give a new directory, so runs' profiles do not mix", dir)
	}
	return nil
}
