module github.com/outboxcdc/outboxcdc/compose/devstack

go 1.26

replace github.com/outboxcdc/outboxcdc/libs => ../../libs

replace github.com/outboxcdc/outboxcdc/connectors/walrelay => ../../connectors/walrelay

replace github.com/outboxcdc/outboxcdc/services/order => ../../services/order

replace github.com/outboxcdc/outboxcdc/services/payment => ../../services/payment

replace github.com/outboxcdc/outboxcdc/services/inventory => ../../services/inventory

replace github.com/outboxcdc/outboxcdc/schemas => ../../schemas
