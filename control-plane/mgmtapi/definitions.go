package mgmtapi

import (
	"io"
	"net/http"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/types/known/structpb"

	pb "github.com/warrenmq/warren/api/provisionpb"
)

// exportDefinitions is GET /api/definitions: the caller's instance.
func (a *API) exportDefinitions(w http.ResponseWriter, _ *http.Request, c *caller) error {
	defs, err := a.svc.ExportDefinitions(c.ctx, &pb.ExportDefinitionsRequest{Instance: c.inst})
	if err != nil {
		return err
	}
	b, err := protojson.Marshal(defs)
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(b)
	return nil
}

// importDefinitions is POST /api/definitions: all of the file or nothing,
// as the provisioning API's import.
func (a *API) importDefinitions(w http.ResponseWriter, r *http.Request, c *caller) error {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return badRequest(err.Error())
	}
	var defs structpb.Struct
	if err := protojson.Unmarshal(body, &defs); err != nil {
		return badRequest("not_json")
	}
	if _, err := a.svc.ImportDefinitions(c.ctx, &pb.ImportDefinitionsRequest{Instance: c.inst, Definitions: &defs}); err != nil {
		return err
	}
	noContent(w)
	return nil
}
