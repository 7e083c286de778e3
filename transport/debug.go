package transport

import (
	"encoding/json"
	"net/http"
	"time"

	"github.com/eventara/eventara/actors"
)

// faultsAPI is /debug/faults, mounted only with --fault-injection.
type faultsAPI struct {
	faults *actors.Faults
}

// faultJSON is the body of POST /debug/faults:
// {"actor":"window","fault":"panic","after":3}. stall is a Go duration
// ("2s"); count 0 means once, -1 every matching message.
type faultJSON struct {
	Actor   string `json:"actor"`
	Fault   string `json:"fault"`
	Message string `json:"message,omitempty"`
	After   int    `json:"after,omitempty"`
	Count   int    `json:"count,omitempty"`
	Stall   string `json:"stall,omitempty"`
}

func (f *faultsAPI) post(w http.ResponseWriter, r *http.Request) {
	var body faultJSON
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 4096))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&body); err != nil {
		writeError(w, http.StatusBadRequest, "invalid fault: "+err.Error(), nil)
		return
	}
	spec := actors.Fault{Actor: body.Actor, Fault: body.Fault, Message: body.Message, After: body.After, Count: body.Count}
	if body.Stall != "" {
		d, err := time.ParseDuration(body.Stall)
		if err != nil || d < 0 {
			writeError(w, http.StatusBadRequest, "invalid fault: stall must be a duration like 2s", nil)
			return
		}
		spec.Stall = d
	}
	if err := f.faults.Arm(spec); err != nil {
		writeError(w, http.StatusBadRequest, err.Error(), nil)
		return
	}
	f.list(w, r)
}

func (f *faultsAPI) list(w http.ResponseWriter, _ *http.Request) {
	armed := f.faults.Armed()
	res := make([]faultJSON, len(armed))
	for i, a := range armed {
		res[i] = faultJSON{Actor: a.Actor, Fault: a.Fault, Message: a.Message, After: a.After, Count: a.Count}
		if a.Stall > 0 {
			res[i].Stall = a.Stall.String()
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"status": "ok", "faults": res})
}

func (f *faultsAPI) clear(w http.ResponseWriter, _ *http.Request) {
	f.faults.Clear()
	writeJSON(w, http.StatusOK, map[string]any{"status": "cleared"})
}
