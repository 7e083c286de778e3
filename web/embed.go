package web

import "embed"

// dist is the Vite build output. "all:" keeps files whose names start with
// "." or "_"; dist/README.txt is committed so the pattern always matches.
//
//go:embed all:dist
var dist embed.FS
