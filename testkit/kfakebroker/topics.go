package kfakebroker

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"sync"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// kfake writes records and group offsets to its data directory as they
// arrive, but its list of topics (topics.json) only on a clean shutdown.
// After a kill -9, topics created since the last clean start would be
// forgotten together with their records. The broker therefore keeps its own
// journal of topics, written as soon as a topic appears, and merges it into
// topics.json before kfake loads the directory.

const journalFile = "outboxcdc-topics.json"

type journalTopic struct {
	Name       string            `json:"name"`
	ID         [16]byte          `json:"id"`
	Partitions int               `json:"partitions"`
	Replicas   int               `json:"replicas"`
	Configs    map[string]string `json:"configs,omitempty"`
}

// repairTopics adds topics known to the journal but missing from kfake's
// topics.json (written at the last clean shutdown), so their records load.
func repairTopics(dataDir string) error {
	journal, err := readJournal(dataDir)
	if err != nil || len(journal) == 0 {
		return err
	}
	path := filepath.Join(dataDir, "topics.json")
	raw, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil // never started cleanly: nothing for kfake to load yet
	}
	if err != nil {
		return fmt.Errorf("kfakebroker: %w", err)
	}
	var doc struct {
		Version int              `json:"version"`
		Topics  []map[string]any `json:"topics"`
	}
	if err := json.Unmarshal(raw, &doc); err != nil {
		return fmt.Errorf("kfakebroker: parse %s: %w", path, err)
	}
	known := map[string]bool{}
	for _, t := range doc.Topics {
		if name, ok := t["name"].(string); ok {
			known[name] = true
		}
	}
	added := false
	for _, t := range journal {
		if known[t.Name] {
			continue
		}
		entry := map[string]any{
			"name":       t.Name,
			"id":         base64.StdEncoding.EncodeToString(t.ID[:]),
			"partitions": t.Partitions,
			"replicas":   t.Replicas,
		}
		if len(t.Configs) > 0 {
			entry["configs"] = t.Configs
		}
		doc.Topics = append(doc.Topics, entry)
		added = true
	}
	if !added {
		return nil
	}
	out, err := json.Marshal(doc)
	if err != nil {
		return fmt.Errorf("kfakebroker: %w", err)
	}
	return writeAtomic(path, out)
}

func readJournal(dataDir string) (map[string]journalTopic, error) {
	raw, err := os.ReadFile(filepath.Join(dataDir, journalFile))
	if errors.Is(err, fs.ErrNotExist) {
		return map[string]journalTopic{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("kfakebroker: %w", err)
	}
	var topics []journalTopic
	if err := json.Unmarshal(raw, &topics); err != nil {
		return nil, fmt.Errorf("kfakebroker: parse topic journal: %w", err)
	}
	m := make(map[string]journalTopic, len(topics))
	for _, t := range topics {
		m[t.Name] = t
	}
	return m, nil
}

func writeAtomic(path string, data []byte) error {
	tmp := path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o644)
	if err != nil {
		return fmt.Errorf("kfakebroker: %w", err)
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return fmt.Errorf("kfakebroker: %w", err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("kfakebroker: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("kfakebroker: %w", err)
	}
	return os.Rename(tmp, path)
}

// topicJournal records topics as clients create them.
type topicJournal struct {
	c       *kfake.Cluster
	dataDir string
	names   chan []string
	stop    chan struct{}
	done    chan struct{}

	mu     sync.Mutex
	topics map[string]journalTopic
	err    error
}

func startJournal(c *kfake.Cluster, dataDir string) (*topicJournal, error) {
	topics, err := readJournal(dataDir)
	if err != nil {
		return nil, err
	}
	j := &topicJournal{c: c, dataDir: dataDir, names: make(chan []string, 256), stop: make(chan struct{}), done: make(chan struct{}), topics: topics}
	// Watch the requests that can create topics or partitions. The hooks
	// only note names; the cluster then handles the request as usual.
	watch := func(req kmsg.Request) (kmsg.Response, error, bool) {
		c.KeepControl()
		var names []string
		switch r := req.(type) {
		case *kmsg.MetadataRequest:
			for _, t := range r.Topics {
				if t.Topic != nil {
					names = append(names, *t.Topic)
				}
			}
		case *kmsg.CreateTopicsRequest:
			for _, t := range r.Topics {
				names = append(names, t.Topic)
			}
		case *kmsg.CreatePartitionsRequest:
			for _, t := range r.Topics {
				names = append(names, t.Topic)
			}
		}
		if len(names) > 0 {
			select {
			case j.names <- names:
			default: // a burst; later requests name the topics again
			}
		}
		return nil, nil, false
	}
	for _, key := range []int16{3, 19, 37} {
		c.ControlKey(key, watch)
	}
	go j.run()
	return j, nil
}

func (j *topicJournal) run() {
	defer close(j.done)
	for {
		var names []string
		select {
		case <-j.stop:
			return
		case names = <-j.names:
		}
		changed := false
		for _, name := range names {
			info := j.c.TopicInfo(name)
			if info == nil {
				continue
			}
			t := journalTopic{Name: name, ID: info.TopicID, Partitions: len(j.c.PartitionInfos(name)), Replicas: info.NumReplicas}
			for k, v := range info.Configs {
				if v != nil {
					if t.Configs == nil {
						t.Configs = map[string]string{}
					}
					t.Configs[k] = *v
				}
			}
			j.mu.Lock()
			old, ok := j.topics[name]
			if !ok || old.ID != t.ID || old.Partitions != t.Partitions || !maps.Equal(old.Configs, t.Configs) {
				j.topics[name] = t
				changed = true
			}
			j.mu.Unlock()
		}
		if changed {
			j.save()
		}
	}
}

func (j *topicJournal) save() {
	j.mu.Lock()
	defer j.mu.Unlock()
	list := make([]journalTopic, 0, len(j.topics))
	for _, t := range j.topics {
		list = append(list, t)
	}
	data, err := json.Marshal(list)
	if err == nil {
		err = writeAtomic(filepath.Join(j.dataDir, journalFile), data)
	}
	if err != nil {
		j.err = err
	}
}

// close stops the journal; call it before closing the cluster, whose
// admin calls the journal makes would block once the cluster is gone.
func (j *topicJournal) close() {
	close(j.stop)
	<-j.done
}
