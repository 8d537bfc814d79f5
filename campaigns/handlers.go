package campaigns

import (
	"context"

	"github.com/hibiken/asynq"

	"github.com/herald-oss/herald/queue"
)

// Handlers serves the queue's tasks: dispatch and deliver through the
// pipeline, enqueued API sends through the service.
type Handlers struct {
	Pipeline *Pipeline
	Service  *Service
	Users    Users
}

var _ queue.Handlers = Handlers{}

// Dispatch runs a campaign:dispatch task.
func (h Handlers) Dispatch(ctx context.Context, p queue.DispatchPayload) error {
	return h.Pipeline.Dispatch(ctx, p)
}

// Deliver runs a campaign:deliver task.
func (h Handlers) Deliver(ctx context.Context, p queue.DeliverPayload) error {
	return h.Pipeline.Deliver(ctx, p)
}

// Trigger runs an enqueued /campaigns/trigger/send.
func (h Handlers) Trigger(ctx context.Context, p queue.TriggerPayload) error {
	if p.RequestID == "" {
		p.RequestID = taskRequestID(ctx)
	}
	_, err := h.Service.Trigger(ctx, h.Users, &p)
	return err
}

// Send runs an enqueued /messages/send.
func (h Handlers) Send(ctx context.Context, p queue.SendPayload) error {
	if p.RequestID == "" {
		p.RequestID = taskRequestID(ctx)
	}
	_, err := h.Service.Send(ctx, h.Users, &p)
	return err
}

// taskRequestID makes an enqueued send without a request id happen once: a
// task runs again after a failure or a crash (perhaps after its dispatch was
// created), always with the same task id.
func taskRequestID(ctx context.Context) string {
	if id, ok := asynq.GetTaskID(ctx); ok && id != "" {
		return "task:" + id
	}
	return ""
}
