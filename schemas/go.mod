module github.com/outboxcdc/outboxcdc/schemas

go 1.26
