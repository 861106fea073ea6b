package web

// MLflow's proxied artifact API (mlflow-artifacts:/ URIs): the client
// uploads a run's files with PUT, lists a directory and downloads a file
// with GET, all under /api/2.0/mlflow-artifacts/artifacts/<experiment
// id>/<run id>/artifacts/<path>. Uploads are kept in the run's
// artifacts/ with their size and SHA-256.

import (
	"errors"
	"io/fs"
	"net/http"
	"os"
	"path"
	"path/filepath"
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

func (s *Server) listArtifacts(w http.ResponseWriter, req *http.Request) {
	r, rest, err := s.artifactPath(req.URL.Query().Get("path"))
	if err != nil {
		writeAPI(w, nil, err)
		return
	}
	dir := filepath.Join(r.Dir(), "artifacts", filepath.FromSlash(rest))
	ents, err := os.ReadDir(dir)
	var files []fileInfoJSON
	switch {
	case errors.Is(err, fs.ErrNotExist), err != nil && isNotDir(err):
		// A file or nothing lists as empty, as MLflow's does.
	case err != nil:
		writeAPI(w, nil, err)
		return
	}
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), ".") {
			continue
		}
		fi := fileInfoJSON{Path: e.Name(), IsDir: e.IsDir()}
		if !e.IsDir() {
			info, err := e.Info()
			if err != nil {
				continue
			}
			n := info.Size()
			fi.FileSize = &n
		}
		files = append(files, fi)
	}
	resp := map[string]any{}
	if len(files) > 0 {
		resp["files"] = files
	}
	writeAPI(w, resp, nil)
}

func isNotDir(err error) bool {
	var pe *fs.PathError
	return errors.As(err, &pe) && strings.Contains(pe.Err.Error(), "not a directory")
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
	f, err := os.Open(filepath.Join(r.Dir(), "artifacts", filepath.FromSlash(rest)))
	if err != nil {
		writeAPI(w, nil, notFound("run %s has no artifact %s", r.ID, rest))
		return
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil || st.IsDir() {
		writeAPI(w, nil, notFound("run %s has no artifact file %s", r.ID, rest))
		return
	}
	w.Header().Set("Content-Type", "application/octet-stream")
	http.ServeContent(w, req, path.Base(rest), st.ModTime(), f)
}
