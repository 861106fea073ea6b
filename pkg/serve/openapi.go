package serve

import (
	_ "embed"
	"net/http"
)

//go:embed docs/index.html
var docsPage []byte

func handleDocs(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Security-Policy", "default-src 'self'; style-src 'unsafe-inline'; script-src 'unsafe-inline'")
	_, _ = w.Write(docsPage)
}

func (s *Server) handleOpenAPI(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, s.OpenAPI())
}

type obj = map[string]any

// OpenAPI returns the OpenAPI 3.1 description of every endpoint, with the
// served model's features as the request schemas.
func (s *Server) OpenAPI() map[string]any {
	_, m := s.def.first()
	props := obj{}
	var required []string
	var example = obj{}
	if m != nil {
		for j, f := range m.Artifact.Header.Features {
			p := obj{"type": "number"}
			if lo := m.Schema.Lo[j]; lo > -1e308 {
				p["minimum"] = lo
			}
			if hi := m.Schema.Hi[j]; hi < 1e308 {
				p["maximum"] = hi
			}
			if j < len(m.Artifact.Header.Training) {
				example[f] = m.Artifact.Header.Training[j].Mean
			}
			if labels := m.Schema.Labels; labels != nil && labels[j] != nil {
				p = obj{"type": "string", "enum": labels[j]}
				example[f] = labels[j][0]
			}
			if m.Schema.Nullable[j] {
				p = obj{"anyOf": []obj{p, {"type": "null"}}}
			} else {
				required = append(required, f)
			}
			props[f] = p
		}
	}
	ref := func(name string) obj { return obj{"$ref": "#/components/schemas/" + name} }
	jsonBody := func(schema obj) obj {
		return obj{"required": true, "content": obj{"application/json": obj{"schema": schema}}}
	}
	resp := func(desc string, schema obj) obj {
		return obj{"description": desc, "content": obj{"application/json": obj{"schema": schema}}}
	}
	errs := obj{
		"400": resp("Malformed JSON or body", ref("Error")),
		"401": resp("Missing or invalid API key", ref("Error")),
		"413": resp("Body or batch over the limit", ref("Error")),
		"415": resp("Wrong Content-Type", ref("Error")),
		"422": resp("Invalid features: every offending field is listed", ref("ValidationError")),
		"429": obj{"description": "Rate limit exceeded, or too many failed authentications from this address; see Retry-After", "headers": obj{"Retry-After": obj{"schema": obj{"type": "integer"}}}},
		"503": resp("No model loaded, or no share of serve.body_budget for a large body in time", ref("Error")),
	}
	// The MLflow and OIP routes answer errors in their protocol's shape,
	// and never 422.
	mlflowErrs, oipErrs := obj{}, obj{}
	for code, v := range errs {
		switch code {
		case "422":
		case "415":
			mlflowErrs[code] = obj{"description": "Wrong Content-Type (MLflow's text)", "content": obj{"text/plain": obj{"schema": obj{"type": "string"}}}}
			oipErrs[code] = resp("Wrong Content-Type", ref("OIPError"))
		case "429":
			mlflowErrs[code], oipErrs[code] = v, v
		default:
			d := v.(obj)["description"].(string)
			mlflowErrs[code], oipErrs[code] = resp(d, ref("MLflowError")), resp(d, ref("OIPError"))
		}
	}
	mlflowErrs["400"] = resp("Invalid input, with MLflow's error_code and message (each problem listed in detail)", ref("MLflowError"))
	oipErrs["400"] = resp("Invalid inference request", ref("OIPError"))
	oipErrs["404"] = resp("Model or version not served", ref("OIPError"))
	with := func(ok obj, errs obj) obj {
		out := obj{"200": ok}
		for k, v := range errs {
			out[k] = v
		}
		return out
	}
	get := func(summary string, schema obj) obj {
		return obj{"get": obj{"summary": summary, "responses": obj{"200": resp("OK", schema)}}}
	}
	secured := []obj{{"bearer": []string{}}, {"apiKey": []string{}}}
	if len(s.keys) == 0 {
		secured = []obj{}
	}
	metricsSecured := secured
	if s.o.MetricsPublic {
		metricsSecured = []obj{}
	}
	nameParam := obj{"name": "name", "in": "path", "required": true, "schema": obj{"type": "string"}}
	namedErrs := obj{"404": resp("No model of that name is served here", ref("Error"))}
	for k, v := range errs {
		namedErrs[k] = v
	}
	unitParam := obj{"name": "X-Housectl-Unit", "in": "header", "required": false, "schema": obj{"type": "string"},
		"description": "A unit key (a user, a session): a split sends the same unit to the same variant"}
	servedHeaders := obj{"X-Housectl-Version": obj{"description": "The version that served the request", "schema": obj{"type": "string"}},
		"X-Housectl-Variant": obj{"description": "The variant (alias) that served it, when the model is split or shadowed", "schema": obj{"type": "string"}}}
	post := func(summary string, body obj, ok obj, errs obj, params ...obj) obj {
		r := resp("Predictions", ok)
		r["headers"] = servedHeaders
		return obj{"post": obj{"summary": summary, "requestBody": body, "responses": with(r, errs), "security": secured, "parameters": append([]obj{unitParam}, params...)}}
	}
	versionParam := obj{"name": "version", "in": "path", "required": true, "schema": obj{"type": "string"}}
	oipGet := func(summary string, params []obj, ok obj) obj {
		return obj{"get": obj{"summary": summary, "security": secured, "parameters": params,
			"responses": obj{"200": resp("OK", ok), "401": oipErrs["401"], "404": oipErrs["404"], "429": oipErrs["429"], "503": oipErrs["503"]}}}
	}
	oipInfer := func(params []obj) obj {
		return obj{"post": obj{"summary": "Open Inference Protocol (KServe v2) inference", "security": secured, "parameters": params,
			"requestBody": obj{"required": true, "content": obj{"application/json": obj{"schema": ref("InferRequest")}}},
			"responses":   with(resp("Inference response", ref("InferResponse")), oipErrs)}}
	}
	return obj{
		"openapi": "3.1.0",
		"info": obj{"title": "housectl prediction server", "version": s.o.Version,
			"description": "Predictions from the served model (" + s.o.URI + "). Every prediction is logged; metrics at /metrics."},
		"paths": obj{
			"/predict":       post("Predict one row", jsonBody(ref("Features")), ref("Prediction"), errs),
			"/predict/batch": post("Predict many rows", jsonBody(obj{"oneOf": []obj{{"type": "object", "properties": obj{"instances": obj{"type": "array", "items": ref("Features")}}, "required": []string{"instances"}}, {"type": "array", "items": ref("Features")}}}), ref("Predictions"), errs),
			"/invocations": post("MLflow scoring protocol (dataframe_split, dataframe_records, instances, inputs, or CSV), as MLflow's server answers it",
				obj{"required": true, "content": obj{"application/json": obj{"schema": obj{"type": "object"}}, "text/csv": obj{"schema": obj{"type": "string"}}}},
				obj{"type": "object", "properties": obj{"predictions": obj{"type": "array", "items": obj{"type": "number"}}}}, mlflowErrs),
			"/models/{name}/predict": post("Predict one row with the served model of that name", jsonBody(obj{"type": "object", "description": "the named model's features"}), ref("Prediction"), namedErrs, nameParam),
			"/models/{name}/predict/batch": post("Predict many rows with the served model of that name",
				jsonBody(obj{"oneOf": []obj{{"type": "object", "properties": obj{"instances": obj{"type": "array", "items": obj{"type": "object"}}}, "required": []string{"instances"}}, {"type": "array", "items": obj{"type": "object"}}}}), ref("Predictions"), namedErrs, nameParam),
			"/models": obj{"get": obj{"summary": "The served models: each one's variants (version, share of a split, loaded or why not) and shadow", "security": secured,
				"responses": obj{"200": resp("Models", ref("Models")), "401": errs["401"], "429": errs["429"]}}},
			"/models/{name}": obj{"get": obj{"summary": "One served model, as /model describes the default", "security": secured, "parameters": []obj{nameParam},
				"responses": obj{"200": resp("Model", obj{"type": "object"}), "401": errs["401"], "404": resp("Not served here", ref("Error")), "429": errs["429"], "503": errs["503"]}}},
			"/admin/split": obj{"put": obj{"summary": "New weights for a split, without a restart (housectl serve split)", "security": secured,
				"requestBody": jsonBody(obj{"type": "object", "required": []string{"weights"}, "properties": obj{"model": obj{"type": "string"},
					"weights": obj{"type": "object", "additionalProperties": obj{"type": "number", "minimum": 0}}}}),
				"responses": obj{"200": resp("The served models with their new shares", ref("Models")), "400": errs["400"], "401": errs["401"], "422": resp("Weights that do not fit the split", ref("Error")), "429": errs["429"]}}},
			"/v2/models/{name}/infer":                    oipInfer([]obj{nameParam}),
			"/v2/models/{name}/versions/{version}/infer": oipInfer([]obj{nameParam, versionParam}),
			"/v2/models/{name}":                          oipGet("OIP model metadata", []obj{nameParam}, ref("ModelMetadata")),
			"/v2/models/{name}/versions/{version}":       oipGet("OIP model metadata of a version", []obj{nameParam, versionParam}, ref("ModelMetadata")),
			"/v2/models/{name}/ready":                    oipGet("OIP model readiness", []obj{nameParam}, ref("ModelReady")),
			"/v2/models/{name}/versions/{version}/ready": oipGet("OIP model readiness of a version", []obj{nameParam, versionParam}, ref("ModelReady")),
			"/v2/health/live":                            obj{"get": obj{"summary": "OIP liveness", "responses": obj{"200": obj{"description": "Live"}}}},
			"/v2/health/ready":                           obj{"get": obj{"summary": "OIP readiness", "responses": obj{"200": obj{"description": "Ready"}, "503": obj{"description": "No model"}}}},
			"/feedback": obj{"post": obj{"summary": "Actual values of logged predictions (request_id, row, actual), for live accuracy", "security": secured,
				"requestBody": jsonBody(obj{"oneOf": []obj{ref("Feedback"), {"type": "object", "properties": obj{"feedback": obj{"type": "array", "items": ref("Feedback")}}}}}),
				"responses": obj{"202": resp("Accepted: how many items, and how many matched a logged prediction", obj{"type": "object", "properties": obj{"accepted": obj{"type": "integer"}, "matched": obj{"type": "integer"}}}),
					"400": errs["400"], "401": errs["401"], "413": errs["413"], "415": errs["415"], "422": errs["422"], "429": errs["429"], "503": errs["503"]}}},
			"/health": get("Liveness", obj{"type": "object", "properties": obj{"status": obj{"type": "string"}}}),
			"/ready":  get("Readiness: a model is loaded", obj{"type": "object"}),
			"/model":  obj{"get": obj{"summary": "The served model: name, version, run, lineage, feature schema", "security": secured, "responses": obj{"200": resp("Model", obj{"type": "object"})}}},
			"/metrics": obj{"get": obj{"summary": "Prometheus metrics (with API keys: an API key or the scrape-only key, unless serve.metrics_auth is public)", "security": metricsSecured,
				"responses": obj{"200": obj{"description": "Text exposition format", "content": obj{"text/plain": obj{"schema": obj{"type": "string"}}}}, "401": errs["401"], "429": errs["429"]}}},
			"/openapi.json": get("This document", obj{"type": "object"}),
			"/docs":         obj{"get": obj{"summary": "A page that renders this document", "responses": obj{"200": obj{"description": "HTML", "content": obj{"text/html": obj{"schema": obj{"type": "string"}}}}}}},
		},
		"components": obj{
			"securitySchemes": obj{"bearer": obj{"type": "http", "scheme": "bearer"}, "apiKey": obj{"type": "apiKey", "in": "header", "name": "X-API-Key"}},
			"schemas": obj{
				"Features":    obj{"type": "object", "properties": props, "required": required, "additionalProperties": false, "examples": []obj{example}},
				"Prediction":  obj{"type": "object", "properties": obj{"prediction": obj{"type": "number"}, "model": obj{"type": "string"}, "version": obj{"type": "string"}, "request_id": obj{"type": "string"}}},
				"Predictions": obj{"type": "object", "properties": obj{"predictions": obj{"type": "array", "items": obj{"type": "number"}}, "model": obj{"type": "string"}, "version": obj{"type": "string"}, "request_id": obj{"type": "string"}}},
				"Error":       obj{"type": "object", "properties": obj{"detail": obj{"type": "string"}, "request_id": obj{"type": "string"}}},
				"MLflowError": obj{"type": "object", "required": []string{"error_code", "message"}, "properties": obj{
					"error_code": obj{"type": "string", "examples": []string{"BAD_REQUEST", "INVALID_PARAMETER_VALUE"}}, "message": obj{"type": "string"},
					"detail": ref("Problems")}},
				"OIPError":      obj{"type": "object", "required": []string{"error"}, "properties": obj{"error": obj{"type": "string"}, "detail": ref("Problems")}},
				"ModelMetadata": obj{"type": "object", "properties": obj{"name": obj{"type": "string"}, "versions": obj{"type": "array", "items": obj{"type": "string"}}, "platform": obj{"type": "string"}, "inputs": obj{"type": "array"}, "outputs": obj{"type": "array"}}},
				"ModelReady":    obj{"type": "object", "properties": obj{"name": obj{"type": "string"}, "ready": obj{"type": "boolean"}}},
				"Models": obj{"type": "object", "properties": obj{"models": obj{"type": "array", "items": obj{"type": "object", "properties": obj{
					"name": obj{"type": "string"}, "default": obj{"type": "boolean"},
					"variants": obj{"type": "array", "items": ref("Variant")}, "shadow": ref("Variant")}}}}},
				"Variant": obj{"type": "object", "properties": obj{"variant": obj{"type": "string"}, "uri": obj{"type": "string"}, "version": obj{"type": "string"},
					"weight": obj{"type": "number"}, "ready": obj{"type": "boolean"}, "error": obj{"type": "string"}}},
				"Problems": obj{"type": "array", "items": obj{"type": "object", "properties": obj{
					"loc": obj{"type": "array", "items": obj{"type": []string{"string", "integer"}}}, "msg": obj{"type": "string"}, "type": obj{"type": "string"}}}},
				"Feedback": obj{"type": "object", "required": []string{"request_id", "actual"}, "properties": obj{
					"request_id": obj{"type": "string"}, "row": obj{"type": "integer", "minimum": 0}, "actual": obj{"type": "number"}}},
				"ValidationError": obj{"type": "object", "properties": obj{
					"detail": obj{"type": "array", "items": obj{"type": "object", "properties": obj{
						"loc": obj{"type": "array", "items": obj{"type": []string{"string", "integer"}}}, "msg": obj{"type": "string"}, "type": obj{"type": "string"}}}},
					"error_count": obj{"type": "integer"}, "request_id": obj{"type": "string"}}},
				"InferRequest": obj{"type": "object", "required": []string{"inputs"}, "properties": obj{"id": obj{"type": "string"},
					"parameters": obj{"type": "object"},
					"inputs":     obj{"type": "array", "items": ref("Tensor")},
					"outputs": obj{"type": "array", "description": "outputs to return; the model has one, prediction", "items": obj{"type": "object", "required": []string{"name"},
						"properties": obj{"name": obj{"type": "string", "enum": []string{oipOutputName}}, "parameters": obj{"type": "object"}}}}}},
				"InferResponse": obj{"type": "object", "properties": obj{"model_name": obj{"type": "string"}, "model_version": obj{"type": "string"},
					"id": obj{"type": "string"}, "outputs": obj{"type": "array", "items": ref("Tensor")}}},
				"Tensor": obj{"type": "object", "required": []string{"name", "shape", "datatype", "data"}, "properties": obj{
					"name": obj{"type": "string"}, "shape": obj{"type": "array", "items": obj{"type": "integer"}},
					"datatype": obj{"type": "string", "examples": []string{"FP64"}}, "data": obj{"type": "array"}}},
			},
		},
	}
}
