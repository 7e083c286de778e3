package actors

import (
	"log/slog"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/rs/zerolog"
)

// protoLogger routes protoactor's own slog output into zerolog. protoactor
// logs a "message" attribute, so cmd sets zerolog.MessageFieldName to "msg"
// to keep the two apart. Its lines carry library=protoactor (the base
// logger already has a component).
func protoLogger(log zerolog.Logger) func(*actor.ActorSystem) *slog.Logger {
	return func(*actor.ActorSystem) *slog.Logger {
		return slog.New(zerolog.NewSlogHandler(log.With().Str("library", "protoactor").Logger()))
	}
}

// actorLog returns the logger for an actor: every line carries the actor's
// path and its parent's, so a supervision tree can be followed in the logs.
// The parent is named by path: "root" for top-level actors, whose
// protoactor parent is the guardian ("guardian$N" says nothing).
func actorLog(base zerolog.Logger, ctx actor.Context) zerolog.Logger {
	id := ctx.Self().Id
	return base.With().Str("actor", id).Str("parent", parentOf(id)).Logger()
}
