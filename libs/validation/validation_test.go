package validation_test

import (
	"errors"
	"fmt"
	"slices"
	"testing"

	"github.com/outboxcdc/outboxcdc/libs/validation"
)

func TestError(t *testing.T) {
	tests := []struct {
		name   string
		build  func() error
		fields []validation.FieldError // nil: no error
		text   string
	}{
		{"nothing added", func() error { var v validation.Error; return v.Err() }, nil, ""},
		{"one field", func() error { return validation.Field("sku", "is required") },
			[]validation.FieldError{{Field: "sku", Message: "is required"}}, "invalid input: sku: is required"},
		{"fields keep their order", func() error {
			var v validation.Error
			v.Add("customerId", "is required")
			v.Add("items[0].quantity", "must be at least 1")
			return v.Err()
		}, []validation.FieldError{{Field: "customerId", Message: "is required"}, {Field: "items[0].quantity", Message: "must be at least 1"}},
			"invalid input: customerId: is required; items[0].quantity: must be at least 1"},
		{"found through wrapping", func() error { return fmt.Errorf("place order: %w", validation.Field("currency", "is invalid")) },
			[]validation.FieldError{{Field: "currency", Message: "is invalid"}}, "place order: invalid input: currency: is invalid"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.build()
			if tt.fields == nil {
				if err != nil {
					t.Fatalf("err = %#v, want a nil error", err)
				}
				return
			}
			v, ok := errors.AsType[*validation.Error](err)
			if !ok {
				t.Fatalf("err = %v, want a *validation.Error", err)
			}
			if !slices.Equal(v.Fields, tt.fields) || err.Error() != tt.text {
				t.Fatalf("err = %q with fields %+v, want %q with %+v", err, v.Fields, tt.text, tt.fields)
			}
		})
	}
}
