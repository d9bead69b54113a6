package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strings"
	"text/tabwriter"
	"time"
)

// maxReply bounds the body the CLI reads from the API: a definitions
// export of a large instance fits, a runaway reply does not.
const maxReply = 64 << 20

// apiClient calls the provisioning API with one bearer token.
type apiClient struct {
	base  string // http://host:port, without a trailing slash
	token string // sent as "Authorization: Bearer"; none when empty
	http  *http.Client
}

func newAPIClient(base, token string) *apiClient {
	return &apiClient{base: strings.TrimRight(base, "/"), token: token, http: &http.Client{Timeout: time.Minute}}
}

// apiError is the API's {"code", "message"} answer to a refused request,
// with the HTTP status it came with.
type apiError struct {
	Status  int    `json:"-"`
	Code    string `json:"code"`
	Message string `json:"message"`
}

func (e *apiError) Error() string { return fmt.Sprintf("%s (%d): %s", e.Code, e.Status, e.Message) }

// do sends one request with body (raw JSON, or nil for none) and returns the
// reply's body. A status other than 2xx comes back as *apiError; as the API
// promises, such a refused request changed nothing.
func (c *apiClient) do(method, path string, body []byte) ([]byte, error) {
	req, err := http.NewRequest(method, c.base+path, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	reply, err := io.ReadAll(io.LimitReader(resp.Body, maxReply))
	if err != nil {
		return nil, fmt.Errorf("%s %s: read reply: %w", method, path, err)
	}
	if resp.StatusCode/100 != 2 {
		return nil, decodeAPIError(resp.StatusCode, reply)
	}
	return reply, nil
}

// decodeAPIError reads the API's error body; a body that is not one (a proxy's
// page, say) is kept as the message.
func decodeAPIError(status int, body []byte) *apiError {
	e := &apiError{Status: status}
	if json.Unmarshal(body, e) != nil || e.Code == "" {
		e.Code, e.Message = http.StatusText(status), strings.TrimSpace(string(body))
	}
	return e
}

// writeTable prints rows (JSON objects) as aligned columns; a column may name
// a nested field as "stats.messages_ready".
func writeTable(w io.Writer, columns []string, rows []map[string]any) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, strings.ToUpper(strings.Join(columns, "\t")))
	for _, row := range rows {
		cells := make([]string, len(columns))
		for i, col := range columns {
			cells[i] = cell(lookup(row, col))
		}
		fmt.Fprintln(tw, strings.Join(cells, "\t"))
	}
	return tw.Flush()
}

func lookup(row map[string]any, column string) any {
	var v any = row
	for _, part := range strings.Split(column, ".") {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[part]
	}
	return v
}

// cell renders one value: lists joined by commas, objects as sorted
// key=value pairs, nothing as "".
func cell(v any) string {
	switch v := v.(type) {
	case nil:
		return ""
	case string:
		return v
	case []any:
		parts := make([]string, len(v))
		for i, x := range v {
			parts[i] = cell(x)
		}
		return strings.Join(parts, ",")
	case map[string]any:
		parts := make([]string, 0, len(v))
		for k, x := range v {
			parts = append(parts, k+"="+cell(x))
		}
		sort.Strings(parts)
		return strings.Join(parts, ",")
	}
	b, _ := json.Marshal(v)
	return string(b)
}
