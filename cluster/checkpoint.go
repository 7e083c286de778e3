package cluster

import (
	"bytes"
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// Shared checkpoints: the state of a node at a stream sequence, kept in
// the cluster for a node that must start past the stream's retention (a
// new node, a wiped one, one down for longer than MaxAge), whose own
// checkpoint cannot be continued from what the stream still holds.
//
// They live in a JetStream object store beside the stream (bucket
// StreamConfig.CheckpointBucket, the stream's replicas). Every node reads
// the same stream and builds the same state at the same sequence, so any
// node's checkpoint is good for all: each node writes one object, named
// after itself, and replaces it with its next one. Nobody else writes it,
// so there is no write race; a reader takes the highest sequence among
// them. An object store Put publishes the chunks before the object's meta
// record (which replaces the previous one) and only then drops the old
// chunks, so a reader sees the old or the new checkpoint, never a mix; a
// reader racing the replacement fails that one read (the digest, or
// missing chunks) and takes the next best (LatestSharedCheckpoint).
// Objects carry no TTL: after a long outage of the whole cluster the last
// checkpoints are still there and still valid. The object of a node
// removed for good stays until removed by hand (nats object rm BUCKET
// NODE); a joiner ignores it once it is older than the others.

// SharedCheckpoint is a node's state at stream sequence Seq: a container
// of named parts, each the opaque state of one component (the metrics
// aggregator's today; the rules' later), so that a component can be added
// without changing the format. A reader takes the parts it knows and
// ignores the others.
type SharedCheckpoint struct {
	// Seq is the stream sequence the state covers: every message up to it
	// is applied, none after.
	Seq uint64
	// Node is the name of the node that made it.
	Node string
	// At is when the state was cut: the stream time of the tick at Seq.
	At time.Time
	// Parts are the components' states by name.
	Parts map[string][]byte
}

// SharedCheckpointInfo describes a shared checkpoint without its parts.
type SharedCheckpointInfo struct {
	Seq  uint64
	Node string
	At   time.Time
	// Size is the encoded checkpoint's size in bytes.
	Size uint64

	obj *jetstream.ObjectInfo
}

// sharedCheckpointMagic opens an encoded SharedCheckpoint, followed by
// its format version (sharedCheckpointVersion, one byte).
const (
	sharedCheckpointMagic   = "EVSC"
	sharedCheckpointVersion = 1
)

// Encode returns cp in its binary form: "EVSC", the format version (1),
// then as unsigned varints Seq, At in Unix nanoseconds, the length of Node
// and Node, the number of parts, and per part in name order the name's
// length, the name, the data's length and the data.
func (cp *SharedCheckpoint) Encode() []byte {
	size := len(sharedCheckpointMagic) + 1 + 4*binary.MaxVarintLen64 + len(cp.Node)
	names := make([]string, 0, len(cp.Parts))
	for name, data := range cp.Parts {
		names = append(names, name)
		size += 2*binary.MaxVarintLen64 + len(name) + len(data)
	}
	sort.Strings(names)
	b := make([]byte, 0, size)
	b = append(b, sharedCheckpointMagic...)
	b = append(b, sharedCheckpointVersion)
	b = binary.AppendUvarint(b, cp.Seq)
	b = binary.AppendUvarint(b, uint64(cp.At.UnixNano()))
	b = appendBytes(b, []byte(cp.Node))
	b = binary.AppendUvarint(b, uint64(len(names)))
	for _, name := range names {
		b = appendBytes(b, []byte(name))
		b = appendBytes(b, cp.Parts[name])
	}
	return b
}

func appendBytes(b, data []byte) []byte {
	b = binary.AppendUvarint(b, uint64(len(data)))
	return append(b, data...)
}

// DecodeSharedCheckpoint reads what Encode wrote. The parts share no
// memory with b.
func DecodeSharedCheckpoint(b []byte) (SharedCheckpoint, error) {
	var cp SharedCheckpoint
	if !bytes.HasPrefix(b, []byte(sharedCheckpointMagic)) || len(b) < len(sharedCheckpointMagic)+1 {
		return cp, fmt.Errorf("%w: no %q header", ErrCheckpointFormat, sharedCheckpointMagic)
	}
	if v := b[len(sharedCheckpointMagic)]; v != sharedCheckpointVersion {
		return cp, fmt.Errorf("%w: format version %d (this build reads %d)", ErrCheckpointFormat, v, sharedCheckpointVersion)
	}
	r := reader{b: b[len(sharedCheckpointMagic)+1:]}
	cp.Seq = r.uvarint()
	cp.At = time.Unix(0, int64(r.uvarint())).UTC()
	cp.Node = string(r.bytes())
	n := r.uvarint()
	if r.err == nil && n > uint64(len(r.b)) {
		r.err = errors.New("part count past the end")
	}
	if r.err == nil {
		cp.Parts = make(map[string][]byte, n)
	}
	prev := ""
	for i := uint64(0); i < n && r.err == nil; i++ {
		name := string(r.bytes())
		data := r.bytes()
		if i > 0 && name <= prev && r.err == nil {
			// Encode writes them in name order: one encoding per checkpoint.
			r.err = fmt.Errorf("part %q out of order or twice", name)
		}
		cp.Parts[name], prev = bytes.Clone(data), name
	}
	if r.err == nil && len(r.b) > 0 {
		r.err = fmt.Errorf("%d bytes after the last part", len(r.b))
	}
	if r.err != nil {
		return SharedCheckpoint{}, fmt.Errorf("%w: %v", ErrCheckpointFormat, r.err)
	}
	return cp, nil
}

// reader reads varints and length-prefixed bytes, keeping the first error.
type reader struct {
	b   []byte
	err error
}

func (r *reader) uvarint() uint64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Uvarint(r.b)
	if n <= 0 {
		r.err = errors.New("truncated")
		return 0
	}
	if n != len(binary.AppendUvarint(nil, v)) {
		r.err = errors.New("varint not in its shortest form")
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *reader) bytes() []byte {
	n := r.uvarint()
	if r.err != nil {
		return nil
	}
	if n > uint64(len(r.b)) {
		r.err = errors.New("truncated")
		return nil
	}
	data := r.b[:n]
	r.b = r.b[n:]
	return data
}

// validBucket is what JetStream accepts as an object store's name.
var validBucket = regexp.MustCompile(`^[a-zA-Z0-9_-]+$`)

// The object's metadata carry its checkpoint's sequence, node and time,
// so a reader picks one from the list without fetching any.
const (
	metaSeq     = "eventara-seq"
	metaNode    = "eventara-node"
	metaAt      = "eventara-at"
	metaVersion = "eventara-format"
)

// ensureCheckpoints creates the shared checkpoints' bucket, or updates it
// to the stream's replicas.
//
// The bucket's stream is made here, in the layout of nats.go's object
// stores (ObjectStoreConfig), but without direct gets, and it is read
// through its leader alone (listObjects, readObject), not with nats.go's
// List and Get: direct gets are answered by any replica, and the
// consumers List and Get create are placed on this node's replica, so a
// replica still catching up (a node back with an empty disk) found no
// checkpoint, or only some (TestSharedCheckpointsOnWipedNode). Writes
// (Put) go to the leader anyway.
func (s *Stream) ensureCheckpoints(ctx context.Context) error {
	b := s.cfg.CheckpointBucket
	_, err := s.node.js.CreateOrUpdateStream(ctx, jetstream.StreamConfig{
		Name:        bucketStream(b),
		Description: "Eventara shared checkpoints of stream " + s.cfg.Name + ": one object per node, for nodes joining past its retention",
		Subjects:    []string{"$O." + b + ".C.>", "$O." + b + ".M.>"},
		MaxBytes:    -1,
		Storage:     jetstream.FileStorage,
		Replicas:    s.cfg.Replicas,
		Discard:     jetstream.DiscardNew,
		AllowRollup: true,
		AllowDirect: false,
	})
	if err != nil {
		if isPermanent(err) {
			return fmt.Errorf("%w: checkpoint bucket %s: %v", ErrInvalidConfig, b, err)
		}
		return err
	}
	obs, err := s.node.js.ObjectStore(ctx, b)
	if err != nil {
		return err
	}
	s.checkpoints.Store(&obs)
	return nil
}

// objects returns the checkpoints' bucket, opening it if this Stream did
// not create it (OpenStream).
func (s *Stream) objects(ctx context.Context) (jetstream.ObjectStore, error) {
	if p := s.checkpoints.Load(); p != nil {
		return *p, nil
	}
	obs, err := s.node.js.ObjectStore(ctx, s.cfg.CheckpointBucket)
	if err != nil {
		return nil, fmt.Errorf("checkpoint bucket %s: %w", s.cfg.CheckpointBucket, err)
	}
	s.checkpoints.Store(&obs)
	return obs, nil
}

// SaveSharedCheckpoint stores cp as cp.Node's shared checkpoint, replacing
// that node's previous one; it returns the encoded size. Only the node
// named cp.Node should save it (each node its own: no two writers race on
// one object). It fails when ctx ends (give it a deadline: a large
// checkpoint is many chunks, each acknowledged by a quorum) or the bucket
// has no quorum; the previous checkpoint then stays.
func (s *Stream) SaveSharedCheckpoint(ctx context.Context, cp SharedCheckpoint) (int, error) {
	if cp.Node == "" || cp.Seq == 0 {
		return 0, fmt.Errorf("save shared checkpoint: no node or sequence: %w", ErrInvalidArgument)
	}
	obs, err := s.objects(ctx)
	if err != nil {
		return 0, err
	}
	data := cp.Encode()
	meta := jetstream.ObjectMeta{
		Name:        cp.Node,
		Description: fmt.Sprintf("state of node %s at stream sequence %d", cp.Node, cp.Seq),
		Metadata: map[string]string{
			metaSeq:     strconv.FormatUint(cp.Seq, 10),
			metaNode:    cp.Node,
			metaAt:      cp.At.UTC().Format(time.RFC3339Nano),
			metaVersion: strconv.Itoa(sharedCheckpointVersion),
		},
	}
	if _, err := obs.Put(ctx, meta, bytes.NewReader(data)); err != nil {
		return 0, fmt.Errorf("save shared checkpoint of %s at %d: %w", cp.Node, cp.Seq, err)
	}
	return len(data), nil
}

// bucketStream is the stream under an object store.
func bucketStream(bucket string) string { return "OBJ_" + bucket }

// listObjects returns the metadata of every object in the bucket, as its
// leader has them: the meta subjects from the leader's stream info, then
// each one's last message.
func (s *Stream) listObjects(ctx context.Context) ([]*jetstream.ObjectInfo, jetstream.Stream, error) {
	b := s.cfg.CheckpointBucket
	st, err := s.node.js.Stream(ctx, bucketStream(b))
	if err != nil {
		return nil, nil, err
	}
	info, err := st.Info(ctx, jetstream.WithSubjectFilter("$O."+b+".M.>"))
	if err != nil {
		return nil, nil, err
	}
	objs := make([]*jetstream.ObjectInfo, 0, len(info.State.Subjects))
	for subj := range info.State.Subjects {
		m, err := st.GetLastMsgForSubject(ctx, subj)
		if errors.Is(err, jetstream.ErrMsgNotFound) {
			continue // removed meanwhile
		}
		if err != nil {
			return nil, nil, err
		}
		var o jetstream.ObjectInfo
		if json.Unmarshal(m.Data, &o) == nil && !o.Deleted {
			objs = append(objs, &o)
		}
	}
	return objs, st, nil
}

// readObject reads o's chunks from the bucket's leader and checks them
// against its size and digest.
func readObject(ctx context.Context, st jetstream.Stream, bucket string, o *jetstream.ObjectInfo) ([]byte, error) {
	subj := "$O." + bucket + ".C." + o.NUID
	data := make([]byte, 0, o.Size)
	h := sha256.New()
	seq := uint64(1)
	for range o.Chunks {
		m, err := st.GetMsg(ctx, seq, jetstream.WithGetMsgSubject(subj))
		if err != nil {
			return nil, fmt.Errorf("chunk %d: %w", len(data), err)
		}
		data = append(data, m.Data...)
		h.Write(m.Data)
		seq = m.Sequence + 1
	}
	if uint64(len(data)) != o.Size || jetstream.GetObjectDigestValue(h) != o.Digest {
		return nil, fmt.Errorf("%d bytes read of %d, or a digest other than %s (replaced while read?)", len(data), o.Size, o.Digest)
	}
	return data, nil
}

// SharedCheckpoints lists the stored shared checkpoints, the highest
// sequence first, from their metadata alone, as the bucket's leader has
// them. An object that is not one (no or bad metadata) is left out.
func (s *Stream) SharedCheckpoints(ctx context.Context) ([]SharedCheckpointInfo, error) {
	infos, _, err := s.sharedCheckpoints(ctx)
	return infos, err
}

func (s *Stream) sharedCheckpoints(ctx context.Context) ([]SharedCheckpointInfo, jetstream.Stream, error) {
	objs, st, err := s.listObjects(ctx)
	if err != nil {
		return nil, nil, fmt.Errorf("list shared checkpoints: %w", err)
	}
	infos := make([]SharedCheckpointInfo, 0, len(objs))
	for _, o := range objs {
		if info, ok := checkpointInfo(o); ok {
			infos = append(infos, info)
		}
	}
	slices.SortFunc(infos, func(a, b SharedCheckpointInfo) int {
		if c := cmp.Compare(b.Seq, a.Seq); c != 0 {
			return c
		}
		return strings.Compare(a.Node, b.Node)
	})
	return infos, st, nil
}

func checkpointInfo(o *jetstream.ObjectInfo) (SharedCheckpointInfo, bool) {
	if o.Deleted || o.Metadata[metaVersion] != strconv.Itoa(sharedCheckpointVersion) {
		return SharedCheckpointInfo{}, false
	}
	seq, err := strconv.ParseUint(o.Metadata[metaSeq], 10, 64)
	if err != nil || seq == 0 {
		return SharedCheckpointInfo{}, false
	}
	at, err := time.Parse(time.RFC3339Nano, o.Metadata[metaAt])
	if err != nil {
		return SharedCheckpointInfo{}, false
	}
	return SharedCheckpointInfo{Seq: seq, Node: o.Metadata[metaNode], At: at, Size: o.Size, obj: o}, true
}

// LatestSharedCheckpoint returns the shared checkpoint with the highest
// sequence, if that is at least minSeq, read from the bucket's leader.
// One that cannot be read or decoded (replaced while read, written by
// another format version) is skipped for the next highest, still at least
// minSeq; skipped says why each was. ok is false when none qualifies.
func (s *Stream) LatestSharedCheckpoint(ctx context.Context, minSeq uint64) (cp SharedCheckpoint, ok bool, skipped []error, err error) {
	infos, st, err := s.sharedCheckpoints(ctx)
	if err != nil {
		return cp, false, nil, err
	}
	for _, info := range infos {
		if info.Seq < minSeq {
			break
		}
		data, err := readObject(ctx, st, s.cfg.CheckpointBucket, info.obj)
		if err == nil {
			cp, err = DecodeSharedCheckpoint(data)
		}
		if err == nil && (cp.Seq != info.Seq || cp.Node != info.Node) {
			err = fmt.Errorf("holds node %s at %d, not what its metadata say", cp.Node, cp.Seq)
		}
		if err != nil {
			skipped = append(skipped, fmt.Errorf("shared checkpoint of %s at %d: %w", info.Node, info.Seq, err))
			if ctx.Err() != nil {
				return SharedCheckpoint{}, false, skipped, ctx.Err()
			}
			continue
		}
		return cp, true, skipped, nil
	}
	return SharedCheckpoint{}, false, skipped, nil
}

// FirstRetained returns the lowest sequence from which the stream still
// holds every record, note and tick: older ones were removed by MaxAge.
// It is the first one still stored, or the tick schedule's message when
// that sits right before it (it is never removed, and never delivered),
// or LastSeq+1 when none is left. A reader that applied everything before
// it can go on from the stream; one that did not has lost records.
// (StreamInfo.FirstSeq cannot tell: the schedule sits before them all.)
func (s *Stream) FirstRetained(ctx context.Context) (uint64, error) {
	ctx, cancel := s.node.opContext(ctx)
	defer cancel()
	js, err := s.node.js.Stream(ctx, s.cfg.Name)
	if err != nil {
		return 0, fmt.Errorf("stream %s first retained: %w", s.cfg.Name, err)
	}
	// Records and notes go to Prefix.events and ticks to Prefix.tick: the
	// one-token wildcard takes both and not the schedule's subject.
	var first uint64
	m, err := js.GetMsg(ctx, 1, jetstream.WithGetMsgSubject(s.cfg.Prefix+".*"))
	switch {
	case errors.Is(err, jetstream.ErrMsgNotFound):
		first = js.CachedInfo().State.LastSeq + 1
	case err != nil:
		return 0, fmt.Errorf("stream %s first retained: %w", s.cfg.Name, err)
	default:
		first = m.Sequence
	}
	if first > 1 && first-1 == s.scheduleSeq.Load() {
		first--
	}
	return first, nil
}
