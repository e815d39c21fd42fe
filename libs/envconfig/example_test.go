package envconfig_test

import (
	"fmt"
	"time"

	"github.com/outboxcdc/outboxcdc/libs/envconfig"
)

func Example() {
	env := map[string]string{"HTTP_ADDR": ":8080", "KAFKA_BROKERS": "k1:9092, k2:9092,", "SHUTDOWN_TIMEOUT": "soon"}
	r := envconfig.New(func(k string) string { return env[k] })
	addr := r.HostPort("HTTP_ADDR", "127.0.0.1:8081")
	brokers := r.HostPorts("KAFKA_BROKERS", "127.0.0.1:9092")
	r.Duration("SHUTDOWN_TIMEOUT", 10*time.Second)
	fmt.Println(addr, brokers)
	fmt.Println(r.Err())
	// Output:
	// :8080 [k1:9092 k2:9092]
	// SHUTDOWN_TIMEOUT="soon": must be a positive duration such as 10s
}
