package httpapi

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/outboxcdc/outboxcdc/libs/httpserver"
	"github.com/outboxcdc/outboxcdc/libs/validation"
	"github.com/outboxcdc/outboxcdc/services/payment/internal/payment"
)

// Store is what the API reads and writes.
type Store interface {
	PutAccount(ctx context.Context, a *payment.Account) (*payment.Account, error)
	Account(ctx context.Context, customerID string) (*payment.Account, error)
	PaymentsByOrder(ctx context.Context, orderID string) ([]*payment.Payment, error)
}

// Register routes the API on e, which the caller built with httpserver.New.
func Register(e *echo.Echo, store Store, log *slog.Logger) {
	h := handlers{store: store, log: log, now: time.Now}
	e.PUT("/accounts/:customerId", h.putAccount)
	e.GET("/accounts/:customerId", h.getAccount)
	e.GET("/payments", h.listPayments)
}

type handlers struct {
	store Store
	log   *slog.Logger
	now   func() time.Time
}

type accountJSON struct {
	CustomerID   string    `json:"customerId"`
	Currency     string    `json:"currency"`
	BalanceCents int64     `json:"balanceCents"`
	CreatedAt    time.Time `json:"createdAt"`
	UpdatedAt    time.Time `json:"updatedAt"`
}

func toAccountJSON(a *payment.Account) accountJSON {
	return accountJSON{CustomerID: a.CustomerID, Currency: a.Currency, BalanceCents: a.BalanceCents, CreatedAt: a.CreatedAt, UpdatedAt: a.UpdatedAt}
}

type putAccountRequest struct {
	BalanceCents *int64 `json:"balanceCents"`
	// Currency is optional: payment.DefaultCurrency when absent.
	Currency string `json:"currency"`
}

func (h handlers) putAccount(c echo.Context) error {
	var req putAccountRequest
	if err := httpserver.DecodeJSON(c, &req); err != nil {
		return err
	}
	if req.BalanceCents == nil {
		return validation.Field("balanceCents", "is required")
	}
	a, err := payment.NewAccount(c.Param("customerId"), req.Currency, *req.BalanceCents, h.now())
	if err != nil {
		return httpError(err)
	}
	ctx := c.Request().Context()
	stored, err := h.store.PutAccount(ctx, a)
	if err != nil {
		return httpError(err)
	}
	h.log.InfoContext(ctx, "account set", "customer_id", stored.CustomerID, "balance_cents", stored.BalanceCents)
	return c.JSON(http.StatusOK, toAccountJSON(stored))
}

func (h handlers) getAccount(c echo.Context) error {
	a, err := h.store.Account(c.Request().Context(), c.Param("customerId"))
	if err != nil {
		return httpError(err)
	}
	return c.JSON(http.StatusOK, toAccountJSON(a))
}

type paymentJSON struct {
	ID          string    `json:"id"`
	OrderID     string    `json:"orderId"`
	CustomerID  string    `json:"customerId"`
	AmountCents int64     `json:"amountCents"`
	Currency    string    `json:"currency"`
	Status      string    `json:"status"`
	Reason      string    `json:"reason,omitempty"`
	CreatedAt   time.Time `json:"createdAt"`
	UpdatedAt   time.Time `json:"updatedAt"`
}

type paymentsResponse struct {
	Payments []paymentJSON `json:"payments"`
}

func (h handlers) listPayments(c echo.Context) error {
	orderID := c.QueryParam("orderId")
	switch {
	case orderID == "":
		return validation.Field("orderId", "query parameter is required")
	case !httpserver.IsCanonicalUUID(orderID):
		return validation.Field("orderId", "must be a UUID")
	}
	ps, err := h.store.PaymentsByOrder(c.Request().Context(), orderID)
	if err != nil {
		return httpError(err)
	}
	out := paymentsResponse{Payments: make([]paymentJSON, len(ps))}
	for i, p := range ps {
		out.Payments[i] = paymentJSON{
			ID: p.ID, OrderID: p.OrderID, CustomerID: p.CustomerID, AmountCents: p.AmountCents,
			Currency: p.Currency, Status: string(p.Status), Reason: p.Reason, CreatedAt: p.CreatedAt, UpdatedAt: p.UpdatedAt,
		}
	}
	return c.JSON(http.StatusOK, out)
}

// httpError maps payment.ErrNotFound to a 404; anything else stays as it
// is for the shared error handler (a *validation.Error becomes a 422, the
// rest a 500).
func httpError(err error) error {
	if errors.Is(err, payment.ErrNotFound) {
		return httpserver.NewError(http.StatusNotFound, "not_found", "account not found")
	}
	return err
}
