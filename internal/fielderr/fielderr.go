// Package fielderr is the field errors of a refused request: the "errors"
// object of the repo's 400 answer {"status":"error","message":…,
// "errors":{field:msg}}, bounded so a hostile body cannot make the answer
// larger than itself. rules and notify validate with it (stdlib only).
package fielderr

import (
	"slices"
	"strings"
)

// Max caps the field errors reported for one request.
const Max = 32

// Body is the key for a body that is not one JSON object.
const Body = "body"

// Errors maps a request field ("name", "ruleConfig.metricType",
// "config.headers.X-Team", or Body) to what is wrong with it. Empty means
// valid.
type Errors map[string]string

// Add records msg for field unless the field already has one or Max is
// reached (the first problem of a field is the one worth reading).
func (fe *Errors) Add(field, msg string) {
	if *fe == nil {
		*fe = make(Errors, 2)
	}
	if len(*fe) >= Max {
		return
	}
	if _, dup := (*fe)[field]; !dup {
		(*fe)[field] = msg
	}
}

// String lists the errors sorted by field, for logs, test failures and the
// answer's message.
func (fe Errors) String() string {
	keys := make([]string, 0, len(fe))
	for k := range fe {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var b strings.Builder
	for i, k := range keys {
		if i > 0 {
			b.WriteString("; ")
		}
		b.WriteString(k)
		b.WriteString(": ")
		b.WriteString(fe[k])
	}
	return b.String()
}
