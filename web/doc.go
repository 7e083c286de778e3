// Package web serves the web pages: the dashboard, a single-page app, and
// the API docs page (docs.html: Swagger UI rendering the server's OpenAPI
// document, served at /docs under its own Content-Security-Policy). Both are
// built from this folder by Vite into dist/ and embedded into the binary, so
// the binary alone serves them, with no internet.
//
// dist/ always holds a committed README.txt, so the embed compiles in a fresh
// checkout; when dist/index.html or dist/docs.html is absent (the pages were
// not built), Handler and Docs serve a short page saying how to build them
// (`make web`).
package web
