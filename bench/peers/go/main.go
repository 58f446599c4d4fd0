// Command goingest is the benchmark's idiomatic Go peer of ingestd: the
// server a team would write with the standard library alone. It decodes
// one event with encoding/json into a struct (string fields, a time.Time
// timestamp parsed as RFC 3339, a map[string]string metadata), checks the
// same required fields as ingestd, and answers 202 {"status":"queued"}.
//
// GET /debug/mallocs exposes runtime.MemStats (cumulative heap objects
// allocated, GC cycles) so the benchmark can count allocations per request
// the way it does for the C and Rust servers with an LD_PRELOAD counter.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log"
	"net/http"
	"runtime"
	"time"
)

// event mirrors ingestd's event rules (shared/DESIGN.md, "The event").
type event struct {
	EventID   string            `json:"event_id"`
	Timestamp time.Time         `json:"timestamp"`
	Service   string            `json:"service"`
	Message   *string           `json:"message"`
	Metadata  map[string]string `json:"metadata"`
}

const (
	maxBodyBytes  = 1 << 20
	maxFieldBytes = 256
	maxMetadata   = 64
)

func reject(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	fmt.Fprintf(w, "{\"status\":\"rejected\",\"error\":%q}", msg)
}

func validate(ev *event) string {
	switch {
	case ev.EventID == "" || len(ev.EventID) > maxFieldBytes:
		return "event_id must be a non-empty string of at most 256 bytes"
	case ev.Timestamp.IsZero():
		return "timestamp is required"
	case ev.Service == "" || len(ev.Service) > maxFieldBytes:
		return "service must be a non-empty string of at most 256 bytes"
	case ev.Message == nil:
		return "message is required"
	case len(ev.Metadata) > maxMetadata:
		return "too many metadata pairs"
	}
	for k := range ev.Metadata {
		if k == "" {
			return "metadata keys must be non-empty"
		}
	}
	return ""
}

func ingest(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", "POST")
		reject(w, http.StatusMethodNotAllowed, "method not allowed")
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBodyBytes))
	if err != nil {
		reject(w, http.StatusRequestEntityTooLarge, "body too large")
		return
	}
	var ev event
	if err := json.Unmarshal(body, &ev); err != nil {
		reject(w, http.StatusBadRequest, "invalid JSON: "+err.Error())
		return
	}
	if msg := validate(&ev); msg != "" {
		reject(w, http.StatusBadRequest, msg)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusAccepted)
	io.WriteString(w, `{"status":"queued"}`)
}

func mallocs(w http.ResponseWriter, r *http.Request) {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	w.Header().Set("Content-Type", "application/json")
	fmt.Fprintf(w, "{\"mallocs\":%d,\"frees\":%d,\"num_gc\":%d,"+
		"\"heap_sys\":%d,\"total_alloc\":%d}\n", ms.Mallocs, ms.Frees,
		ms.NumGC, ms.HeapSys, ms.TotalAlloc)
}

func main() {
	listen := flag.String("listen", "127.0.0.1:8082", "address to serve on")
	flag.Parse()

	mux := http.NewServeMux()
	mux.HandleFunc("/ingest", ingest)
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "ok\n")
	})
	mux.HandleFunc("/debug/mallocs", mallocs)

	srv := &http.Server{
		Addr:         *listen,
		Handler:      mux,
		ReadTimeout:  5 * time.Second,
		WriteTimeout: 5 * time.Second,
	}
	log.Fatal(srv.ListenAndServe())
}
