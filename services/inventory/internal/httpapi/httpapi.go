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
	"github.com/outboxcdc/outboxcdc/services/inventory/internal/inventory"
)

// Store is what the API reads and writes.
type Store interface {
	PutStock(ctx context.Context, s *inventory.Stock) (*inventory.Stock, error)
	Stock(ctx context.Context, sku string) (*inventory.Stock, error)
	ReservationOf(ctx context.Context, orderID string) (*inventory.Reservation, error)
}

// Register routes the API on e, which the caller built with httpserver.New.
func Register(e *echo.Echo, store Store, log *slog.Logger) {
	h := handlers{store: store, log: log, now: time.Now}
	e.PUT("/stock/:sku", h.putStock)
	e.GET("/stock/:sku", h.getStock)
	e.GET("/reservations", h.listReservations)
}

type handlers struct {
	store Store
	log   *slog.Logger
	now   func() time.Time
}

type stockJSON struct {
	SKU       string `json:"sku"`
	Available int    `json:"available"`
	Reserved  int    `json:"reserved"`
}

type putStockRequest struct {
	Available *int `json:"available"`
}

func (h handlers) putStock(c echo.Context) error {
	var req putStockRequest
	if err := httpserver.DecodeJSON(c, &req); err != nil {
		return err
	}
	if req.Available == nil {
		return validation.Field("available", "is required")
	}
	s, err := inventory.NewStock(c.Param("sku"), *req.Available, h.now())
	if err != nil {
		return httpError(err)
	}
	ctx := c.Request().Context()
	stored, err := h.store.PutStock(ctx, s)
	if err != nil {
		return httpError(err)
	}
	h.log.InfoContext(ctx, "stock set", "sku", stored.SKU, "available", stored.Available, "reserved", stored.Reserved)
	return c.JSON(http.StatusOK, stockJSON{SKU: stored.SKU, Available: stored.Available, Reserved: stored.Reserved})
}

func (h handlers) getStock(c echo.Context) error {
	s, err := h.store.Stock(c.Request().Context(), c.Param("sku"))
	if err != nil {
		return httpError(err)
	}
	return c.JSON(http.StatusOK, stockJSON{SKU: s.SKU, Available: s.Available, Reserved: s.Reserved})
}

type reservationJSON struct {
	OrderID   string    `json:"orderId"`
	SKU       string    `json:"sku"`
	Quantity  int       `json:"quantity"`
	Status    string    `json:"status"`
	CreatedAt time.Time `json:"createdAt"`
	UpdatedAt time.Time `json:"updatedAt"`
}

type reservationsResponse struct {
	Reservations []reservationJSON `json:"reservations"`
}

func (h handlers) listReservations(c echo.Context) error {
	orderID := c.QueryParam("orderId")
	switch {
	case orderID == "":
		return validation.Field("orderId", "query parameter is required")
	case !httpserver.IsCanonicalUUID(orderID):
		return validation.Field("orderId", "must be a UUID")
	}
	out := reservationsResponse{Reservations: []reservationJSON{}}
	r, err := h.store.ReservationOf(c.Request().Context(), orderID)
	switch {
	case errors.Is(err, inventory.ErrNotFound):
	case err != nil:
		return err
	default:
		for _, l := range r.Lines {
			out.Reservations = append(out.Reservations, reservationJSON{
				OrderID: r.OrderID, SKU: l.SKU, Quantity: l.Quantity, Status: string(r.Status), CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt,
			})
		}
	}
	return c.JSON(http.StatusOK, out)
}

// httpError maps inventory.ErrNotFound to a 404; anything else stays as it
// is for the shared error handler (a *validation.Error becomes a 422, the
// rest a 500).
func httpError(err error) error {
	if errors.Is(err, inventory.ErrNotFound) {
		return httpserver.NewError(http.StatusNotFound, "not_found", "sku not found")
	}
	return err
}
