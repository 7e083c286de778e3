// Package web serves the dashboard: the single-page app built from this
// folder by Vite into dist/ and embedded into the binary, so the binary alone
// serves it.
//
// dist/ always holds a committed README.txt, so the embed compiles in a fresh
// checkout; when dist/index.html is absent (the app was not built), Handler
// serves a short page saying how to build it (`make web`).
package web
