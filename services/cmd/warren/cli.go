package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
	"os"
	"strings"
)

// resource is one kind of thing the provisioning API keeps, as the CLI
// sees it: `warren <name> create|list|delete`.
type resource struct {
	name    string   // the collection in the API path, and the command
	keys    []string // positional arguments naming one, in path order
	columns []string // table output of list
	create  string   // the verb that makes one: "create", or "set" (PUT) for permissions
	// body registers the create flags and returns the request body they make
	// together with the keys given.
	body func(fs *flag.FlagSet) func(keys []string) map[string]any
}

var resources = map[string]resource{
	"instances": {keys: []string{"name"}, columns: []string{"name", "status", "endpoint", "create_time"}, create: "create",
		body: func(*flag.FlagSet) func([]string) map[string]any {
			return func(k []string) map[string]any { return map[string]any{"name": k[0]} }
		}},
	"vhosts": {keys: []string{"name"}, columns: []string{"name", "description", "tags"}, create: "create",
		body: func(fs *flag.FlagSet) func([]string) map[string]any {
			desc := fs.String("description", "", "the vhost's description")
			return func(k []string) map[string]any { return map[string]any{"name": k[0], "description": *desc} }
		}},
	"users": {keys: []string{"name"}, columns: []string{"name", "tags"}, create: "create",
		body: func(fs *flag.FlagSet) func([]string) map[string]any {
			pw := fs.String("password", "", "the user's password")
			tags := fs.String("tags", "", "comma-separated tags, e.g. administrator")
			return func(k []string) map[string]any {
				return map[string]any{"name": k[0], "password": *pw, "tags": splitList(*tags)}
			}
		}},
	"permissions": {keys: []string{"vhost", "user"}, columns: []string{"vhost", "user", "configure", "write", "read"}, create: "set",
		body: func(fs *flag.FlagSet) func([]string) map[string]any {
			c := fs.String("configure", ".*", "configure permission (regular expression)")
			w := fs.String("write", ".*", "write permission (regular expression)")
			r := fs.String("read", ".*", "read permission (regular expression)")
			return func([]string) map[string]any { return map[string]any{"configure": *c, "write": *w, "read": *r} }
		}},
	"queues": {keys: []string{"vhost", "name"}, columns: []string{"vhost", "name", "durable", "stats.messages_ready", "stats.messages_unacknowledged", "stats.consumers"}, create: "create",
		body: func(fs *flag.FlagSet) func([]string) map[string]any {
			durable := fs.Bool("durable", true, "survive a restart")
			return func(k []string) map[string]any {
				return map[string]any{"vhost": k[0], "name": k[1], "durable": *durable}
			}
		}},
	"exchanges": {keys: []string{"vhost", "name"}, columns: []string{"vhost", "name", "type", "durable", "internal"}, create: "create",
		body: func(fs *flag.FlagSet) func([]string) map[string]any {
			typ := fs.String("type", "direct", "direct, fanout, topic or headers")
			durable := fs.Bool("durable", true, "survive a restart")
			return func(k []string) map[string]any {
				return map[string]any{"vhost": k[0], "name": k[1], "type": *typ, "durable": *durable}
			}
		}},
}

// cliOptions are the flags every API command takes.
type cliOptions struct {
	api, token, tokenFile, instance, output string
}

func (o *cliOptions) register(fs *flag.FlagSet) {
	fs.StringVar(&o.api, "api", envOr("WARREN_API", "http://127.0.0.1:15672"), "provisioning API base URL ($WARREN_API)")
	fs.StringVar(&o.token, "token", os.Getenv("WARREN_API_TOKEN"), "bearer token ($WARREN_API_TOKEN)")
	fs.StringVar(&o.tokenFile, "token-file", "", "read the bearer token from this file (e.g. <data-dir>/api-admin-token)")
	fs.StringVar(&o.instance, "instance", "default", "the instance to work in")
	fs.StringVar(&o.output, "output", "table", "table or json")
}

// client checks the options and returns a client for them.
func (o *cliOptions) client() (*apiClient, error) {
	if o.output != "table" && o.output != "json" {
		return nil, fmt.Errorf("--output %q: want table or json", o.output)
	}
	token := o.token
	if o.tokenFile != "" {
		b, err := os.ReadFile(o.tokenFile)
		if err != nil {
			return nil, err
		}
		token = strings.TrimSpace(string(b))
	}
	return newAPIClient(o.api, token), nil
}

// cliCommand runs `warren <kind> <verb> [args] [flags]` for a resource kind
// or "definitions"; it prints the API's error and returns 1 on a refusal,
// 2 on a usage error.
func cliCommand(kind string, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprintf(stderr, "usage: warren %s <verb> [args] [flags]\n", kind)
		return 2
	}
	verb := args[0]
	fs := flag.NewFlagSet(kind+" "+verb, flag.ContinueOnError)
	fs.SetOutput(stderr)
	var o cliOptions
	o.register(fs)
	run, err := prepare(kind, verb, fs)
	if err != nil {
		fmt.Fprintln(stderr, "warren:", err)
		return 2
	}
	pos, err := parseInterspersed(fs, args[1:])
	if err != nil {
		return 2
	}
	c, err := o.client()
	if err != nil {
		fmt.Fprintln(stderr, "warren:", err)
		return 2
	}
	if err := run(c, &o, pos, stdout); err != nil {
		fmt.Fprintln(stderr, "warren:", err)
		var usage usageError
		if errors.As(err, &usage) {
			return 2
		}
		return 1
	}
	return 0
}

type usageError string

func (e usageError) Error() string { return string(e) }

// runFunc does a parsed command: the positional arguments are given.
type runFunc func(c *apiClient, o *cliOptions, args []string, stdout io.Writer) error

// prepare registers the verb's own flags on fs and returns what runs it.
func prepare(kind, verb string, fs *flag.FlagSet) (runFunc, error) {
	if kind == "definitions" {
		return definitionsVerb(verb)
	}
	r := resources[kind]
	r.name = kind
	switch verb {
	case "list":
		return r.list, nil
	case "delete":
		return r.delete, nil
	case r.create:
		body := r.body(fs)
		return func(c *apiClient, o *cliOptions, args []string, stdout io.Writer) error {
			if len(args) != len(r.keys) {
				return usageError(fmt.Sprintf("%s %s takes %s", kind, verb, strings.Join(r.keys, " ")))
			}
			return r.write(c, o, args, body(args), stdout)
		}, nil
	}
	return nil, fmt.Errorf("%s: unknown verb %q (want %s, list or delete)", kind, verb, r.create)
}

// collection is the API path of the resource's list.
func (r resource) collection(o *cliOptions) string {
	if r.name == "instances" {
		return "/v1/instances"
	}
	return "/v1/instances/" + url.PathEscape(o.instance) + "/" + r.name
}

// item is the API path of the one the keys name; "/" is %2F, as the API wants.
func (r resource) item(o *cliOptions, keys []string) string {
	p := r.collection(o)
	for _, k := range keys {
		p += "/" + url.PathEscape(k)
	}
	return p
}

func (r resource) list(c *apiClient, o *cliOptions, args []string, stdout io.Writer) error {
	if len(args) != 0 {
		return usageError(r.name + " list takes no arguments")
	}
	reply, err := c.do("GET", r.collection(o), nil)
	if err != nil {
		return err
	}
	if o.output == "json" {
		return writeJSON(stdout, reply)
	}
	var page map[string][]map[string]any
	if err := json.Unmarshal(reply, &page); err != nil {
		return fmt.Errorf("decode %s: %w", r.name, err)
	}
	return writeTable(stdout, r.columns, page[r.name])
}

// write creates (POST) or, for permissions, sets (PUT) one, and prints it.
func (r resource) write(c *apiClient, o *cliOptions, keys []string, body map[string]any, stdout io.Writer) error {
	b, err := json.Marshal(body)
	if err != nil {
		return err
	}
	method, path := "POST", r.collection(o)
	if r.create == "set" {
		method, path = "PUT", r.item(o, keys)
	}
	reply, err := c.do(method, path, b)
	if err != nil {
		return err
	}
	if o.output == "json" {
		return writeJSON(stdout, reply)
	}
	var row map[string]any
	if err := json.Unmarshal(reply, &row); err != nil {
		return fmt.Errorf("decode the created %s: %w", r.name, err)
	}
	return writeTable(stdout, r.columns, []map[string]any{row})
}

func (r resource) delete(c *apiClient, o *cliOptions, keys []string, stdout io.Writer) error {
	if len(keys) != len(r.keys) {
		return usageError(fmt.Sprintf("%s delete takes %s", r.name, strings.Join(r.keys, " ")))
	}
	reply, err := c.do("DELETE", r.item(o, keys), nil)
	if err != nil || o.output != "json" {
		return err
	}
	return writeJSON(stdout, reply)
}

// definitionsVerb is `definitions export` (printed as JSON whatever
// --output says: it is a file to keep) or `definitions import FILE`.
func definitionsVerb(verb string) (runFunc, error) {
	path := func(o *cliOptions) string { return "/v1/instances/" + url.PathEscape(o.instance) + "/definitions" }
	switch verb {
	case "export":
		return func(c *apiClient, o *cliOptions, args []string, stdout io.Writer) error {
			if len(args) != 0 {
				return usageError("definitions export takes no arguments")
			}
			reply, err := c.do("GET", path(o), nil)
			if err != nil {
				return err
			}
			return writeJSON(stdout, reply)
		}, nil
	case "import":
		return func(c *apiClient, o *cliOptions, args []string, stdout io.Writer) error {
			if len(args) != 1 {
				return usageError("definitions import takes FILE")
			}
			b, err := os.ReadFile(args[0])
			if err != nil {
				return err
			}
			_, err = c.do("POST", path(o), b)
			return err
		}, nil
	}
	return nil, fmt.Errorf("definitions: unknown verb %q (want export or import)", verb)
}

// writeJSON prints the API's JSON reply as it came, indented.
func writeJSON(w io.Writer, reply []byte) error {
	var buf bytes.Buffer
	if err := json.Indent(&buf, reply, "", "  "); err != nil {
		return fmt.Errorf("decode reply: %w", err)
	}
	buf.WriteByte('\n')
	_, err := buf.WriteTo(w)
	return err
}

// parseInterspersed parses flags given before, between and after the
// positional arguments, which it returns; after "--" all are positional, so
// a name may start with "-".
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for len(args) > 0 {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		rest := fs.Args()
		if len(rest) < len(args) && args[len(args)-len(rest)-1] == "--" {
			return append(pos, rest...), nil
		}
		if len(rest) > 0 {
			pos, rest = append(pos, rest[0]), rest[1:]
		}
		args = rest
	}
	return pos, nil
}

func splitList(s string) []string {
	list := []string{}
	for _, x := range strings.Split(s, ",") {
		if x = strings.TrimSpace(x); x != "" {
			list = append(list, x)
		}
	}
	return list
}

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}
