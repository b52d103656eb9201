// Command schemagen writes the JSON Schema of lightdash-sync.yaml
// (config.Schema). Run it through go generate in cmd/internal/config.
package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/lightdash-sync/lightdash-sync/cmd/internal/config"
)

func main() {
	out := flag.String("o", "", "file to write (stdout when empty)")
	src := flag.String("src", ".", "directory of the config package's Go files, for descriptions")
	flag.Parse()
	b, err := config.Schema(*src)
	if err != nil {
		fmt.Fprintln(os.Stderr, "schemagen:", err)
		os.Exit(1)
	}
	if *out == "" {
		_, err = os.Stdout.Write(b)
	} else {
		err = os.WriteFile(*out, b, 0o644)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "schemagen:", err)
		os.Exit(1)
	}
}
