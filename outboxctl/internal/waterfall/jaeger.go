package waterfall

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"time"
)

// Answer is the body of Jaeger's query API answers (GET /api/traces and
// GET /api/traces/{id}): the traces, and the errors Jaeger reports
// alongside them.
type Answer struct {
	Data   []Trace       `json:"data"`
	Errors []AnswerError `json:"errors"`
}

// AnswerError is one entry of an answer's errors.
type AnswerError struct {
	Code    int    `json:"code"`
	Msg     string `json:"msg"`
	TraceID string `json:"traceID"`
}

// Trace is one trace as Jaeger's query API shows it: spans refer to their
// process (the service that emitted them) by ID.
type Trace struct {
	TraceID   string             `json:"traceID"`
	Spans     []Span             `json:"spans"`
	Processes map[string]Process `json:"processes"`
	Warnings  []string           `json:"warnings"`
}

// Span is one span. StartTime is in microseconds since the Unix epoch and
// Duration in microseconds.
type Span struct {
	TraceID       string      `json:"traceID"`
	SpanID        string      `json:"spanID"`
	OperationName string      `json:"operationName"`
	References    []Reference `json:"references"`
	StartTime     int64       `json:"startTime"`
	Duration      int64       `json:"duration"`
	Tags          []Tag       `json:"tags"`
	Logs          []Log       `json:"logs"`
	ProcessID     string      `json:"processID"`
	Warnings      []string    `json:"warnings"`
}

// Reference links a span to another: CHILD_OF names its parent.
type Reference struct {
	RefType string `json:"refType"`
	TraceID string `json:"traceID"`
	SpanID  string `json:"spanID"`
}

// Log is one event recorded on a span (OpenTelemetry's span events): the
// event's name is its field "event".
type Log struct {
	Timestamp int64 `json:"timestamp"`
	Fields    []Tag `json:"fields"`
}

// Event is the log's event name, "" when it has none.
func (l Log) Event() string {
	for _, f := range l.Fields {
		if f.Key == "event" {
			return f.Text()
		}
	}
	return ""
}

// Process is the emitter of spans; ServiceName is the service's name.
type Process struct {
	ServiceName string `json:"serviceName"`
	Tags        []Tag  `json:"tags"`
}

// Tag is one attribute of a span or process. Value is kept as Jaeger
// sent it: a JSON string, number or boolean (an int64 beyond 2^53 comes
// as a string; an array attribute as a string holding its JSON).
type Tag struct {
	Key   string          `json:"key"`
	Type  string          `json:"type"`
	Value json.RawMessage `json:"value"`
}

// Text is the tag's value as text: a string unquoted, anything else as
// its JSON.
func (t Tag) Text() string {
	var s string
	if err := json.Unmarshal(t.Value, &s); err == nil {
		return s
	}
	return string(bytes.TrimSpace(t.Value))
}

// DecodeAnswer reads one answer of Jaeger's query API.
func DecodeAnswer(r io.Reader) (*Answer, error) {
	var a Answer
	if err := json.NewDecoder(r).Decode(&a); err != nil {
		return nil, fmt.Errorf("decoding jaeger answer: %w", err)
	}
	return &a, nil
}

// Tag returns the value of the span's tag key as text, and whether the
// span has it.
func (s *Span) Tag(key string) (string, bool) {
	for _, t := range s.Tags {
		if t.Key == key {
			return t.Text(), true
		}
	}
	return "", false
}

// TagString returns the value of tag key as text, "" when absent.
func (s *Span) TagString(key string) string {
	v, _ := s.Tag(key)
	return v
}

// TagInt returns the value of tag key as an integer, and whether it has
// one.
func (s *Span) TagInt(key string) (int64, bool) {
	v, ok := s.Tag(key)
	if !ok {
		return 0, false
	}
	n, err := strconv.ParseInt(v, 10, 64)
	return n, err == nil
}

// TagStrings returns the string array attribute key, which Jaeger shows
// as a tag holding its JSON; nil when absent or not such an array.
func (s *Span) TagStrings(key string) []string {
	v, ok := s.Tag(key)
	if !ok {
		return nil
	}
	var out []string
	if err := json.Unmarshal([]byte(v), &out); err != nil {
		return nil
	}
	return out
}

// Parent returns the span ID of the span's CHILD_OF reference in its own
// trace, or "".
func (s *Span) Parent() string {
	for _, r := range s.References {
		if r.RefType == "CHILD_OF" && (r.TraceID == "" || r.TraceID == s.TraceID) {
			return r.SpanID
		}
	}
	return ""
}

// Start is the span's start time.
func (s *Span) Start() time.Time { return time.UnixMicro(s.StartTime).UTC() }

// End is the span's end, in microseconds since the Unix epoch.
func (s *Span) End() int64 { return s.StartTime + s.Duration }

// Service is the name of the service that emitted span s of t, or the
// process ID when t does not name it.
func (t *Trace) Service(s *Span) string {
	if p, ok := t.Processes[s.ProcessID]; ok && p.ServiceName != "" {
		return p.ServiceName
	}
	return s.ProcessID
}
