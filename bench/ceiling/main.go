// Command ceiling is the bench-serve baseline: a bare net/http handler
// that only decodes the /predict JSON body and answers a constant. No
// validation, model, log or metrics: what this machine can do at most.
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"time"
)

type features struct {
	MedInc, HouseAge, AveRooms, AveBedrms, Population, AveOccup, Latitude, Longitude float64
}

func main() {
	ln, err := (&net.ListenConfig{}).Listen(context.Background(), "tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Println(ln.Addr())
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var f features
		if err := json.NewDecoder(r.Body).Decode(&f); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"prediction":1.0}` + "\n"))
	})
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second}
	_ = srv.Serve(ln)
}
