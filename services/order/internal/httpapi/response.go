package httpapi

import (
	"time"

	"github.com/outboxcdc/outboxcdc/services/order/internal/order"
)

type itemResponse struct {
	SKU            string `json:"sku"`
	Quantity       int    `json:"quantity"`
	UnitPriceCents int64  `json:"unitPriceCents"`
}

type historyResponse struct {
	Status    string    `json:"status"`
	EventType string    `json:"eventType"`
	EventID   string    `json:"eventId"`
	At        time.Time `json:"at"`
}

type orderResponse struct {
	ID                 string            `json:"id"`
	CustomerID         string            `json:"customerId"`
	Currency           string            `json:"currency"`
	Status             string            `json:"status"`
	TotalCents         int64             `json:"totalCents"`
	CancellationReason *string           `json:"cancellationReason"`
	PaymentCaptured    bool              `json:"paymentCaptured"`
	InventoryReserved  bool              `json:"inventoryReserved"`
	Items              []itemResponse    `json:"items"`
	CreatedAt          time.Time         `json:"createdAt"`
	UpdatedAt          time.Time         `json:"updatedAt"`
	History            []historyResponse `json:"history"`
}

type listResponse struct {
	Orders []orderResponse `json:"orders"`
}

func toResponse(s order.Snapshot) orderResponse {
	r := orderResponse{
		ID:                s.ID,
		CustomerID:        s.CustomerID,
		Currency:          s.Currency,
		Status:            string(s.Status),
		TotalCents:        s.TotalCents,
		PaymentCaptured:   s.PaymentCaptured,
		InventoryReserved: s.InventoryReserved,
		Items:             make([]itemResponse, len(s.Items)),
		CreatedAt:         s.CreatedAt,
		UpdatedAt:         s.UpdatedAt,
		History:           make([]historyResponse, len(s.History)),
	}
	if s.CancellationReason != "" {
		reason := s.CancellationReason
		r.CancellationReason = &reason
	}
	for i, it := range s.Items {
		r.Items[i] = itemResponse(it)
	}
	for i, h := range s.History {
		r.History[i] = historyResponse{Status: string(h.Status), EventType: h.EventType, EventID: h.EventID.String(), At: h.At}
	}
	return r
}
