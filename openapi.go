package gatehouse

import _ "embed"

// OpenAPI is the OpenAPI 3.1 description of gatehouse's HTTP API, the
// repository's openapi.yaml, embedded here (at the root, beside the file)
// so that the server can serve it at GET /openapi.yaml. web's
// TestOpenAPIMatchesRoutes keeps it in step with the routes and error codes.
//
//go:embed openapi.yaml
var OpenAPI []byte
