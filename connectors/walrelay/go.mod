module github.com/outboxcdc/outboxcdc/connectors/walrelay

go 1.26

replace github.com/outboxcdc/outboxcdc/libs => ../../libs
