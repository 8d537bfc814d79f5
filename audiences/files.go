package audiences

import (
	"bufio"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
)

// ndjsonFiles writes JSON objects, one per line, into gzipped files of at
// most perFile objects: part-00000.ndjson.gz, part-00001.ndjson.gz, … A file
// is written under a .tmp name and renamed when complete, so a listed file is
// always whole.
type ndjsonFiles struct {
	dir     string
	perFile int
	done    []string

	f    *os.File
	buf  *bufio.Writer
	gz   *gzip.Writer
	enc  *json.Encoder
	name string
	rows int
}

func (w *ndjsonFiles) write(v any) error {
	if w.f == nil {
		if err := w.open(); err != nil {
			return err
		}
	}
	if err := w.enc.Encode(v); err != nil { // Encode ends the line
		return fmt.Errorf("write %s: %w", w.name, err)
	}
	w.rows++
	if w.rows >= w.perFile {
		return w.close()
	}
	return nil
}

func (w *ndjsonFiles) open() error {
	w.name = fmt.Sprintf("part-%05d.ndjson.gz", len(w.done))
	f, err := os.OpenFile(filepath.Join(w.dir, w.name+".tmp"), os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o640)
	if err != nil {
		return fmt.Errorf("create export file: %w", err)
	}
	w.f, w.rows = f, 0
	w.buf = bufio.NewWriterSize(f, 256<<10)
	w.gz = gzip.NewWriter(w.buf)
	w.enc = json.NewEncoder(w.gz)
	w.enc.SetEscapeHTML(false)
	return nil
}

// close completes the open file, if any.
func (w *ndjsonFiles) close() error {
	if w.f == nil {
		return nil
	}
	f, tmp := w.f, filepath.Join(w.dir, w.name+".tmp")
	w.f = nil
	err := w.gz.Close()
	if err == nil {
		err = w.buf.Flush()
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, filepath.Join(w.dir, w.name))
	}
	if err != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("write %s: %w", w.name, err)
	}
	w.done = append(w.done, w.name)
	return nil
}

// abort removes a file left incomplete by a failure.
func (w *ndjsonFiles) abort() {
	if w.f == nil {
		return
	}
	_ = w.f.Close()
	_ = os.Remove(filepath.Join(w.dir, w.name+".tmp"))
	w.f = nil
}

// files lists the completed files.
func (w *ndjsonFiles) files() []string {
	return append([]string{}, w.done...)
}
