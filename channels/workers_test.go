package channels

import (
	"context"
	"sync"
	"testing"
	"time"
)

func TestWorkers(t *testing.T) {
	t.Parallel()
	w := NewWorkers(2)
	release := make(chan struct{})
	var started, done sync.WaitGroup
	for range 2 {
		started.Add(1)
		done.Add(1)
		if !w.Run(context.Background(), func() { started.Done(); <-release; done.Done() }) {
			t.Fatal("a free worker refused a job")
		}
	}
	started.Wait()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if w.Run(ctx, func() { t.Error("a third job ran while two workers were busy") }) {
		t.Error("run accepted a job beyond the bound")
	}
	close(release)
	done.Wait()
	// The two workers are now idle and take the next jobs without new goroutines.
	ran := make(chan struct{})
	if !w.Run(context.Background(), func() { close(ran) }) {
		t.Fatal("an idle worker refused a job")
	}
	<-ran
	w.Stop()
	if w.Run(context.Background(), func() { t.Error("a job ran after stop") }) {
		t.Error("run accepted a job after stop")
	}
	deadline := time.Now().Add(2 * time.Second)
	for len(w.slots) > 0 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	if n := len(w.slots); n != 0 {
		t.Errorf("%d workers still running after stop", n)
	}
}
