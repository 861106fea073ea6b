package web

// MLflow's proxied artifact API (mlflow-artifacts:/ URIs): the client
// uploads a run's files with PUT, lists a directory and downloads a file
// with GET, all under /api/2.0/mlflow-artifacts/artifacts/<experiment
// id>/<run id>/artifacts/<path>. Uploads are kept in the run's
// artifacts/ with their size and SHA-256.

import (
	"errors"
	"net/http"
	"os"
	"path"
	"slices"
	"strings"

	"github.com/housectl/housectl/pkg/tracking"
)

func (s *Server) artifactRoutes(mux *http.ServeMux) {
	for _, pre := range []string{"/api/2.0/mlflow-artifacts/artifacts", "/ajax-api/2.0/mlflow-artifacts/artifacts"} {
		mux.HandleFunc("GET "+pre, s.listArtifacts)
		mux.HandleFunc("PUT "+pre+"/{path...}", s.putArtifact)
		mux.HandleFunc("GET "+pre+"/{path...}", s.getArtifact)
	}
}

// artifactPath splits <exp>/<run>/artifacts[/rest] and returns the run
// and rest.
func (s *Server) artifactPath(p string) (*tracking.Run, string, error) {
	p = strings.Trim(p, "/")
	parts := strings.SplitN(p, "/", 4)
	if len(parts) < 3 || parts[2] != "artifacts" {
		return nil, "", invalid("artifact path %q: want <experiment id>/<run id>/artifacts[/<path>]", p)
	}
	r, err := s.run(parts[1])
	if err != nil {
		return nil, "", err
	}
	if tracking.ExperimentIDOf(r.Experiment) != parts[0] {
		return nil, "", notFound("run %s is not in experiment %s", parts[1], parts[0])
	}
	rest := ""
	if len(parts) == 4 {
		rest = parts[3]
	}
	if rest != "" && (path.Clean(rest) != rest || slices.Contains(strings.Split(rest, "/"), "..")) {
		return nil, "", invalid("artifact path %q: no . or .. parts", rest)
	}
	return r, rest, nil
}

func (s *Server) putArtifact(w http.ResponseWriter, req *http.Request) {
	r, rest, err := s.artifactPath(req.PathValue("path"))
	if err == nil && rest == "" {
		err = invalid("an artifact upload needs a file path after artifacts/")
	}
	if err == nil {
		err = s.writable()
	}
	if err == nil {
		err = s.write(r.ID, func(run *tracking.Run) error {
			if err := external(run); err != nil {
				return err
			}
			_, err := s.store.PutArtifact(run, rest, req.Body)
			return err
		})
	}
	writeAPI(w, nil, err)
}

type fileInfoJSON struct {
	Path     string `json:"path"`
	IsDir    bool   `json:"is_dir"`
	FileSize *int64 `json:"file_size,omitempty"`
}

// listArtifacts lists a directory of a run's artifacts from the run's
// record (the same on every machine, whether the files are here or in a
// bucket): its files with their sizes, and its subdirectories. A file or
// nothing lists as empty, as MLflow's does.
func (s *Server) listArtifacts(w http.ResponseWriter, req *http.Request) {
	r, rest, err := s.artifactPath(req.URL.Query().Get("path"))
	if err != nil {
		writeAPI(w, nil, err)
		return
	}
	prefix := "artifacts/"
	if rest != "" {
		prefix += rest + "/"
	}
	var files []fileInfoJSON
	dirs := map[string]bool{}
	for _, a := range r.Artifacts {
		sub, ok := strings.CutPrefix(a.Path, prefix)
		if !ok {
			continue
		}
		if dir, _, nested := strings.Cut(sub, "/"); nested {
			if !dirs[dir] {
				dirs[dir] = true
				files = append(files, fileInfoJSON{Path: dir, IsDir: true})
			}
			continue
		}
		n := a.Size
		files = append(files, fileInfoJSON{Path: sub, FileSize: &n})
	}
	slices.SortFunc(files, func(a, b fileInfoJSON) int { return strings.Compare(a.Path, b.Path) })
	resp := map[string]any{}
	if len(files) > 0 {
		resp["files"] = files
	}
	writeAPI(w, resp, nil)
}

func (s *Server) getArtifact(w http.ResponseWriter, req *http.Request) {
	r, rest, err := s.artifactPath(req.PathValue("path"))
	if err == nil && rest == "" {
		err = invalid("name a file after artifacts/")
	}
	if err != nil {
		writeAPI(w, nil, err)
		return
	}
	s.serveArtifact(w, req, r, "artifacts/"+rest, "application/octet-stream")
}

// serveArtifact sends one of a run's recorded artifacts: the local file,
// or in a bucket store the cache's copy, fetched and checked first.
func (s *Server) serveArtifact(w http.ResponseWriter, req *http.Request, r *tracking.Run, p, ctype string) {
	file, err := s.store.ArtifactFile(req.Context(), r, p)
	if err != nil {
		var ae *tracking.ArtifactError
		if errors.As(err, &ae) {
			writeAPI(w, nil, &apiError{http.StatusConflict, "INVALID_STATE", err.Error()})
			return
		}
		writeAPI(w, nil, notFound("run %s has no artifact %s", r.ID, strings.TrimPrefix(p, "artifacts/")))
		return
	}
	f, err := os.Open(file)
	if err != nil {
		writeAPI(w, nil, notFound("run %s records artifact %s, but it is not here: %v", r.ID, p, err))
		return
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil || st.IsDir() {
		writeAPI(w, nil, notFound("run %s has no artifact file %s", r.ID, p))
		return
	}
	if ctype != "" {
		w.Header().Set("Content-Type", ctype)
	}
	w.Header().Set("X-Content-Type-Options", "nosniff")
	http.ServeContent(w, req, path.Base(p), st.ModTime(), f)
}
