package redact_test

import (
	"fmt"

	"github.com/lightdash-sync/lightdash-sync/internal/redact"
)

func ExampleURL() {
	fmt.Println(redact.URL("nats://sync:s3cret@nats.example.com:4222"))
	fmt.Println(redact.URL("nats://t0ken@nats.example.com:4222"))
	// Output:
	// nats://sync:xxxxx@nats.example.com:4222
	// nats://xxxxx@nats.example.com:4222
}
