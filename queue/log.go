package queue

import (
	"fmt"
	"log/slog"
)

// asynqLogger routes asynq's log lines to slog.
type asynqLogger struct{ l *slog.Logger }

func (a asynqLogger) Debug(args ...any) { a.l.Debug(fmt.Sprint(args...)) }
func (a asynqLogger) Info(args ...any)  { a.l.Info(fmt.Sprint(args...)) }
func (a asynqLogger) Warn(args ...any)  { a.l.Warn(fmt.Sprint(args...)) }
func (a asynqLogger) Error(args ...any) { a.l.Error(fmt.Sprint(args...)) }

// Fatal logs at error level. asynq v0.26 never calls it; exiting the process
// is the daemon's decision, not a library's.
func (a asynqLogger) Fatal(args ...any) { a.l.Error(fmt.Sprint(args...)) }
