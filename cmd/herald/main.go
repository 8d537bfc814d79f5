// Command herald is Herald's single binary. It only hands its arguments to the
// daemon package.
package main

import (
	"context"
	"os"
	_ "time/tzdata" // IANA time zones on machines without them

	"github.com/herald-oss/herald/daemon"
)

func main() {
	os.Exit(daemon.Main(context.Background(), os.Args[1:], os.Stdout, os.Stderr, os.Environ()))
}
