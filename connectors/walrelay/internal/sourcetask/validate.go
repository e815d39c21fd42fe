package sourcetask

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/outboxcdc/outboxcdc/connectors/walrelay/internal/eventrouter"
	"github.com/outboxcdc/outboxcdc/connectors/walrelay/internal/replication"
)

// Validate checks a connector configuration the way Kafka Connect's
// validation of a Debezium connector does: every key, the router and
// converters, then a connection to the database (an unreachable database
// is a configuration error too). It returns the parsed config and every
// problem found.
func Validate(ctx context.Context, props map[string]string, worker eventrouter.Worker) (Config, []eventrouter.ConfigError) {
	cfg, errs := ParseConfig(props)
	// The router is built only for its checks; it never routes, so it never logs.
	if _, rerrs := eventrouter.New(props["name"], props, worker, slog.New(slog.DiscardHandler)); len(rerrs) > 0 {
		errs = append(errs, rerrs...)
	}
	for _, e := range errs {
		if strings.HasPrefix(e.Key, "database.") {
			return cfg, errs // cannot connect with a broken address
		}
	}
	if err := checkDatabase(ctx, cfg.DB); err != nil {
		key := "database.hostname"
		var role roleError
		if errors.As(err, &role) {
			key = "database.user"
		}
		errs = append(errs, eventrouter.ConfigError{Key: key, Message: "Error while validating connector config: " + err.Error()})
	}
	return cfg, errs
}

type roleError struct{ user string }

func (e roleError) Error() string {
	return fmt.Sprintf("Postgres roles LOGIN and REPLICATION are not assigned to user: %s", e.user)
}

// checkDatabase connects and checks that the user may replicate and the
// server decodes logically.
func checkDatabase(ctx context.Context, db DBConfig) error {
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, db.ConnString())
	if err != nil {
		return err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	var canReplicate bool
	const q = `SELECT rolsuper OR (rolreplication AND rolcanlogin) FROM pg_roles WHERE rolname = current_user`
	if err := conn.QueryRow(ctx, q).Scan(&canReplicate); err != nil {
		return err
	}
	if !canReplicate {
		return roleError{db.User}
	}
	_, err = replication.CheckServer(ctx, conn)
	return err
}
