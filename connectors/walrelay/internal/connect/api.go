package connect

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/google/uuid"

	"github.com/outboxcdc/outboxcdc/connectors/walrelay/internal/eventrouter"
	"github.com/outboxcdc/outboxcdc/connectors/walrelay/internal/sourcetask"
)

// PluginVersion is the connector version reported by the plugin listing:
// the Debezium release whose behaviour the relay reproduces.
const PluginVersion = "3.6.1.Final"

// taskClass is the Debezium task class shown in task configs.
const taskClass = "io.debezium.connector.postgresql.PostgresConnectorTask"

// Handler returns the Kafka Connect REST API.
//
// Routing uses net/http's method patterns: the API is a fixed set of
// paths with one path parameter or two, and the standard library keeps
// the relay free of a web framework dependency.
func (w *Worker) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", w.handleRoot)
	mux.HandleFunc("GET /connectors", w.handleList)
	mux.HandleFunc("POST /connectors", w.handleCreate)
	mux.HandleFunc("GET /connectors/{name}", w.handleInfo)
	mux.HandleFunc("DELETE /connectors/{name}", w.handleDelete)
	mux.HandleFunc("GET /connectors/{name}/config", w.handleGetConfig)
	mux.HandleFunc("PUT /connectors/{name}/config", w.handlePutConfig)
	mux.HandleFunc("PATCH /connectors/{name}/config", w.handlePatchConfig)
	mux.HandleFunc("GET /connectors/{name}/status", w.handleStatus)
	mux.HandleFunc("POST /connectors/{name}/restart", w.handleRestart)
	mux.HandleFunc("PUT /connectors/{name}/pause", w.handleTarget(TargetPaused, http.StatusAccepted))
	mux.HandleFunc("PUT /connectors/{name}/resume", w.handleTarget(TargetStarted, http.StatusAccepted))
	mux.HandleFunc("PUT /connectors/{name}/stop", w.handleTarget(TargetStopped, http.StatusNoContent))
	mux.HandleFunc("GET /connectors/{name}/tasks", w.handleTasks)
	mux.HandleFunc("GET /connectors/{name}/tasks/{task}/status", w.handleTaskStatus)
	mux.HandleFunc("POST /connectors/{name}/tasks/{task}/restart", w.handleTaskRestart)
	mux.HandleFunc("GET /connector-plugins", w.handlePlugins)
	mux.HandleFunc("PUT /connector-plugins/{class}/config/validate", w.handleValidate)
	mux.HandleFunc("/", func(rw http.ResponseWriter, r *http.Request) {
		writeError(rw, http.StatusNotFound, "HTTP 404 Not Found")
	})
	return mux
}

type errorBody struct {
	ErrorCode int    `json:"error_code"`
	Message   string `json:"message"`
}

func writeJSON(rw http.ResponseWriter, status int, v any) {
	rw.Header().Set("Content-Type", "application/json")
	rw.WriteHeader(status)
	_ = json.NewEncoder(rw).Encode(v)
}

func writeError(rw http.ResponseWriter, status int, msg string) {
	writeJSON(rw, status, errorBody{ErrorCode: status, Message: msg})
}

// errorID returns a short random id that ties an answer to its log line.
func errorID() string { return strings.ReplaceAll(uuid.NewString(), "-", "")[:16] }

// fail maps an error to Kafka Connect's status and body.
func (w *Worker) fail(rw http.ResponseWriter, err error) {
	var bad *BadRequestError
	var invalid *InvalidConfigError
	switch {
	case errors.As(err, &invalid):
		writeError(rw, http.StatusBadRequest, invalid.Error())
	case errors.As(err, &bad):
		writeError(rw, http.StatusBadRequest, bad.Message)
	case errors.Is(err, ErrNotFound):
		writeError(rw, http.StatusNotFound, strings.TrimSuffix(err.Error(), ": "+ErrNotFound.Error()))
	case errors.Is(err, ErrExists):
		writeError(rw, http.StatusConflict, strings.TrimSuffix(err.Error(), ": "+ErrExists.Error()))
	default:
		// The cause stays in the log (it may name hosts, users or SQL); the
		// answer names the log line.
		id := errorID()
		w.log.Error("request failed", "error", err, "error_id", id)
		writeError(rw, http.StatusInternalServerError, "internal error; the walrelay log has the cause under error_id "+id)
	}
}

func (w *Worker) handleRoot(rw http.ResponseWriter, r *http.Request) {
	writeJSON(rw, http.StatusOK, map[string]string{
		"version":          w.cfg.Version,
		"commit":           w.cfg.Commit,
		"kafka_cluster_id": w.clusterID,
	})
}

// --- bodies ---

type taskID struct {
	Connector string `json:"connector"`
	Task      int    `json:"task"`
}

type infoBody struct {
	Name   string            `json:"name"`
	Config map[string]string `json:"config"`
	Tasks  []taskID          `json:"tasks"`
	Type   string            `json:"type"`
}

type stateBody struct {
	ID       *int   `json:"id,omitempty"`
	State    string `json:"state"`
	WorkerID string `json:"worker_id"`
	Trace    string `json:"trace,omitempty"`
}

type statusBody struct {
	Name      string      `json:"name"`
	Connector stateBody   `json:"connector"`
	Tasks     []stateBody `json:"tasks"`
	Type      string      `json:"type"`
}

func (w *Worker) info(c *connector) infoBody {
	w.mu.RLock()
	defer w.mu.RUnlock()
	b := infoBody{Name: c.name, Config: maps.Clone(c.config), Tasks: []taskID{}, Type: "source"}
	if c.target != TargetStopped && c.failure == "" {
		b.Tasks = []taskID{{Connector: c.name, Task: 0}}
	}
	return b
}

func (w *Worker) status(c *connector) statusBody {
	w.mu.RLock()
	target, failure, task := c.target, c.failure, c.task
	w.mu.RUnlock()
	b := statusBody{Name: c.name, Tasks: []stateBody{}, Type: "source"}
	b.Connector = stateBody{State: "RUNNING", WorkerID: w.cfg.WorkerID}
	zero := 0
	ts := stateBody{ID: &zero, WorkerID: w.cfg.WorkerID}
	switch {
	case failure != "":
		b.Connector.State, b.Connector.Trace = "FAILED", failure
		return b
	case target == TargetStopped:
		b.Connector.State = "STOPPED"
		return b
	case target == TargetPaused:
		b.Connector.State = "PAUSED"
		ts.State = "PAUSED"
	case task == nil:
		ts.State = "UNASSIGNED"
	default:
		state, trace := task.Status()
		switch state {
		case sourcetask.StateFailed:
			ts.State, ts.Trace = "FAILED", trace
		case sourcetask.StateRunning:
			ts.State = "RUNNING"
		default:
			ts.State = "UNASSIGNED"
		}
	}
	b.Tasks = []stateBody{ts}
	return b
}

// --- handlers ---

func (w *Worker) handleList(rw http.ResponseWriter, r *http.Request) {
	w.mu.RLock()
	names := append([]string{}, slices.Sorted(maps.Keys(w.connectors))...)
	cs := make([]*connector, len(names))
	for i, n := range names {
		cs[i] = w.connectors[n]
	}
	w.mu.RUnlock()
	expand := r.URL.Query()["expand"]
	if len(expand) == 0 {
		writeJSON(rw, http.StatusOK, names)
		return
	}
	out := map[string]map[string]any{}
	for _, c := range cs {
		m := map[string]any{}
		for _, e := range expand {
			switch e {
			case "status":
				m["status"] = w.status(c)
			case "info":
				m["info"] = w.info(c)
			}
		}
		out[c.name] = m
	}
	writeJSON(rw, http.StatusOK, out)
}

func decodeBody(r *http.Request, v any) error {
	dec := json.NewDecoder(http.MaxBytesReader(nil, r.Body, 1<<20))
	if err := dec.Decode(v); err != nil {
		return &BadRequestError{"Cannot deserialize the request body: " + err.Error()}
	}
	return nil
}

// decodeConfig reads a flat config map; values may be JSON strings,
// numbers or booleans (Connect turns them into strings).
func decodeConfig(raw map[string]any) (map[string]string, error) {
	out := make(map[string]string, len(raw))
	for k, v := range raw {
		switch v := v.(type) {
		case string:
			out[k] = v
		case json.Number:
			out[k] = v.String()
		case float64:
			out[k] = strconv.FormatFloat(v, 'f', -1, 64)
		case bool:
			out[k] = strconv.FormatBool(v)
		case nil:
			// A null value is dropped (PATCH uses it to remove keys).
		default:
			return nil, &BadRequestError{fmt.Sprintf("Cannot deserialize value of key %s: expected a string", k)}
		}
	}
	return out, nil
}

// readConfig decodes a flat config map body; raw keeps the JSON values,
// whose nulls PATCH needs.
func readConfig(r *http.Request) (config map[string]string, raw map[string]any, err error) {
	if err := decodeBody(r, &raw); err != nil {
		return nil, nil, err
	}
	config, err = decodeConfig(raw)
	return config, raw, err
}

func (w *Worker) handleCreate(rw http.ResponseWriter, r *http.Request) {
	var body struct {
		Name   string         `json:"name"`
		Config map[string]any `json:"config"`
	}
	if err := decodeBody(r, &body); err != nil {
		w.fail(rw, err)
		return
	}
	config, err := decodeConfig(body.Config)
	if err != nil {
		w.fail(rw, err)
		return
	}
	if err := w.Create(r.Context(), body.Name, config); err != nil {
		w.fail(rw, err)
		return
	}
	c, err := w.get(body.Name)
	if err != nil {
		w.fail(rw, err)
		return
	}
	rw.Header().Set("Location", "/connectors/"+body.Name)
	writeJSON(rw, http.StatusCreated, w.info(c))
}

func (w *Worker) handleInfo(rw http.ResponseWriter, r *http.Request) {
	c, err := w.get(r.PathValue("name"))
	if err != nil {
		w.fail(rw, err)
		return
	}
	writeJSON(rw, http.StatusOK, w.info(c))
}

func (w *Worker) handleDelete(rw http.ResponseWriter, r *http.Request) {
	if err := w.Delete(r.Context(), r.PathValue("name")); err != nil {
		w.fail(rw, err)
		return
	}
	rw.WriteHeader(http.StatusNoContent)
}

func (w *Worker) handleGetConfig(rw http.ResponseWriter, r *http.Request) {
	c, err := w.get(r.PathValue("name"))
	if err != nil {
		w.fail(rw, err)
		return
	}
	writeJSON(rw, http.StatusOK, w.info(c).Config)
}

func (w *Worker) handlePutConfig(rw http.ResponseWriter, r *http.Request) {
	config, _, err := readConfig(r)
	if err != nil {
		w.fail(rw, err)
		return
	}
	w.putAndRespond(rw, r, config)
}

func (w *Worker) putAndRespond(rw http.ResponseWriter, r *http.Request, config map[string]string) {
	name := r.PathValue("name")
	created, err := w.Put(r.Context(), name, config)
	if err != nil {
		w.fail(rw, err)
		return
	}
	c, err := w.get(name)
	if err != nil {
		w.fail(rw, err)
		return
	}
	status := http.StatusOK
	if created {
		status = http.StatusCreated
		rw.Header().Set("Location", "/connectors/"+name)
	}
	writeJSON(rw, status, w.info(c))
}

// handlePatchConfig merges the body into the stored config (Kafka 3.8+);
// a null value removes the key.
func (w *Worker) handlePatchConfig(rw http.ResponseWriter, r *http.Request) {
	c, err := w.get(r.PathValue("name"))
	if err != nil {
		w.fail(rw, err)
		return
	}
	patch, raw, err := readConfig(r)
	if err != nil {
		w.fail(rw, err)
		return
	}
	config := w.info(c).Config
	for k, v := range raw {
		if v == nil {
			delete(config, k)
		}
	}
	maps.Copy(config, patch)
	w.putAndRespond(rw, r, config)
}

func (w *Worker) handleStatus(rw http.ResponseWriter, r *http.Request) {
	c, err := w.get(r.PathValue("name"))
	if err != nil {
		w.fail(rw, err)
		return
	}
	writeJSON(rw, http.StatusOK, w.status(c))
}

func (w *Worker) handleRestart(rw http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	includeTasks := strings.EqualFold(q.Get("includeTasks"), "true")
	onlyFailed := strings.EqualFold(q.Get("onlyFailed"), "true")
	name := r.PathValue("name")
	c, err := w.get(name)
	if err != nil {
		w.fail(rw, err)
		return
	}
	before := w.status(c)
	connRestarted, taskRestarted, err := w.Restart(r.Context(), name, includeTasks, onlyFailed)
	if err != nil {
		w.fail(rw, err)
		return
	}
	if !includeTasks && !onlyFailed {
		rw.WriteHeader(http.StatusNoContent)
		return
	}
	// Connect answers with the restart plan: the instances being
	// restarted show RESTARTING.
	if connRestarted {
		before.Connector.State, before.Connector.Trace = "RESTARTING", ""
	}
	if taskRestarted {
		zero := 0
		before.Tasks = []stateBody{{ID: &zero, State: "RESTARTING", WorkerID: w.cfg.WorkerID}}
	}
	writeJSON(rw, http.StatusAccepted, before)
}

func (w *Worker) handleTarget(target string, status int) http.HandlerFunc {
	return func(rw http.ResponseWriter, r *http.Request) {
		if err := w.SetTarget(r.Context(), r.PathValue("name"), target); err != nil {
			w.fail(rw, err)
			return
		}
		rw.WriteHeader(status)
	}
}

func (w *Worker) handleTasks(rw http.ResponseWriter, r *http.Request) {
	c, err := w.get(r.PathValue("name"))
	if err != nil {
		w.fail(rw, err)
		return
	}
	info := w.info(c)
	type taskBody struct {
		ID     taskID            `json:"id"`
		Config map[string]string `json:"config"`
	}
	out := []taskBody{}
	for _, id := range info.Tasks {
		cfg := maps.Clone(info.Config)
		cfg["task.class"] = taskClass
		out = append(out, taskBody{ID: id, Config: cfg})
	}
	writeJSON(rw, http.StatusOK, out)
}

func (w *Worker) taskParam(r *http.Request) (*connector, int, error) {
	name := r.PathValue("name")
	c, err := w.get(name)
	if err != nil {
		return nil, 0, err
	}
	id, err := strconv.Atoi(r.PathValue("task"))
	if err != nil {
		return nil, 0, fmt.Errorf("Unknown task: %s-%s: %w", name, r.PathValue("task"), ErrNotFound)
	}
	return c, id, nil
}

func (w *Worker) handleTaskStatus(rw http.ResponseWriter, r *http.Request) {
	c, id, err := w.taskParam(r)
	if err != nil {
		w.fail(rw, err)
		return
	}
	st := w.status(c)
	if id != 0 || len(st.Tasks) == 0 {
		w.fail(rw, fmt.Errorf("Unknown task: %s-%d: %w", c.name, id, ErrNotFound))
		return
	}
	writeJSON(rw, http.StatusOK, st.Tasks[0])
}

func (w *Worker) handleTaskRestart(rw http.ResponseWriter, r *http.Request) {
	c, id, err := w.taskParam(r)
	if err != nil {
		w.fail(rw, err)
		return
	}
	if err := w.RestartTask(r.Context(), c.name, id); err != nil {
		w.fail(rw, err)
		return
	}
	rw.WriteHeader(http.StatusNoContent)
}

type pluginBody struct {
	Class   string `json:"class"`
	Type    string `json:"type"`
	Version string `json:"version,omitempty"`
}

func (w *Worker) handlePlugins(rw http.ResponseWriter, r *http.Request) {
	out := []pluginBody{{Class: sourcetask.ConnectorClass, Type: "source", Version: PluginVersion}}
	if strings.EqualFold(r.URL.Query().Get("connectorsOnly"), "false") {
		out = append(out,
			pluginBody{Class: "io.debezium.transforms.outbox.EventRouter", Type: "transformation", Version: PluginVersion},
			pluginBody{Class: "org.apache.kafka.connect.storage.StringConverter", Type: "converter"},
			pluginBody{Class: "org.apache.kafka.connect.json.JsonConverter", Type: "converter"},
			pluginBody{Class: "org.apache.kafka.connect.converters.ByteArrayConverter", Type: "converter"},
			pluginBody{Class: "org.apache.kafka.connect.storage.SimpleHeaderConverter", Type: "header_converter"},
		)
	}
	writeJSON(rw, http.StatusOK, out)
}

func (w *Worker) handleValidate(rw http.ResponseWriter, r *http.Request) {
	class := r.PathValue("class")
	config, _, err := readConfig(r)
	if err != nil {
		w.fail(rw, err)
		return
	}
	if cls, ok := config["connector.class"]; ok && cls != class && !(knownClass(cls) && knownClass(class)) {
		w.fail(rw, &BadRequestError{fmt.Sprintf("Included connector type %s does not match request type %s", cls, class)})
		return
	}
	config["connector.class"] = class
	if err := checkClass(config); err != nil {
		w.fail(rw, err)
		return
	}
	errs := w.Validate(r.Context(), config)
	writeJSON(rw, http.StatusOK, validationBody(class, config, errs))
}

// --- validation body (ConfigInfos) ---

type configDefinition struct {
	Name          string   `json:"name"`
	Type          string   `json:"type"`
	Required      bool     `json:"required"`
	DefaultValue  *string  `json:"default_value"`
	Importance    string   `json:"importance"`
	Documentation string   `json:"documentation"`
	Group         string   `json:"group"`
	Width         string   `json:"width"`
	DisplayName   string   `json:"display_name"`
	Dependents    []string `json:"dependents"`
	Order         int      `json:"order"`
}

type configValue struct {
	Name              string   `json:"name"`
	Value             *string  `json:"value"`
	RecommendedValues []string `json:"recommended_values"`
	Errors            []string `json:"errors"`
	Visible           bool     `json:"visible"`
}

type configInfo struct {
	Definition configDefinition `json:"definition"`
	Value      configValue      `json:"value"`
}

type validationResponse struct {
	Name       string       `json:"name"`
	ErrorCount int          `json:"error_count"`
	Groups     []string     `json:"groups"`
	Configs    []configInfo `json:"configs"`
}

// validationBody builds Connect's validation answer: one entry per key
// given or in error, each with its errors.
func validationBody(class string, config map[string]string, errs []eventrouter.ConfigError) validationResponse {
	byKey := map[string][]string{}
	for _, e := range errs {
		byKey[e.Key] = append(byKey[e.Key], errorText(e))
	}
	keys := map[string]bool{"name": true, "connector.class": true, "tasks.max": true}
	for k := range config {
		keys[k] = true
	}
	for k := range byKey {
		keys[k] = true
	}
	sorted := slices.Sorted(maps.Keys(keys))
	groupSet := map[string]bool{}
	resp := validationResponse{Name: class, ErrorCount: len(errs), Configs: []configInfo{}}
	for i, k := range sorted {
		g := group(k)
		groupSet[g] = true
		var val *string
		if v, ok := config[k]; ok {
			if strings.Contains(strings.ToLower(k), "password") {
				v = "[hidden]"
			}
			val = &v
		}
		e := byKey[k]
		if e == nil {
			e = []string{}
		}
		resp.Configs = append(resp.Configs, configInfo{
			Definition: configDefinition{
				Name: k, Type: "STRING", Importance: "MEDIUM", Group: g, Width: "MEDIUM",
				DisplayName: k, Dependents: []string{}, Order: i + 1,
				Required: k == "name" || k == "connector.class",
			},
			Value: configValue{Name: k, Value: val, RecommendedValues: []string{}, Errors: e, Visible: true},
		})
	}
	resp.Groups = slices.Sorted(maps.Keys(groupSet))
	return resp
}

func group(key string) string {
	switch {
	case key == "name" || key == "connector.class" || key == "tasks.max" || strings.HasSuffix(key, ".converter") || strings.Contains(key, ".converter."):
		return "Common"
	case strings.HasPrefix(key, "transforms"):
		return "Transforms"
	case strings.HasPrefix(key, "errors."):
		return "Error Handling"
	case strings.HasPrefix(key, "topic.creation."):
		return "Topic Creation"
	case strings.HasPrefix(key, "database."):
		return "Postgres"
	default:
		return "Connector"
	}
}
