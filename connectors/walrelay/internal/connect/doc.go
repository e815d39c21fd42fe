// Package connect is a single-node Kafka Connect worker for walrelay: the
// REST API that register scripts and operators use with Kafka Connect, the
// connector lifecycle behind it, and the durable store of connector
// configs.
//
// REST calls (same paths, statuses and bodies as Kafka Connect):
//
//	GET    /                                   version, commit, kafka_cluster_id
//	GET    /connectors[?expand=status|info]
//	POST   /connectors                         201, 409 when the name exists
//	GET    /connectors/{name}
//	DELETE /connectors/{name}                  204; slot and publication stay
//	GET    /connectors/{name}/config
//	PUT    /connectors/{name}/config           201 created, 200 updated
//	PATCH  /connectors/{name}/config           merge; null removes a key
//	GET    /connectors/{name}/status           connector and tasks[0] states
//	POST   /connectors/{name}/restart          204; 202 + plan with includeTasks/onlyFailed
//	PUT    /connectors/{name}/pause|resume     202
//	PUT    /connectors/{name}/stop             204
//	GET    /connectors/{name}/tasks
//	GET    /connectors/{name}/tasks/0/status
//	POST   /connectors/{name}/tasks/0/restart  204
//	GET    /connector-plugins[?connectorsOnly=false]
//	PUT    /connector-plugins/{class}/config/validate
//
// Errors are {"error_code": N, "message": "..."}: 400 for an invalid
// config (validation connects to the database, so an unreachable database
// is a 400 too), 404 for an unknown connector, 409 for a duplicate.
//
// Configs are kept in a compacted topic (connect_configs by default) in
// Kafka Connect's record format and replayed at start; stored configs keep
// ${env:...} references, which are resolved only for validation and for
// the running task. As in Kafka Connect's KafkaConfigBackingStore, each
// key (connector-<name>, target-state-<name>) is read on its own, its
// last record being its value whatever the order of the records of other
// keys: what log compaction leaves of the topic replays to the same
// connectors, in the same target states. The relay's resume position is
// the replication slot itself, so no offsets topic is used.
//
// A plain POST /connectors/{name}/restart restarts the connector instance
// only, as in Kafka Connect: a FAILED task needs includeTasks=true (with
// onlyFailed=true) or POST /connectors/{name}/tasks/0/restart.
//
// Limits: one worker, no distributed rebalancing; a paused connector
// closes its replication connection (the slot keeps its position).
package connect
