// Package delivery decides which WAL positions the relay may confirm to
// PostgreSQL, and where records land in Kafka.
//
// Tracker implements the at-least-once rule: a position is confirmed only
// when every record produced from WAL before it has been acknowledged by the
// broker. Work is tracked in stream order as entries (a transaction, a
// non-transactional logical message, a heartbeat, the initial snapshot);
// each entry ends at an LSN and counts its records still in flight. The
// confirmable position is the end of the longest prefix of finished
// entries. Positions where nothing needs producing (keepalives while idle,
// transactions whose changes were all dropped) become confirmable as soon
// as the entries before them finish, so an idle or filtered stream never
// makes the slot retain WAL without bound.
//
// Partitioner places a record on the partition the record names (Kafka
// Connect's explicit partition, from a partition placement) or otherwise on
// murmur2(key) like the Java producer's default partitioner; records
// without a key go to a sticky partition. A partition the topic does not
// have fails the record instead of blocking.
package delivery
