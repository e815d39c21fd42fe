// Package stackfiles holds the checks on the files a user runs unchanged:
// compose/compose.yaml, the connector JSON in connectors/debezium and the
// database init shared by both stacks. It has no code of its own; see its
// tests.
package stackfiles
