package queue

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"
)

// Defaults of ClientOptions and ServerOptions.
const (
	DefaultQueue     = "herald"
	DefaultRetention = 24 * time.Hour
	// DefaultTimeout bounds one run of a task; its context is cancelled then.
	DefaultTimeout  = 10 * time.Minute
	DefaultMaxRetry = 25
)

// ClientOptions configure a Client.
type ClientOptions struct {
	// Queue is the asynq queue tasks go to; the workers must serve the same
	// one. Default DefaultQueue.
	Queue string
	// Shards spreads the tasks over that many queues (ShardQueues); the
	// workers must use the same number. Default 1.
	Shards int
	// Retention is how long a completed task with a task id is kept, so a
	// second enqueue of it is recognized as a duplicate. Default DefaultRetention.
	Retention time.Duration
	// Timeout bounds one run of a task. Default DefaultTimeout.
	Timeout time.Duration
	// MaxRetry is how many failed runs a task gets before it is archived
	// (a Backoff is not a failed run). Default DefaultMaxRetry.
	MaxRetry int
}

// Client enqueues Herald's tasks. It is safe for concurrent use.
type Client struct {
	c      *asynq.Client
	insp   *asynq.Inspector
	opts   ClientOptions
	shards []string // ShardQueues of the queue
	now    func() time.Time
}

// NewClient returns a Client on an existing Redis client (whose connection
// settings — TLS, auth, Sentinel or Cluster — it reuses; closing rc is the
// caller's job).
func NewClient(rc redis.UniversalClient, o ClientOptions) *Client {
	if o.Queue == "" {
		o.Queue = DefaultQueue
	}
	if o.Retention <= 0 {
		o.Retention = DefaultRetention
	}
	if o.Shards <= 0 {
		o.Shards = 1
	}
	if o.Timeout <= 0 {
		o.Timeout = DefaultTimeout
	}
	if o.MaxRetry <= 0 {
		o.MaxRetry = DefaultMaxRetry
	}
	return &Client{c: asynq.NewClientFromRedisClient(rc), insp: asynq.NewInspectorFromRedisClient(rc), opts: o,
		shards: ShardQueues(o.Queue, o.Shards), now: time.Now}
}

// Queue returns the queue the client enqueues to.
func (c *Client) Queue() string { return c.opts.Queue }

// EnqueueDispatch enqueues a dispatch with the task id DispatchTaskID (a
// wave of it with WaveTaskID). A task
// with that id already there (pending, retrying, running, or completed within
// the Retention) is success: the dispatch is already queued.
func (c *Client) EnqueueDispatch(ctx context.Context, p DispatchPayload) error {
	return c.enqueue(ctx, TypeDispatch, p, WaveTaskID(p.DispatchID, p.Wave), 0)
}

// EnqueueDeliver enqueues a page to run after processIn (0: now), with the
// task id DeliverTaskID; an existing task with that id is success.
func (c *Client) EnqueueDeliver(ctx context.Context, p DeliverPayload, processIn time.Duration) error {
	return c.enqueue(ctx, TypeDeliver, p, DeliverTaskID(p.DispatchID, p.FirstUserID), processIn)
}

// RequeueDeliver enqueues again a page the store says is unfinished (the
// reconciler): like EnqueueDeliver, and a completed task of the same id is
// deleted and enqueued again — the task ran, but what it wrote to say so
// was lost (a page completion is committed without waiting for the WAL
// flush, and a database crash can take it back).
func (c *Client) RequeueDeliver(ctx context.Context, p DeliverPayload) error {
	return c.enqueueTask(ctx, TypeDeliver, p, DeliverTaskID(p.DispatchID, p.FirstUserID), 0, true)
}

// EnqueueTrigger enqueues an API-triggered campaign send; with a RequestID a
// second enqueue of it is a no-op.
func (c *Client) EnqueueTrigger(ctx context.Context, p TriggerPayload) error {
	return c.enqueue(ctx, TypeTrigger, p, triggerTaskID(p.RequestID), 0)
}

// EnqueueSend enqueues an ad-hoc send; with a RequestID a second enqueue of
// it is a no-op.
func (c *Client) EnqueueSend(ctx context.Context, p SendPayload) error {
	return c.enqueue(ctx, TypeSend, p, sendTaskID(p.RequestID), 0)
}

// headerDue carries when a task became due (Unix milliseconds), for the
// queue latency metric.
const headerDue = "herald-due-ms"

func (c *Client) enqueue(ctx context.Context, typ string, p interface{ Validate() error }, taskID string, processIn time.Duration) error {
	return c.enqueueTask(ctx, typ, p, taskID, processIn, false)
}

// enqueueTask enqueues a task; with again, a completed task of the id runs
// again (revive).
func (c *Client) enqueueTask(ctx context.Context, typ string, p interface{ Validate() error }, taskID string, processIn time.Duration,
	again bool) error {
	if err := p.Validate(); err != nil {
		return fmt.Errorf("enqueue %s: invalid payload: %w", typ, err)
	}
	data, err := json.Marshal(p)
	if err != nil {
		return fmt.Errorf("enqueue %s: %w", typ, err)
	}
	if processIn < 0 {
		processIn = 0
	}
	due := c.now().Add(processIn).UnixMilli()
	opts := []asynq.Option{asynq.Queue(shardOf(c.shards, taskID)), asynq.MaxRetry(c.opts.MaxRetry), asynq.Timeout(c.opts.Timeout)}
	if taskID != "" {
		opts = append(opts, asynq.TaskID(taskID), asynq.Retention(c.opts.Retention))
	}
	if processIn > 0 {
		opts = append(opts, asynq.ProcessIn(processIn))
	}
	task := asynq.NewTaskWithHeaders(typ, data, map[string]string{headerDue: strconv.FormatInt(due, 10)}, opts...)
	if _, err := c.c.EnqueueContext(ctx, task); err != nil {
		if errors.Is(err, asynq.ErrTaskIDConflict) {
			return c.revive(ctx, task, taskID, again)
		}
		return fmt.Errorf("enqueue %s %s: %w", typ, taskID, err)
	}
	return nil
}

// revive handles an enqueue whose task id is taken. A task pending,
// scheduled, retrying or running is what was asked, and so is one completed
// (within Retention) unless again is set. One that was archived — given up
// after its retries, or by asynq's crash recovery — is run again: the caller
// (the store's reconciler, a relaunch) knows its work is unfinished, and the
// ledger makes a re-run send nothing twice. With again (the reconciler, which
// the store told the work is unfinished), a completed one is deleted and
// enqueued again.
func (c *Client) revive(ctx context.Context, task *asynq.Task, taskID string, again bool) error {
	q := shardOf(c.shards, taskID)
	info, err := c.insp.GetTaskInfo(q, taskID)
	if errors.Is(err, asynq.ErrTaskNotFound) {
		return c.retryEnqueue(ctx, task, taskID) // gone since the conflict
	}
	if err != nil {
		return fmt.Errorf("enqueue %s: inspect the existing task: %w", taskID, err)
	}
	switch info.State {
	case asynq.TaskStateArchived:
		if err := c.insp.RunTask(q, taskID); err != nil && !errors.Is(err, asynq.ErrTaskNotFound) {
			return fmt.Errorf("enqueue %s: run the archived task again: %w", taskID, err)
		}
	case asynq.TaskStateCompleted:
		if again {
			return c.runCompletedAgain(ctx, q, task, taskID)
		}
	}
	return nil
}

// runCompletedAgain deletes a completed task and enqueues it again. When the
// delete fails because the task is no longer completed — another reconciler
// (every worker runs one) deleted and enqueued it first, and it is running
// now (asynq deletes any task but an active one) — that is what was asked.
func (c *Client) runCompletedAgain(ctx context.Context, q string, task *asynq.Task, taskID string) error {
	if err := c.insp.DeleteTask(q, taskID); err != nil && !errors.Is(err, asynq.ErrTaskNotFound) {
		if now, ierr := c.insp.GetTaskInfo(q, taskID); ierr == nil && now.State != asynq.TaskStateCompleted {
			return nil
		}
		return fmt.Errorf("enqueue %s: delete the completed task: %w", taskID, err)
	}
	return c.retryEnqueue(ctx, task, taskID)
}

// retryEnqueue enqueues again after the task id was freed; a conflict now
// means another process enqueued it meanwhile, which is as good.
func (c *Client) retryEnqueue(ctx context.Context, task *asynq.Task, taskID string) error {
	if _, err := c.c.EnqueueContext(ctx, task); err != nil && !errors.Is(err, asynq.ErrTaskIDConflict) {
		return fmt.Errorf("enqueue %s: %w", taskID, err)
	}
	return nil
}
