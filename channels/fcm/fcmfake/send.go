package fcmfake

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"

	"github.com/herald-oss/herald/channels"
	"github.com/herald-oss/herald/channels/fake"
)

// FCM error codes (the FcmError detail's errorCode).
const (
	CodeUnregistered     = "UNREGISTERED"
	CodeInvalidArgument  = "INVALID_ARGUMENT"
	CodeSenderIDMismatch = "SENDER_ID_MISMATCH"
	CodeQuotaExceeded    = "QUOTA_EXCEEDED"
	CodeUnavailable      = "UNAVAILABLE"
	CodeInternal         = "INTERNAL"
	CodeThirdPartyAuth   = "THIRD_PARTY_AUTH_ERROR"
)

const fcmErrorType = "type.googleapis.com/google.firebase.fcm.v1.FcmError"

// sendRequest is the body of messages:send.
type sendRequest struct {
	ValidateOnly bool            `json:"validate_only"`
	Message      json.RawMessage `json:"message"`
}

// serveSend is POST /v1/projects/{project}/messages:send.
func (f *Fake) serveSend(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	f.sendsN++
	n := f.sendsN
	f.mu.Unlock()

	email, ok := f.bearer(r)
	if !ok {
		w.Header().Set("WWW-Authenticate", `Bearer realm="https://accounts.google.com/", error="invalid_token"`)
		writeError(w, Answer{Status: http.StatusUnauthorized, Message: "Request had invalid authentication credentials. " +
			"Expected OAuth 2 access token, login cookie or other valid authentication credential."}, nil)
		return
	}
	project := r.PathValue("project")
	appID, known := f.project(project)
	if !known || !accountMayUse(email, project) {
		writeError(w, Answer{Status: http.StatusForbidden, Message: fmt.Sprintf(
			"Permission 'cloudmessaging.messages.create' denied on resource '//cloudresourcemanager.googleapis.com/projects/%s' (or it may not exist).", project)}, nil)
		return
	}
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt != "application/json" {
		writeError(w, Answer{Status: http.StatusBadRequest, Message: "Invalid JSON payload received: Content-Type must be application/json."}, nil)
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	if err != nil {
		writeError(w, Answer{Status: http.StatusRequestEntityTooLarge, RPCStatus: "INVALID_ARGUMENT", Message: "Request payload size exceeds the limit."}, nil)
		return
	}
	var req sendRequest
	if err := decodeStrict(body, &req); err != nil {
		writeError(w, Answer{Status: http.StatusBadRequest, Message: "Invalid JSON payload received. " + err.Error()}, nil)
		return
	}
	var msg wireMessage
	if len(req.Message) == 0 {
		writeError(w, invalid("message is required"), []violation{{"message", "required"}})
		return
	}
	if err := decodeStrict(req.Message, &msg); err != nil {
		writeError(w, Answer{Status: http.StatusBadRequest, Message: "Invalid JSON payload received at 'message'. " + err.Error()}, nil)
		return
	}
	if v := msg.validate(payloadSize(req.Message)); v != nil {
		writeError(w, invalid(v.Description), []violation{*v})
		return
	}
	if req.ValidateOnly {
		writeJSON(w, http.StatusOK, map[string]string{"name": "projects/" + project + "/messages/fake_message_id"})
		return
	}

	attempt := f.attempts.Next(msg.Token)
	ans, scripted := Answer{}, false
	if f.cfg.Script != nil {
		ans, scripted = f.cfg.Script(msg.Token, attempt)
	}
	if !scripted {
		ans = behaviourAnswer(fake.Decide(fake.ParseBehavior(msg.Token), attempt, r.Context().Done()))
	}
	if r.Context().Err() != nil {
		return // the client gave up (timeout, cancel) before the message was accepted
	}
	accepted := ans.Status == 0 || ans.Status == http.StatusOK
	switch ans.Cut {
	case CutBeforeAnswer:
		panic(http.ErrAbortHandler) // resets the stream; the server logs nothing
	case CutDuringBody:
		if accepted {
			f.record(r, msg, appID, req.Message)
		}
		cutDuringBody(w, ans) // does not return
	}
	if !accepted {
		writeError(w, ans, nil)
		return
	}
	f.record(r, msg, appID, req.Message)
	writeJSON(w, http.StatusOK, map[string]string{"name": fmt.Sprintf("projects/%s/messages/0:%d", project, n)})
}

// cutDuringBody sends the answer's status and headers and part of a body,
// then resets the stream. It does not return.
func cutDuringBody(w http.ResponseWriter, a Answer) {
	status := a.Status
	if status == 0 {
		status = http.StatusOK
	}
	if a.RetryAfter != "" {
		w.Header().Set("Retry-After", a.RetryAfter)
	}
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	w.WriteHeader(status)
	_, _ = io.WriteString(w, `{"name":"projects/`)
	if fl, ok := w.(http.Flusher); ok {
		fl.Flush()
	}
	panic(http.ErrAbortHandler)
}

// record adds an accepted message to the recorder.
func (f *Fake) record(r *http.Request, msg wireMessage, appID string, raw json.RawMessage) {
	var compact bytes.Buffer
	if err := json.Compact(&compact, raw); err != nil {
		compact.Reset()
		compact.Write(raw)
	}
	// A few headers worth seeing in the outbox; never Authorization.
	hdrs := fake.Headers(r.Header, "Content-Type", "User-Agent", "X-Firebase-Client", "X-Goog-Api-Format-Version", "X-Goog-Api-Client")
	rec := fake.Record{Channel: channels.FCM, Token: msg.Token, AppID: appID,
		Headers: hdrs, Payload: compact.Bytes()}
	// The collapse key, else the notification tag (where Herald puts its
	// collapse id, FCM keeping few collapse keys per device).
	if a := msg.Android; a != nil {
		rec.CollapseID = a.CollapseKey
		if rec.CollapseID == "" && a.Notification != nil {
			rec.CollapseID = a.Notification.Tag
		}
	}
	f.recorder.Add(rec)
}

// payloadSize is the size FCM's limit applies to: the JSON of the message's
// data and notification objects, top level and android. raw is the message's
// JSON, already decoded strictly.
func payloadSize(raw json.RawMessage) int {
	var m struct {
		Data         json.RawMessage `json:"data"`
		Notification json.RawMessage `json:"notification"`
		Android      struct {
			Data         json.RawMessage `json:"data"`
			Notification json.RawMessage `json:"notification"`
		} `json:"android"`
	}
	_ = json.Unmarshal(raw, &m)
	n := 0
	for _, part := range []json.RawMessage{m.Data, m.Notification, m.Android.Data, m.Android.Notification} {
		if !bytes.Equal(part, []byte("null")) {
			n += len(part)
		}
	}
	return n
}

// accountMayUse reports whether a service account may send for project: a
// Google service account email names its project
// (<name>@<project>.iam.gserviceaccount.com); other emails are not restricted.
func accountMayUse(email, project string) bool {
	_, domain, ok := strings.Cut(email, "@")
	if !ok {
		return true
	}
	owner, ok := strings.CutSuffix(domain, ".iam.gserviceaccount.com")
	return !ok || owner == project
}

// behaviourAnswer maps a token behaviour decision to FCM's answer.
func behaviourAnswer(d fake.Decision) Answer {
	switch d {
	case fake.Gone:
		return Answer{Status: http.StatusNotFound, Code: CodeUnregistered, Message: "Requested entity was not found."}
	case fake.Invalid:
		return Answer{Status: http.StatusBadRequest, Code: CodeInvalidArgument, Message: "The registration token is not a valid FCM registration token"}
	case fake.Throttled:
		return Answer{Status: http.StatusTooManyRequests, Code: CodeQuotaExceeded, RetryAfter: "1",
			Message: "Quota exceeded for quota metric 'Send requests' of service 'fcm.googleapis.com'."}
	case fake.Unavailable:
		return Answer{Status: http.StatusServiceUnavailable, Code: CodeUnavailable, Message: "The service is currently unavailable."}
	}
	return Answer{}
}

// invalid is a 400 INVALID_ARGUMENT answer with FCM's detail.
func invalid(msg string) Answer {
	return Answer{Status: http.StatusBadRequest, Code: CodeInvalidArgument, Message: msg}
}

// rpcStatus maps an HTTP status to its google.rpc status name.
func rpcStatus(status int) string {
	switch status {
	case http.StatusBadRequest:
		return "INVALID_ARGUMENT"
	case http.StatusUnauthorized:
		return "UNAUTHENTICATED"
	case http.StatusForbidden:
		return "PERMISSION_DENIED"
	case http.StatusNotFound:
		return "NOT_FOUND"
	case http.StatusConflict:
		return "ABORTED"
	case http.StatusTooManyRequests:
		return "RESOURCE_EXHAUSTED"
	case http.StatusInternalServerError:
		return "INTERNAL"
	case http.StatusNotImplemented:
		return "UNIMPLEMENTED"
	case http.StatusServiceUnavailable:
		return "UNAVAILABLE"
	case http.StatusGatewayTimeout:
		return "DEADLINE_EXCEEDED"
	}
	return "UNKNOWN"
}

// violation is one google.rpc.BadRequest field violation.
type violation struct {
	Field       string `json:"field"`
	Description string `json:"description"`
}

// writeError answers with FCM's google.rpc error body: code, message, status,
// and details holding the FcmError (when a.Code is set) and field violations.
func writeError(w http.ResponseWriter, a Answer, violations []violation) {
	status := a.RPCStatus
	if status == "" {
		status = rpcStatus(a.Status)
	}
	msg := a.Message
	if msg == "" {
		msg = http.StatusText(a.Status)
	}
	details := []any{}
	if a.Code != "" {
		details = append(details, map[string]string{"@type": fcmErrorType, "errorCode": a.Code})
	}
	if len(violations) > 0 {
		details = append(details, map[string]any{"@type": "type.googleapis.com/google.rpc.BadRequest", "fieldViolations": violations})
	}
	e := map[string]any{"code": a.Status, "message": msg, "status": status}
	if len(details) > 0 {
		e["details"] = details
	}
	if a.RetryAfter != "" {
		w.Header().Set("Retry-After", a.RetryAfter)
	}
	writeJSON(w, a.Status, map[string]any{"error": e})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// decodeStrict decodes one JSON value, refusing unknown fields and trailing data.
func decodeStrict(b []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if dec.More() {
		return fmt.Errorf("trailing data after the JSON value")
	}
	return nil
}
