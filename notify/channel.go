package notify

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Limits and defaults of a channel's own fields.
const (
	MaxNameLen        = 100 // as rules.MaxChannelNameLen: rules name their channels
	MaxDescriptionLen = 2000
	MaxCreatedByLen   = 200
	MaxRateLimit      = 100000
	// DefaultRateLimitPerMinute and DefaultRateLimitPerHour apply when a
	// create request leaves them out (0 means unlimited). Slack and
	// Discord webhooks take about one message a second; alerts are rarer.
	DefaultRateLimitPerMinute = 30
	DefaultRateLimitPerHour   = 300
	// MaxRequestBytes bounds a channel request body.
	MaxRequestBytes = 64 << 10
)

// Channel is one notification channel: the original's
// NotificationChannelResponse. Its JSON holds the secrets (it is what the
// journal keeps): answer requests with Masked. fmt prints its secrets
// masked (Secret, URL, HookURL).
type Channel struct {
	ID          string      `json:"id"`
	ChannelType ChannelType `json:"channelType"`
	Name        string      `json:"name"`
	Description string      `json:"description"`
	Enabled     bool        `json:"enabled"`
	Config      Config      `json:"config"`
	// RateLimitPerMinute and RateLimitPerHour cap the delivery attempts
	// to this channel in any sliding minute and hour; 0 is no cap. Past
	// the cap, deliveries wait: they are never dropped (Outbox.Due).
	RateLimitPerMinute int        `json:"rateLimitPerMinute"`
	RateLimitPerHour   int        `json:"rateLimitPerHour"`
	LastUsedAt         *time.Time `json:"lastUsedAt"`
	TotalSent          int64      `json:"totalSent"`
	TotalFailed        int64      `json:"totalFailed"`
	CreatedAt          time.Time  `json:"createdAt"`
	UpdatedAt          time.Time  `json:"updatedAt"`
	CreatedBy          string     `json:"createdBy"`
}

// CreateChannelRequest is the body of POST /api/v1/notifications/channels.
type CreateChannelRequest struct {
	ChannelType        ChannelType     `json:"channelType"`
	Name               string          `json:"name"`
	Description        string          `json:"description"`
	Config             json.RawMessage `json:"config"`
	RateLimitPerMinute *int            `json:"rateLimitPerMinute"`
	RateLimitPerHour   *int            `json:"rateLimitPerHour"`
	Enabled            *bool           `json:"enabled"`
	CreatedBy          string          `json:"createdBy"`
}

// UpdateChannelRequest is the body of PUT
// /api/v1/notifications/channels/{id}: a missing or null field leaves the
// channel's unchanged. A config replaces the whole config; a secret sent
// back as Mask (or a URL as Masked showed it) keeps the stored one, so a
// client may PUT what it read. channelType cannot change.
type UpdateChannelRequest struct {
	ChannelType        *ChannelType    `json:"channelType"`
	Name               *string         `json:"name"`
	Description        *string         `json:"description"`
	Config             json.RawMessage `json:"config"`
	RateLimitPerMinute *int            `json:"rateLimitPerMinute"`
	RateLimitPerHour   *int            `json:"rateLimitPerHour"`
	Enabled            *bool           `json:"enabled"`
}

// DecodeCreate decodes a create request strictly: malformed JSON, a body
// that is not one object, an unknown field or a field of the wrong JSON
// type is a *ValidationError ("body" or the field's name). NewChannel
// validates the values.
func DecodeCreate(body []byte) (*CreateChannelRequest, error) {
	var r CreateChannelRequest
	if fe := decodeStrict(body, &r, ""); len(fe) > 0 {
		return nil, asError(fe)
	}
	return &r, nil
}

// DecodeUpdate decodes an update request as DecodeCreate does.
func DecodeUpdate(body []byte) (*UpdateChannelRequest, error) {
	var r UpdateChannelRequest
	if fe := decodeStrict(body, &r, ""); len(fe) > 0 {
		return nil, asError(fe)
	}
	return &r, nil
}

// decodeStrict decodes body, one JSON object, into v, refusing unknown
// fields. Field names in the errors get prefix ("config" → "config.url").
func decodeStrict(body []byte, v any, prefix string) FieldErrors {
	field := func(name string) string {
		switch {
		case prefix == "":
			return name
		case name == "":
			return prefix
		}
		return prefix + "." + name
	}
	bad := func(name, msg string) FieldErrors { return FieldErrors{field(name): msg} }
	body = bytes.TrimSpace(body)
	switch {
	case len(body) == 0 && prefix == "":
		return bad(BodyField, "empty body: expected a JSON object")
	case len(body) == 0 || string(body) == "null":
		return bad("", "is required: a JSON object")
	case len(body) > MaxRequestBytes:
		return bad(BodyField, fmt.Sprintf("body larger than %d bytes", MaxRequestBytes))
	case body[0] != '{':
		if prefix == "" {
			return bad(BodyField, "must be a JSON object")
		}
		return bad("", "must be a JSON object")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var te *json.UnmarshalTypeError
		switch {
		case errors.As(err, &te) && te.Field != "":
			return bad(clip(te.Field), "must be a JSON "+jsonKind(te.Type.Kind().String()))
		case strings.HasPrefix(err.Error(), "json: unknown field "):
			name, _ := strconv.Unquote(strings.TrimPrefix(err.Error(), "json: unknown field "))
			return bad(clip(name), "unknown field")
		}
		// encoding/json's syntax errors quote no input, only offsets and
		// characters: safe to show even for a body that holds secrets.
		return bad(BodyField, "malformed JSON: "+clip(strings.TrimPrefix(err.Error(), "json: ")))
	}
	if _, err := dec.Token(); err != io.EOF {
		return bad(BodyField, "unexpected data after the JSON object")
	}
	return nil
}

func jsonKind(goKind string) string {
	switch goKind {
	case "string":
		return "string"
	case "int", "int64", "float64":
		return "number"
	case "bool":
		return "boolean"
	case "slice":
		return "array"
	case "struct", "map", "ptr":
		return "object"
	}
	return goKind
}

// clip shortens user text quoted in an error.
func clip(s string) string {
	const n = 64
	if len(s) <= n && utf8.ValidString(s) {
		return s
	}
	s = strings.ToValidUTF8(s, "?")
	if len(s) <= n {
		return s
	}
	cut := n
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}

// NewChannel validates req and returns the new channel (enabled unless
// req says otherwise, default rate limits applied, channelType
// upper-cased). self is the service's own addresses, to refuse a webhook
// pointing at it. id and now are the caller's. The error is a
// *ValidationError; unique names are the registry's to check (SameName).
func NewChannel(req *CreateChannelRequest, id string, now time.Time, self Self) (*Channel, error) {
	var fe FieldErrors
	c := &Channel{
		ID: id, Enabled: true, CreatedAt: now, UpdatedAt: now,
		RateLimitPerMinute: DefaultRateLimitPerMinute, RateLimitPerHour: DefaultRateLimitPerHour,
	}
	c.ChannelType = checkType(req.ChannelType, &fe)
	c.Name = checkName(req.Name, &fe)
	c.Description = checkText("description", req.Description, MaxDescriptionLen, &fe)
	c.CreatedBy = checkText("createdBy", req.CreatedBy, MaxCreatedByLen, &fe)
	if req.Enabled != nil {
		c.Enabled = *req.Enabled
	}
	c.RateLimitPerMinute = checkLimit("rateLimitPerMinute", req.RateLimitPerMinute, c.RateLimitPerMinute, &fe)
	c.RateLimitPerHour = checkLimit("rateLimitPerHour", req.RateLimitPerHour, c.RateLimitPerHour, &fe)
	if c.ChannelType.Valid() {
		cfg, cfe := decodeConfig(c.ChannelType, req.Config)
		for k, v := range cfe {
			fe.Add(k, v)
		}
		if len(cfe) == 0 {
			cfg.validate(self, &fe)
			c.Config = cfg
		}
	}
	if err := asError(fe); err != nil {
		return nil, err
	}
	return c, nil
}

// Update validates req and returns c updated (c is not changed). The
// error is a *ValidationError.
func (c *Channel) Update(req *UpdateChannelRequest, now time.Time, self Self) (*Channel, error) {
	var fe FieldErrors
	n := c.Clone()
	if req.ChannelType != nil && !strings.EqualFold(strings.TrimSpace(string(*req.ChannelType)), string(c.ChannelType)) {
		fe.Add("channelType", "channelType cannot change: create a new channel")
	}
	if req.Name != nil {
		n.Name = checkName(*req.Name, &fe)
	}
	if req.Description != nil {
		n.Description = checkText("description", *req.Description, MaxDescriptionLen, &fe)
	}
	if req.Enabled != nil {
		n.Enabled = *req.Enabled
	}
	n.RateLimitPerMinute = checkLimit("rateLimitPerMinute", req.RateLimitPerMinute, n.RateLimitPerMinute, &fe)
	n.RateLimitPerHour = checkLimit("rateLimitPerHour", req.RateLimitPerHour, n.RateLimitPerHour, &fe)
	if len(req.Config) > 0 && string(bytes.TrimSpace(req.Config)) != "null" {
		cfg, cfe := decodeConfig(c.ChannelType, req.Config)
		for k, v := range cfe {
			fe.Add(k, v)
		}
		if len(cfe) == 0 {
			restoreMasked(&cfg, c.Config)
			cfg.validate(self, &fe)
			n.Config = cfg
		}
	}
	if err := asError(fe); err != nil {
		return nil, err
	}
	n.UpdatedAt = now
	return n, nil
}

// Clone returns a deep copy of c, safe to hand to another owner.
func (c *Channel) Clone() *Channel {
	n := *c
	n.Config = c.Config.clone()
	if c.LastUsedAt != nil {
		t := *c.LastUsedAt
		n.LastUsedAt = &t
	}
	return &n
}

// Masked returns a copy of c whose config shows Mask in place of every
// secret: passwords, tokens, signing secrets, header values, the
// credential part of webhook URLs (MaskURL). It is the only form of a
// channel to answer a request with or to log as JSON.
func (c *Channel) Masked() *Channel {
	n := c.Clone()
	n.Config = c.Config.masked()
	return n
}

// WithStats returns a copy of c with the delivery counters of s (from
// Outbox.ChannelStats), for the channel's answers.
func (c *Channel) WithStats(s ChannelStats) *Channel {
	n := c.Clone()
	n.TotalSent, n.TotalFailed = s.TotalSent, s.TotalFailed
	if s.LastUsedAt != nil {
		t := *s.LastUsedAt
		n.LastUsedAt = &t
	}
	return n
}

// Recipient is where c delivers, masked: the URL (MaskURL) or the
// comma-separated To list. It is the delivery log's recipient.
func (c *Channel) Recipient() string {
	switch {
	case c.Config.Webhook != nil:
		return MaskURL(string(c.Config.Webhook.URL), false)
	case c.Config.Slack != nil:
		return MaskURL(string(c.Config.Slack.URL), true)
	case c.Config.Discord != nil:
		return MaskURL(string(c.Config.Discord.URL), true)
	case c.Config.Email != nil:
		return strings.Join(c.Config.Email.To, ", ")
	}
	return ""
}

// UnmarshalJSON decodes a channel as its JSON encodes it (a journaled
// channel), parsing config by channelType. The config is not validated
// again (the service's own addresses may have changed since): a config
// that does not decode for its type is an error.
func (c *Channel) UnmarshalJSON(data []byte) error {
	type plain Channel
	var shadow struct {
		plain
		Config json.RawMessage `json:"config"`
	}
	if err := json.Unmarshal(data, &shadow); err != nil {
		return fmt.Errorf("decode channel: %w", err)
	}
	if !shadow.ChannelType.Valid() {
		return fmt.Errorf("decode channel %s: unknown channelType %q", shadow.ID, clip(string(shadow.ChannelType)))
	}
	cfg, fe := decodeConfig(shadow.ChannelType, shadow.Config)
	if len(fe) > 0 {
		return fmt.Errorf("decode channel %s: %w", shadow.ID, asError(fe))
	}
	*c = Channel(shadow.plain)
	c.Config = cfg
	return nil
}

// SameName reports whether two channel names collide: names are unique
// case-insensitively, after trimming (the REST layer answers 409).
func SameName(a, b string) bool {
	return strings.EqualFold(strings.TrimSpace(a), strings.TrimSpace(b))
}

func checkType(t ChannelType, fe *FieldErrors) ChannelType {
	t = ChannelType(strings.ToUpper(strings.TrimSpace(string(t))))
	switch {
	case t == "":
		fe.Add("channelType", "Channel type is required")
	case t == TypePagerDuty || t == TypeSMS:
		fe.Add("channelType", string(t)+" channels are not implemented: use WEBHOOK, SLACK, DISCORD or EMAIL")
	case !t.Valid():
		fe.Add("channelType", "Invalid channel type: "+clip(string(t))+" (WEBHOOK, SLACK, DISCORD or EMAIL)")
	}
	return t
}

func checkName(name string, fe *FieldErrors) string {
	name = strings.TrimSpace(name)
	switch {
	case name == "":
		fe.Add("name", "Channel name is required")
	case !utf8.ValidString(name) || utf8.RuneCountInString(name) > MaxNameLen || strings.ContainsAny(name, "\r\n\x00"):
		fe.Add("name", fmt.Sprintf("name must be one line of at most %d characters", MaxNameLen))
	}
	return name
}

func checkText(field, s string, maxLen int, fe *FieldErrors) string {
	if !utf8.ValidString(s) || utf8.RuneCountInString(s) > maxLen {
		fe.Add(field, fmt.Sprintf("%s must be valid text of at most %d characters", field, maxLen))
	}
	return s
}

func checkLimit(field string, v *int, def int, fe *FieldErrors) int {
	if v == nil {
		return def
	}
	if *v < 0 || *v > MaxRateLimit {
		fe.Add(field, fmt.Sprintf("%s must be from 0 (no limit) to %d", field, MaxRateLimit))
	}
	return *v
}

// ChannelCounts is the answer of GET /api/v1/notifications/channels/stats:
// the original's {total, enabled, webhooks, emails, slack} plus discord.
type ChannelCounts struct {
	Total    int `json:"total"`
	Enabled  int `json:"enabled"`
	Webhooks int `json:"webhooks"`
	Emails   int `json:"emails"`
	Slack    int `json:"slack"`
	Discord  int `json:"discord"`
}

// CountChannels counts channels by state and type.
func CountChannels(channels []*Channel) ChannelCounts {
	var c ChannelCounts
	for _, ch := range channels {
		c.Total++
		if ch.Enabled {
			c.Enabled++
		}
		switch ch.ChannelType {
		case TypeWebhook:
			c.Webhooks++
		case TypeEmail:
			c.Emails++
		case TypeSlack:
			c.Slack++
		case TypeDiscord:
			c.Discord++
		}
	}
	return c
}
