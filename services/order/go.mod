module github.com/outboxcdc/outboxcdc/services/order

go 1.26

replace github.com/outboxcdc/outboxcdc/libs => ../../libs

replace github.com/outboxcdc/outboxcdc/schemas => ../../schemas
