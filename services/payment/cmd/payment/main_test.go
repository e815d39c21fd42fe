package main

import (
	"testing"

	"github.com/outboxcdc/outboxcdc/services/payment/app"
	"github.com/outboxcdc/outboxcdc/testkit/pgtest"
	"github.com/outboxcdc/outboxcdc/testkit/servicetest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// The binary's whole run, as main wires it: start, a clean stop on the
// signal, and a bad variable named.
func TestCommand(t *testing.T) { servicetest.Command(t, "payment", app.ConfigFromEnv, app.Start) }
