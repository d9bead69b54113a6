package main

import (
	"flag"
	"os"

	"github.com/warrenmq/warren/services/provisioning"
)

// apiFlags registers the provisioning API's flags on the commands that run
// the control plane (`serve`, `control-plane`): --admin-token and
// --amqp-endpoint. The function it returns, called once fs is parsed, gives
// the admin token: the flag, else $WARREN_ADMIN_TOKEN (which keeps it out
// of process listings), else "" for the one kept in the data folder.
func apiFlags(fs *flag.FlagSet, endpoint *string, endpointDefault string) func() string {
	token := fs.String("admin-token", "", "the provisioning API's admin bearer token (default $"+
		provisioning.AdminTokenEnv+", else one generated into the data folder)")
	fs.StringVar(endpoint, "amqp-endpoint", endpointDefault, "the AMQP URL the provisioning API reports for each instance")
	return func() string {
		if *token != "" {
			return *token
		}
		return os.Getenv(provisioning.AdminTokenEnv)
	}
}
