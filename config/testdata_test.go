package config

import (
	"bufio"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The files under testdata/ drive these tests:
//
//   - testdata/valid/*.yaml must load and validate cleanly;
//   - testdata/invalid/<rule>.yaml holds one validation (or decoding) rule each; its
//     `# want: ...` comment lines give substrings of the problems expected, and the
//     file must yield exactly those problems, no more and no fewer;
//   - testdata/several_problems.yaml proves that every problem is reported at once.
//
// A want is matched against Problem.Error(), "file:line: key.path: reason", so a
// want starting with ":LINE: " also pins the line. Credential files referenced by
// the examples live in testdata/secrets/ and are dummies: validation only checks
// that they exist.

func TestValidExamples(t *testing.T) {
	t.Parallel()
	files, err := filepath.Glob("testdata/valid/*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no valid examples: %v", err)
	}
	for _, path := range files {
		t.Run(strings.TrimSuffix(filepath.Base(path), ".yaml"), func(t *testing.T) {
			t.Parallel()
			cfg, err := Load(path, nil)
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			if err := cfg.Validate(); err != nil {
				t.Fatalf("Validate:\n%v", err)
			}
		})
	}
}

func TestInvalidRules(t *testing.T) {
	t.Parallel()
	files, err := filepath.Glob("testdata/invalid/*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no invalid examples: %v", err)
	}
	for _, path := range files {
		t.Run(strings.TrimSuffix(filepath.Base(path), ".yaml"), func(t *testing.T) {
			t.Parallel()
			checkWants(t, path, loadAndValidate(path))
		})
	}
}

func TestSeveralProblemsReportedAtOnce(t *testing.T) {
	t.Parallel()
	const path = "testdata/several_problems.yaml"
	if n := len(readWants(t, path)); n < 5 {
		t.Fatalf("%s lists %d problems, want several", path, n)
	}
	checkWants(t, path, loadAndValidate(path))
}

// loadAndValidate returns the decoding problems of path, or else its validation problems.
func loadAndValidate(path string) error {
	cfg, err := Load(path, nil)
	if err != nil {
		return err
	}
	return cfg.Validate()
}

// readWants returns the `# want: ` lines of a testdata file.
func readWants(t *testing.T, path string) []string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var wants []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if w, ok := strings.CutPrefix(sc.Text(), "# want: "); ok {
			wants = append(wants, w)
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if len(wants) == 0 {
		t.Fatalf("%s has no `# want: ` line", path)
	}
	return wants
}

// checkWants checks that err holds exactly the problems listed in path's want lines,
// each located in path (or in no file, for a default the file never wrote).
func checkWants(t *testing.T, path string, err error) {
	t.Helper()
	wants := readWants(t, path)
	if err == nil {
		t.Fatalf("no error, want %q", wants)
	}
	ps := problems(t, err)
	matched := make([]bool, len(ps))
	for _, w := range wants {
		found := false
		for i, p := range ps {
			if strings.Contains(p.Error(), w) {
				matched[i], found = true, true
			}
		}
		if !found {
			t.Errorf("missing problem %q", w)
		}
	}
	for i, p := range ps {
		if !matched[i] {
			t.Errorf("unexpected problem: %v", p)
		}
		if p.File != "" && p.File != path {
			t.Errorf("problem %v names file %q, want %q", p, p.File, path)
		}
		if p.Path == "" && !strings.HasPrefix(filepath.Base(path), "decode_") {
			t.Errorf("problem %v names no key path", p)
		}
	}
	if t.Failed() {
		t.Logf("all problems:\n%v", err)
	}
}

// problems flattens a joined error into its *Problem parts.
func problems(t *testing.T, err error) []*Problem {
	t.Helper()
	var out []*Problem
	var walk func(error)
	walk = func(err error) {
		if j, ok := err.(interface{ Unwrap() []error }); ok {
			for _, e := range j.Unwrap() {
				walk(e)
			}
			return
		}
		var p *Problem
		if !errors.As(err, &p) {
			t.Fatalf("%T %q is not a *Problem", err, err)
		}
		out = append(out, p)
	}
	if err != nil {
		walk(err)
	}
	return out
}
