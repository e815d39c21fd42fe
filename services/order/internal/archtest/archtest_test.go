package archtest

import (
	"testing"

	"github.com/outboxcdc/outboxcdc/testkit/archtest"
)

var rules = archtest.Service(archtest.Repo+"services/order", "internal/order")

func TestImportRules(t *testing.T) { archtest.Check(t, rules) }

// TestRulesCatchViolations feeds the rules graphs that break each of them
// with this module's paths, so a rule that silently stopped matching would
// show here.
func TestRulesCatchViolations(t *testing.T) { archtest.ProveRules(t, rules) }
