package audit

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
)

// Seed is what was put into the system before the first order: the
// opening balance of each customer's account and the stock level of each
// SKU. A nil map skips its equation; a customer or SKU missing from a map
// is not checked against it.
//
// In JSON (the --seed file):
//
//	{"accounts": {"alice": 10000}, "stock": {"SKU-1": 5}}
type Seed struct {
	// Accounts maps a customer id to the balance, in cents, its account
	// was given (PUT /accounts/{customerId}).
	Accounts map[string]int64 `json:"accounts"`
	// Stock maps a SKU to the available count it was given (PUT
	// /stock/{sku}).
	Stock map[string]int64 `json:"stock"`
}

// ParseSeed decodes a seed from JSON. Unknown fields and trailing data are
// errors, so a typo does not silently skip an equation.
func ParseSeed(r io.Reader) (*Seed, error) {
	dec := json.NewDecoder(r)
	dec.DisallowUnknownFields()
	var s Seed
	if err := dec.Decode(&s); err != nil {
		return nil, fmt.Errorf("seed: %w", err)
	}
	if dec.More() {
		return nil, fmt.Errorf("seed: data after the JSON object")
	}
	return &s, nil
}

// ReadSeed reads a seed from the JSON file at path.
func ReadSeed(path string) (*Seed, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("seed: %w", err)
	}
	s, err := ParseSeed(bytes.NewReader(b))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return s, nil
}
