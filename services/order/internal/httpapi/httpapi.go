// Package httpapi is the order service's HTTP API on echo v4, built on the
// shared httpserver plumbing:
//
//	POST /orders         place an order (optional Idempotency-Key header)
//	GET  /orders/{id}    one order with its items and history
//	GET  /orders         list orders (customerId, status, limit)
//
// Errors leave as {"error": {"code", "message", "details"}}: 400 for a body
// that is not the expected JSON, 422 with field details for invalid values,
// 404 for unknown or malformed ids, 409 when an idempotency key is reused
// for a different request, 413 for an oversize body, 503 with Retry-After
// when Options.Admit refuses new orders (the saga's backlog is full).
package httpapi

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/labstack/echo/v4"

	"github.com/outboxcdc/outboxcdc/libs/httpserver"
	"github.com/outboxcdc/outboxcdc/libs/tracing"
	"github.com/outboxcdc/outboxcdc/libs/validation"
	"github.com/outboxcdc/outboxcdc/services/order/internal/order"
)

// Store is what the API needs from storage.
type Store interface {
	// Place stores a new order; with a key it replays (created = false)
	// or fails with order.ErrIdempotencyKeyReused.
	Place(ctx context.Context, o *order.Order, key, fingerprint string) (s order.Snapshot, created bool, err error)
	// Get returns one order or order.ErrNotFound.
	Get(ctx context.Context, id string) (order.Snapshot, error)
	// List returns matching orders, newest first.
	List(ctx context.Context, f order.Filter) ([]order.Snapshot, error)
}

// Listing limits.
const (
	DefaultListLimit = 50
	MaxListLimit     = 500
)

// HeaderIdempotencyKey names the header that makes POST /orders safe to
// retry.
const HeaderIdempotencyKey = "Idempotency-Key"

// maxIdempotencyKeyLen is the width of the idempotency_keys.key column.
const maxIdempotencyKeyLen = 255

type api struct {
	store Store
	log   *slog.Logger
	now   func() time.Time
	admit func() error
}

// Options are the API's optional behaviour.
type Options struct {
	// Admit, when set, is asked before each POST /orders; an error refuses
	// the order with 503 overloaded and Retry-After (ErrOverloaded).
	Admit func() error
}

// ErrOverloaded is what Options.Admit returns to refuse a new order.
var ErrOverloaded = httpserver.NewRefusal(http.StatusServiceUnavailable, "overloaded",
	"too many orders are still in progress; retry later")

// retryAfter is the Retry-After, in seconds, of a refused order.
const retryAfter = "1"

// Register routes the order API on e.
func Register(e *echo.Echo, store Store, log *slog.Logger, opts Options) {
	a := &api{store: store, log: log, now: time.Now, admit: opts.Admit}
	e.POST("/orders", a.place)
	e.GET("/orders/:id", a.get)
	e.GET("/orders", a.list)
}

type itemRequest struct {
	SKU            *string `json:"sku"`
	Quantity       *int    `json:"quantity"`
	UnitPriceCents *int64  `json:"unitPriceCents"`
}

type placeRequest struct {
	CustomerID string         `json:"customerId"`
	Currency   string         `json:"currency"`
	Items      []*itemRequest `json:"items"`
}

func (a *api) place(c echo.Context) error {
	if a.admit != nil {
		if err := a.admit(); err != nil {
			c.Response().Header().Set("Retry-After", retryAfter)
			return err
		}
	}
	var req placeRequest
	if err := httpserver.DecodeJSON(c, &req); err != nil {
		return err
	}
	// One answer lists every problem: the request's own (absent fields, the
	// idempotency key) first, then the domain's, which Place checks.
	var invalid validation.Error
	in := req.toNewOrder(&invalid)
	key := idempotencyKey(c.Request().Header, &invalid)

	id, err := uuid.NewV7()
	if err != nil {
		return fmt.Errorf("order id: %w", err)
	}
	eventID, err := uuid.NewV7()
	if err != nil {
		return fmt.Errorf("event id: %w", err)
	}
	o, err := order.Place(id.String(), eventID, in, a.now())
	if ve, ok := errors.AsType[*validation.Error](err); ok {
		invalid.Fields = append(invalid.Fields, ve.Fields...)
	} else if err != nil {
		return err
	}
	if err := invalid.Err(); err != nil {
		return err
	}
	var fingerprint string
	if key != "" {
		fingerprint = in.Fingerprint()
	}
	s, created, err := a.store.Place(c.Request().Context(), o, key, fingerprint)
	if err != nil {
		return httpError(err)
	}
	tracing.SetOrderID(c.Request().Context(), s.ID)
	if !created {
		c.Response().Header().Set("Idempotent-Replayed", "true")
		return c.JSON(http.StatusOK, toResponse(s))
	}
	c.Response().Header().Set(echo.HeaderLocation, "/orders/"+s.ID)
	return c.JSON(http.StatusCreated, toResponse(s))
}

// toNewOrder converts the request, adding absent item fields to invalid
// as required. Absent values become placeholders the domain accepts, so
// each field is reported once.
func (r placeRequest) toNewOrder(invalid *validation.Error) order.NewOrder {
	in := order.NewOrder{CustomerID: r.CustomerID, Currency: r.Currency}
	// PostgreSQL text cannot hold NUL; decoded JSON is UTF-8 already.
	if strings.ContainsRune(r.CustomerID, 0) {
		invalid.Add("customerId", "must not contain NUL characters")
	}
	for i, it := range r.Items {
		if it == nil {
			invalid.Add(fmt.Sprintf("items[%d]", i), "must be an object")
			in.Items = append(in.Items, order.Item{SKU: "-", Quantity: 1})
			continue
		}
		item := order.Item{Quantity: 1}
		if it.SKU != nil {
			item.SKU = *it.SKU
			if strings.ContainsRune(item.SKU, 0) {
				invalid.Add(fmt.Sprintf("items[%d].sku", i), "must not contain NUL characters")
			}
		}
		if it.Quantity != nil {
			item.Quantity = *it.Quantity
		} else {
			invalid.Add(fmt.Sprintf("items[%d].quantity", i), "is required")
		}
		if it.UnitPriceCents != nil {
			item.UnitPriceCents = *it.UnitPriceCents
		} else {
			invalid.Add(fmt.Sprintf("items[%d].unitPriceCents", i), "is required")
		}
		in.Items = append(in.Items, item)
	}
	return in
}

// idempotencyKey returns the request's key, or "" when it has none or the
// key is unusable (then added to invalid with the reason).
func idempotencyKey(h http.Header, invalid *validation.Error) string {
	values := h.Values(HeaderIdempotencyKey)
	switch {
	case len(values) == 0:
		return ""
	case len(values) > 1:
		invalid.Add(HeaderIdempotencyKey, "must be given once")
		return ""
	}
	key := values[0]
	if key == "" || len(key) > maxIdempotencyKeyLen {
		invalid.Add(HeaderIdempotencyKey, fmt.Sprintf("must be 1 to %d characters", maxIdempotencyKeyLen))
		return ""
	}
	for i := range len(key) {
		if key[i] < 0x21 || key[i] > 0x7e {
			invalid.Add(HeaderIdempotencyKey, "must be printable ASCII without spaces")
			return ""
		}
	}
	return key
}

func (a *api) get(c echo.Context) error {
	s, err := a.store.Get(c.Request().Context(), c.Param("id"))
	if err != nil {
		return httpError(err)
	}
	tracing.SetOrderID(c.Request().Context(), s.ID)
	return c.JSON(http.StatusOK, toResponse(s))
}

func (a *api) list(c echo.Context) error {
	f := order.Filter{CustomerID: c.QueryParam("customerId"), Limit: DefaultListLimit}
	var invalid validation.Error
	if v := c.QueryParam("status"); v != "" {
		st, ok := order.ParseStatus(v)
		if !ok {
			invalid.Add("status", "must be PENDING, CONFIRMED or CANCELLED")
		}
		f.Status = st
	}
	if v := c.QueryParam("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			e := httpserver.NewError(http.StatusBadRequest, "wrong_type", "query parameter limit must be an integer")
			e.Details = []validation.FieldError{{Field: "limit", Message: "must be an integer"}}
			return e
		}
		if n < 1 || n > MaxListLimit {
			invalid.Add("limit", fmt.Sprintf("must be between 1 and %d", MaxListLimit))
		}
		f.Limit = n
	}
	if err := invalid.Err(); err != nil {
		return err
	}
	list, err := a.store.List(c.Request().Context(), f)
	if err != nil {
		return err
	}
	out := listResponse{Orders: make([]orderResponse, len(list))}
	for i, s := range list {
		out.Orders[i] = toResponse(s)
	}
	return c.JSON(http.StatusOK, out)
}

// httpError turns the order's sentinel errors into HTTP errors; anything
// else stays as it is for the shared error handler (a *validation.Error
// becomes a 422, the rest a 500).
func httpError(err error) error {
	switch {
	case errors.Is(err, order.ErrNotFound):
		return httpserver.NewError(http.StatusNotFound, "not_found", "order not found")
	case errors.Is(err, order.ErrIdempotencyKeyReused):
		return httpserver.NewError(http.StatusConflict, "idempotency_key_reused",
			"the Idempotency-Key was already used for a different request")
	}
	return err
}
