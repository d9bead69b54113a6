package provisionpb

import _ "embed"

// OpenAPI is the OpenAPI (Swagger 2.0) document of the Provisioning
// service, generated from the same protos as the code in this package.
//
//go:embed provision.swagger.json
var OpenAPI []byte
