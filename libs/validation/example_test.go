package validation_test

import (
	"errors"
	"fmt"
	"strings"

	"github.com/outboxcdc/outboxcdc/libs/validation"
)

func check(customerID, currency string) error {
	var v validation.Error
	if strings.TrimSpace(customerID) == "" {
		v.Add("customerId", "is required")
	}
	if len(currency) != 3 {
		v.Add("currency", "must be 3 letters")
	}
	return v.Err()
}

// A domain collects every invalid field and returns them together; nil
// when there is none.
func Example() {
	fmt.Println(check("cust-42", "EUR"))
	err := check(" ", "euro")
	if v, ok := errors.AsType[*validation.Error](err); ok {
		for _, f := range v.Fields {
			fmt.Println(f.Field, f.Message)
		}
	}
	// Output:
	// <nil>
	// customerId is required
	// currency must be 3 letters
}
