// Package notify is Eventara's notification delivery as a library: the
// notification channels with the original Eventara's JSON shapes and
// strict validation, their masked view, the messages for each channel
// type, the senders (webhook, Slack, Discord, e-mail), and a durable
// outbox as an event-sourced state machine with retries, rate limits and
// a bounded delivery log. It has no actors, no HTTP routes and no clock:
// times come from callers, so everything is table-tested with explicit
// times.
//
// # Channels (channel.go, config.go)
//
// Channel is the original's NotificationChannelResponse {id, channelType,
// name, description, enabled, config, rateLimitPerMinute,
// rateLimitPerHour, lastUsedAt, totalSent, totalFailed, createdAt,
// updatedAt, createdBy}; CreateChannelRequest and UpdateChannelRequest
// are its request bodies. DecodeCreate/DecodeUpdate decode strictly
// (unknown fields, wrong JSON types and trailing data are field errors);
// NewChannel and (*Channel).Update validate and build. Every failure is a
// *ValidationError whose Fields is the "errors" object of the repo's 400
// answer, keyed "name", "config.url", "config.headers.X-Team",
// "config.to[1]", … No message quotes a secret. The config per type:
//
//	WEBHOOK  {"url":"https://…","method":"POST|PUT|PATCH","headers":{"X-Team":"ops"},
//	          "authToken":"…","signingSecret":"≥16 bytes"}
//	SLACK    {"url":"https://hooks.slack.com/services/T…/B…/…"}   (or a Slack-compatible host)
//	DISCORD  {"url":"https://discord.com/api/webhooks/<id>/<token>"} (or a compatible host)
//	EMAIL    {"host":"smtp.example.com","port":587,"username":"…","password":"…",
//	          "from":"Eventara <alerts@example.com>","to":["oncall@example.com"],
//	          "starttls":"REQUIRED|OPPORTUNISTIC|NONE","implicitTls":false,
//	          "subjectTemplate":"{status}: {ruleName} ({severity})"}
//
// PAGERDUTY and SMS are refused (the original never implemented them). An
// e-mail password is accepted only with starttls REQUIRED or implicitTls.
// Default rate limits are 30 a minute and 300 an hour; 0 is no limit.
//
// Secrets: passwords, tokens, signing secrets and header values are of
// type Secret, the URLs of type URL and HookURL. Their JSON is the secret
// (Channel's JSON is the journal's format); their fmt output is masked
// whatever the verb, so a channel that reaches a log by accident shows
// none. (*Channel).Masked is the view to answer with: every secret is
// Mask ("********"), and so are the credential parts of URLs (MaskURL:
// userinfo password, query values, the path of a Slack or Discord
// webhook). A client may PUT a masked config back: a field still equal to
// Mask keeps the stored secret. Attempt errors and response excerpts are
// redacted of the channel's secrets before they reach the log.
//
// # The service's own address (selfcheck.go)
//
// Self.CheckURL refuses webhook, Slack and Discord URLs with a scheme other
// than http(s), and URLs pointing at the service itself; Sender installs
// Self.DialControl, which checks the resolved address of every connection,
// so a name that resolves to the service (DNS rebinding included) is
// refused at send time too. Self's doc comment lists what neither can
// catch (proxies, NAT, unlisted interface addresses).
//
// # Messages (message.go, render.go)
//
// MessageFor turns a rules.Record with Notify set (ALERT_FIRING,
// ALERT_RESOLVED) into a Message, rendering the rule's messageTemplate
// with rules.RenderMessage; ForRecord makes one Notification per enabled
// channel, with id "<alertId>:<FIRING|RESOLVED>:<channelId>". TestMessage
// is the channel test's message. WebhookBody, SlackBody (text + Block Kit
// blocks), DiscordBody (content + one embed, no mentions), EmailSubject
// and EmailText render it; every attempt of a notification sends the same
// bytes.
//
// # Sending (send.go, send_http.go, send_email.go)
//
// Sender.Send makes one attempt with a timeout and classifies it:
// SUCCESS (2xx, mail accepted), RETRYABLE (5xx but 501/505, 408, 425,
// 429, timeouts, connection errors, SMTP 4xx) or PERMANENT (other 4xx,
// 3xx — redirects are never followed —, SMTP 5xx, a refused address).
// Retry-After of a 429 or 503 is kept for the outbox. Every HTTP delivery
// carries:
//
//	Content-Type: application/json
//	Idempotency-Key: <alertId>:<firing|resolved|test>   the same on every attempt and restart
//	X-Eventara-Alert-Id: <alertId>
//	X-Eventara-Event: firing | resolved | test
//	X-Eventara-Delivery: <notification id>
//	X-Eventara-Timestamp: <Unix seconds>
//	X-Eventara-Signature: sha256=<hex HMAC-SHA256(signingSecret, timestamp + "." + body)>  (webhooks with a signingSecret)
//	Authorization: Bearer <authToken>                     (webhooks with an authToken)
//
// A receiver verifies a signed webhook so (Verify does exactly this):
//
//  1. Read the raw body bytes, before any JSON parsing.
//  2. Compute HMAC-SHA256 keyed by the signing secret over the
//     X-Eventara-Timestamp value, one ".", and the body; hex-encode it
//     (lower case) and prefix "sha256=".
//  3. Compare with X-Eventara-Signature in constant time
//     (hmac.Equal, hmac.compare_digest, crypto.timingSafeEqual).
//  4. Refuse a timestamp more than a few minutes from the receiver's
//     clock: the timestamp is signed, so a captured request cannot be
//     replayed later with a fresh one.
//
// In a shell: printf '%s.%s' "$ts" "$body" | openssl dgst -sha256 -hmac "$secret".
//
// Receivers de-duplicate by Idempotency-Key (or X-Eventara-Alert-Id plus
// X-Eventara-Event): remember the keys seen for a day and answer a repeat
// with 2xx without acting on it. The e-mail sender sets the same key as a
// header and a Message-ID derived from the notification id, so mail
// systems that de-duplicate by Message-ID drop a resent copy.
//
// E-mail goes through github.com/wneessen/go-mail: STARTTLS required by
// default (or implicit TLS), certificates verified against
// SenderConfig.TLS.RootCAs or the system's, SMTP AUTH by the strongest
// mechanism the server offers, after TLS.
//
// # The outbox (outbox.go, deliverylog.go)
//
// Outbox holds every notification from Enqueue to SENT or FAILED. Like
// rules.Machine, every method that changes state returns Records
// (NOTIFICATION_ENQUEUED, _SENDING, _ATTEMPTED, _DELIVERED, _FAILED) and
// changes the state only through Apply; the records carry the computed
// times (next attempt, deadline), so replaying them rebuilds the same
// state under any configuration. Policy (OutboxConfig, zero = default):
// backoff BaseDelay·2^(n-1) capped at MaxDelay (5 s, 10 min), jittered
// to [d/2, d) by a hash of the notification id and n (deterministic);
// at least the receiver's Retry-After (up to 1 h); give up GiveUpAfter
// (24 h) after the first attempt. Per-channel rate limits (SetLimits) cap
// attempts in any sliding minute and hour: Due holds the rest back and
// NextWake says when to look again; a notification waiting for its first
// attempt is never dropped (the deadline starts with that attempt). A RESOLVED
// notification waits for the FIRING one of the same alert and channel.
//
// Exactly once: an Enqueue (or an Enqueued record) for a notification id
// the outbox knows — pending, or finished within DoneMaxAge/
// DoneMaxEntries (7 days, 100,000) — is ignored. Delivery itself is at
// least once: a crash after the receiver got a request and before its
// outcome was journaled sends it again (Resume), with the same
// Idempotency-Key, so a receiver that de-duplicates processes every alert
// transition exactly once. Slack, Discord and most mail systems do not
// de-duplicate: there, a crash inside that window can show a message
// twice; the window is one request long.
//
// In a cluster (outbox_cluster.go), every node applies the same records
// in the stream's order; the deliverer decides them with PlanStart,
// PlanFinish and PlanExpire (the records, unapplied), holds their
// notifications (Hold) until the stream hands them back, and Apply
// ignores a record that no longer fits the state it was decided from (a
// late outcome of an attempt another deliverer took over).
//
// Logs returns the delivery log in the original's NotificationLog shape
// {id, alertId, channelId, channelType, recipient, status
// PENDING|SENT|FAILED|RETRYING, sentAt, subject, message, responseCode,
// responseBody, errorMessage, retryCount, nextRetryAt, deliveryTimeMs,
// createdAt} (plus notificationId, transition): one entry per finished
// attempt, one FAILED when the outbox gives up without an attempt to
// blame, and a PENDING one per notification not yet attempted. It keeps
// LogMaxEntries (10,000) entries of at most LogMaxAge (7 days). Stats
// counts notifications {total, totalSent, totalFailed, pending,
// successRate}; ChannelStats feeds a channel's totalSent, totalFailed and
// lastUsedAt (Channel.WithStats).
//
// # Wiring it in (for the actors and the REST API)
//
// A notifier actor owns the channels and one Outbox; nothing else touches
// them. Its records go to the state log beside the rules' records, each
// journaled before it takes effect anywhere (Apply has already run in
// the actor; an unjournaled record must never be acted on):
//
//   - Channel changes: the REST handlers for POST/PUT/DELETE
//     /api/v1/notifications/channels ask the notifier, which journals the
//     whole Channel JSON (secrets included: the state log is as private as
//     the config) and calls SetLimits. On DELETE, or when a channel is
//     disabled, FailChannel gives up its pending notifications.
//   - Alerts: the rules actor sends each record with Notify to the
//     notifier, which resolves rule.NotificationChannels (channel names,
//     SameName) and calls ForRecord, then Enqueue; journal the Enqueued
//     records before answering the rules actor. Enqueue never blocks and
//     never sends, so evaluation never waits for delivery.
//   - Sending: on a timer at NextWake (and after any enqueue), call
//     Expire, then Due; for each Delivery, Start (journal the Sending
//     record), and hand (channel, notification, N) to that channel's child
//     actor. One child per channel calls Sender.Send off the notifier's
//     Receive (a slow receiver holds up its own channel only) and sends
//     the Attempt back; the notifier calls Finish and journals its
//     records. A Finish that returns ErrUnknownNotification (the channel
//     was deleted meanwhile) is ignored. Bound each child's queue by the
//     channel's rate limit: Due never hands out more than that.
//   - Start-up: create the Outbox, Apply every journaled record in order,
//     SetLimits for every channel, then Resume(now) once and journal its
//     records. To close the window between the rules actor journaling a
//     firing and the notifier journaling its Enqueued, re-offer the Notify
//     records of the last DoneMaxAge: Enqueue ignores the ones it knows.
//
// REST handlers map onto the original's paths (answer every channel with
// Masked, after WithStats):
//
//	POST   /api/v1/notifications/channels            DecodeCreate, NewChannel → 201; *ValidationError → 400;
//	                                                 a SameName collision → 409 {"status":"error","message":…}
//	GET    /api/v1/notifications/channels?type=&enabled=   list → 200
//	GET    /api/v1/notifications/channels/{id}       → 200; unknown → 404 (ErrChannelNotFound)
//	PUT    /api/v1/notifications/channels/{id}       DecodeUpdate, Update → 200; 400; 404; 409
//	DELETE /api/v1/notifications/channels/{id}       → 204; 404
//	POST   /api/v1/notifications/channels/{id}/test  TestMessage, NewNotification, Sender.Send, ResultOf → 200
//	                                                 (one attempt, not through the outbox); 404
//	GET    /api/v1/notifications/channels/stats      CountChannels → {total, enabled, webhooks, emails, slack, discord}
//	GET    /api/v1/notifications/logs?channelId&alertId&channelType&status&startDate&endDate&page&size
//	                                                 Logs(LogFilter) sliced to the page
//	GET    /api/v1/notifications/logs/{id}           LogEntry → 200; unknown → 404
//	GET    /api/v1/notifications/logs/stats?hours=24 Stats(now - hours), plus "periodHours"
//	GET    /api/v1/notifications/logs/failed?limit=  Logs(LogFilter{Status: LogFailed})[:limit]
//	GET    /api/v1/notifications/logs/alert/{alertId}, …/logs/channel/{channelId}   Logs filtered
//
// The REST layer passes NewChannel and Update a Self built from the
// listen addresses (SelfFromListen), the configured public host names,
// and LocalAddrs() when listening on all interfaces; the Sender gets the
// same Self.
package notify
