package actors

import (
	"log/slog"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/rs/zerolog"
)

// protoLogger routes protoactor's own slog output into zerolog. protoactor
// logs a "message" attribute, so cmd sets zerolog.MessageFieldName to "msg"
// to keep the two apart.
func protoLogger(log zerolog.Logger) func(*actor.ActorSystem) *slog.Logger {
	return func(*actor.ActorSystem) *slog.Logger {
		return slog.New(zerolog.NewSlogHandler(log.With().Str("component", "protoactor").Logger()))
	}
}

// actorLog returns the logger for an actor: every line carries the actor's
// path and its parent's, so a supervision tree can be followed in the logs.
func actorLog(base zerolog.Logger, ctx actor.Context) zerolog.Logger {
	l := base.With().Str("actor", ctx.Self().Id)
	if p := ctx.Parent(); p != nil {
		l = l.Str("parent", p.Id)
	}
	return l.Logger()
}
