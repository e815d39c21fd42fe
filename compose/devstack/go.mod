module github.com/outboxcdc/outboxcdc/compose/devstack

go 1.26.0

replace github.com/outboxcdc/outboxcdc/libs => ../../libs

replace github.com/outboxcdc/outboxcdc/connectors/walrelay => ../../connectors/walrelay

replace github.com/outboxcdc/outboxcdc/services/order => ../../services/order

replace github.com/outboxcdc/outboxcdc/services/payment => ../../services/payment

replace github.com/outboxcdc/outboxcdc/services/inventory => ../../services/inventory

replace github.com/outboxcdc/outboxcdc/schemas => ../../schemas

require (
	github.com/outboxcdc/outboxcdc/libs v0.0.0-00010101000000-000000000000
	github.com/twmb/franz-go v1.22.2
	github.com/twmb/franz-go/pkg/kadm v1.19.0
)

require (
	github.com/klauspost/compress v1.20.3 // indirect
	github.com/pierrec/lz4/v4 v4.1.33 // indirect
	github.com/twmb/franz-go/pkg/kfake v0.0.0-20260918054303-01f206a7e32c // indirect
	github.com/twmb/franz-go/pkg/kmsg v1.15.0 // indirect
)
