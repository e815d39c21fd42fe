package order

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/outboxcdc/outboxcdc/libs/validation"
)

// Limits on an order request.
const (
	MaxCustomerIDLen = 100
	MaxItems         = 100
	MaxSKULen        = 64
	MaxQuantity      = 10000
	// MaxTotalCents keeps totals exact for JSON readers that hold numbers as
	// IEEE doubles (2^53 - 1).
	MaxTotalCents = 1<<53 - 1
)

// Item is one ordered line.
type Item struct {
	SKU            string
	Quantity       int
	UnitPriceCents int64
}

// NewOrder is a request to place an order.
type NewOrder struct {
	CustomerID string
	Currency   string
	Items      []Item
}

// Validate checks every rule and returns a *validation.Error listing all
// invalid fields, or nil.
func (n NewOrder) Validate() error {
	var v validation.Error
	switch {
	case strings.TrimSpace(n.CustomerID) == "":
		v.Add("customerId", "is required")
	case utf8.RuneCountInString(n.CustomerID) > MaxCustomerIDLen:
		v.Add("customerId", fmt.Sprintf("must be at most %d characters", MaxCustomerIDLen))
	}
	if !isCurrency(n.Currency) {
		v.Add("currency", "must be 3 upper-case letters (ISO 4217)")
	}
	switch {
	case len(n.Items) == 0:
		v.Add("items", "must hold at least one item")
	case len(n.Items) > MaxItems:
		v.Add("items", fmt.Sprintf("must hold at most %d items", MaxItems))
	}
	for i, it := range n.Items {
		field := func(name string) string { return fmt.Sprintf("items[%d].%s", i, name) }
		switch {
		case strings.TrimSpace(it.SKU) == "":
			v.Add(field("sku"), "is required")
		case utf8.RuneCountInString(it.SKU) > MaxSKULen:
			v.Add(field("sku"), fmt.Sprintf("must be at most %d characters", MaxSKULen))
		}
		switch {
		case it.Quantity < 1:
			v.Add(field("quantity"), "must be at least 1")
		case it.Quantity > MaxQuantity:
			v.Add(field("quantity"), fmt.Sprintf("must be at most %d", MaxQuantity))
		}
		if it.UnitPriceCents < 0 {
			v.Add(field("unitPriceCents"), "must be at least 0")
		}
	}
	if len(v.Fields) == 0 {
		if _, ok := total(n.Items); !ok {
			v.Add("items", fmt.Sprintf("order total must be at most %d cents", int64(MaxTotalCents)))
		}
	}
	return v.Err()
}

// Fingerprint is a digest of the request's content (hex SHA-256), the same
// for requests that mean the same order however their JSON was spelled.
// Idempotency keys remember it to tell a replay from a reuse.
func (n NewOrder) Fingerprint() string {
	type line struct {
		SKU            string `json:"sku"`
		Quantity       int    `json:"quantity"`
		UnitPriceCents int64  `json:"unitPriceCents"`
	}
	canon := struct {
		CustomerID string `json:"customerId"`
		Currency   string `json:"currency"`
		Items      []line `json:"items"`
	}{CustomerID: n.CustomerID, Currency: n.Currency, Items: make([]line, len(n.Items))}
	for i, it := range n.Items {
		canon.Items[i] = line(it)
	}
	// Marshalling plain strings and integers cannot fail.
	b, _ := json.Marshal(canon)
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

func isCurrency(s string) bool {
	if len(s) != 3 {
		return false
	}
	for i := range len(s) {
		if s[i] < 'A' || s[i] > 'Z' {
			return false
		}
	}
	return true
}

// total sums the lines; ok is false when it would exceed MaxTotalCents.
func total(items []Item) (sum int64, ok bool) {
	for _, it := range items {
		if it.Quantity < 0 || it.UnitPriceCents < 0 {
			return 0, false
		}
		if it.Quantity > 0 && it.UnitPriceCents > (MaxTotalCents-sum)/int64(it.Quantity) {
			return 0, false
		}
		sum += int64(it.Quantity) * it.UnitPriceCents
	}
	return sum, true
}
