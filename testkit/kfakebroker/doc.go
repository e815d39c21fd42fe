// Package kfakebroker runs an embedded Kafka-protocol broker built on
// franz-go's kfake.
//
// It is the broker of the embedded development stack and of the tests: one
// node listening on a loopback address, topics created on first use with a
// configurable partition count, and, given a data directory, topics, records
// and committed group offsets that survive a restart, kill -9 included
// (writes go to the OS page cache at once; SyncWrites adds an fsync per
// batch for machine crashes).
//
// kfake itself records the list of topics only on a clean shutdown; the
// broker keeps a journal of topics as they appear and merges it back before
// kfake loads the directory, so topics created after the last clean start
// survive a kill -9 too (all but one created in the last few milliseconds).
//
// kfake is pinned in go.mod: its API and on-disk format move between
// versions, so upgrade it deliberately.
package kfakebroker
