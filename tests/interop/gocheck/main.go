// Command gocheck checks a cvid transparency log with Go's own golang.org/x/mod/sumdb packages,
// which nobody in the cvid project wrote: an independent verifier of the public formats.
//
//	gocheck verify -vkey VKEY [-dir TILES] [-old DIR|CHECKPOINT] [-receipt FILE]... [-entry FILE]
//	               [-origin ORIGIN] [-sample N] [-all]
//	gocheck sign (-name NAME | -skey FILE) -text FILE -out DIR
//
// verify, with -dir (a C2SP tlog-tiles tree exported by `cvid log export`):
//
//   - opens DIR/checkpoint with note.NewVerifier(VKEY) and note.Open, and parses the C2SP
//     tlog-checkpoint text (origin, decimal size, base64 root);
//   - reads every hash tile tile/<L>/<N>[.p/<W>], mapping Go's tile coordinates (H=8, L, N, W)
//     to C2SP paths, which carry no height, and authenticates each against the signed root:
//     tlog.TreeHash(size) over hashes taken straight from the tiles must be the root, and each
//     full tile must hash to its entry in its parent tile (see authenticate: Go's
//     tlog.TileHashReader alone does not check every tile);
//   - requires tlog.TileHashReader over the same tiles to give the root as TreeHash(size) and
//     the same leaf hashes;
//   - decodes every entry bundle tile/entries/<N>[.p/<W>] (uint16 big-endian lengths) and
//     requires tlog.RecordHash of each entry to equal the authenticated leaf hash;
//   - proves inclusion with tlog.ProveRecord / tlog.CheckRecord for the first and last entries,
//     the entries at tile edges and a spread sample (every entry with -all).
//
// With -old, the older checkpoint (a file, or DIR/checkpoint) is opened with the same key and
// tlog.ProveTree / tlog.CheckTree prove the newer tree extends it; if -old is a directory its
// tiles must also be authenticated by the old root. Size 0 is refused: Go's TreeHash(0) is all
// zeros, and consistency from the empty tree proves nothing.
//
// Each -receipt is a C2SP tlog-proof (`cvid log prove`): its checkpoint is opened with the key and
// the entry (from -entry, or else from the bundles under -dir) is checked with tlog.CheckRecord.
//
// sign generates a key with note.GenerateKey (-name) or reads private key text (-skey), signs
// the text with note.Sign, and writes OUT/note, OUT/vkey and, for a generated key, OUT/skey.
//
// On success a JSON summary is printed on stdout; on any failure a message is printed on stderr
// and the exit status is 1 (2 for bad usage).
package main

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

const (
	tileHeight    = 8
	tileWidth     = 1 << tileHeight
	receiptHeader = "c2sp.org/tlog-proof@v1"
)

type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

func main() {
	if len(os.Args) < 2 {
		fail(usageError{"usage: gocheck verify|sign [flags]"})
	}
	var err error
	switch os.Args[1] {
	case "verify":
		err = runVerify(os.Args[2:])
	case "sign":
		err = runSign(os.Args[2:])
	default:
		err = usageError{fmt.Sprintf("unknown command %q (want verify or sign)", os.Args[1])}
	}
	if err != nil {
		fail(err)
	}
}

func fail(err error) {
	fmt.Fprintf(os.Stderr, "gocheck: %v\n", err)
	var u usageError
	if errors.As(err, &u) {
		os.Exit(2)
	}
	os.Exit(1)
}

func printJSON(v interface{}) error {
	out, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	_, err = fmt.Printf("%s\n", out)
	return err
}

// ---- checkpoints ----------------------------------------------------------------------------

type checkpoint struct {
	origin string
	size   int64
	root   tlog.Hash
}

// openCheckpoint verifies the signed note with Go's note.Open and parses its checkpoint text.
func openCheckpoint(data []byte, v note.Verifier, origin, what string) (*checkpoint, error) {
	n, err := note.Open(data, note.VerifierList(v))
	if err != nil {
		return nil, fmt.Errorf("%s: note.Open: %v", what, err)
	}
	cp, err := parseCheckpoint(n.Text)
	if err != nil {
		return nil, fmt.Errorf("%s: %v", what, err)
	}
	if cp.origin != origin {
		return nil, fmt.Errorf("%s: origin %q, expected %q", what, cp.origin, origin)
	}
	return cp, nil
}

func parseCheckpoint(text string) (*checkpoint, error) {
	if !strings.HasSuffix(text, "\n") {
		return nil, errors.New("checkpoint text does not end in a newline")
	}
	lines := strings.Split(strings.TrimSuffix(text, "\n"), "\n")
	if len(lines) < 3 {
		return nil, fmt.Errorf("checkpoint has %d lines, needs origin, size and root", len(lines))
	}
	if lines[0] == "" {
		return nil, errors.New("checkpoint origin line is empty")
	}
	size, err := parseDecimal(lines[1])
	if err != nil {
		return nil, fmt.Errorf("checkpoint size: %v", err)
	}
	root, err := tlog.ParseHash(lines[2])
	if err != nil {
		return nil, fmt.Errorf("checkpoint root %q: %v", lines[2], err)
	}
	for i, ext := range lines[3:] {
		if ext == "" {
			return nil, fmt.Errorf("checkpoint extension line %d is empty", i+1)
		}
	}
	return &checkpoint{origin: lines[0], size: size, root: root}, nil
}

func parseDecimal(s string) (int64, error) {
	if s == "" || (len(s) > 1 && s[0] == '0') || strings.Trim(s, "0123456789") != "" {
		return 0, fmt.Errorf("%q is not a decimal number", s)
	}
	return strconv.ParseInt(s, 10, 64)
}

// ---- C2SP tile paths over a directory -------------------------------------------------------

// indexPath encodes N in three-digit groups, all but the last prefixed by "x".
func indexPath(n int64) string {
	s := fmt.Sprintf("%03d", n%1000)
	for n >= 1000 {
		n /= 1000
		s = fmt.Sprintf("x%03d/%s", n%1000, s)
	}
	return s
}

// c2spPath is the tlog-tiles path of a hash tile (kind "<L>") or entry bundle (kind "entries").
// Unlike Go's Tile.Path it carries no tile height, and bundles are not Go's tile/H/data/.
func c2spPath(kind string, n int64, w int) string {
	p := "tile/" + kind + "/" + indexPath(n)
	if w < tileWidth {
		p += fmt.Sprintf(".p/%d", w)
	}
	return p
}

// widthAt is the width of tile (level, n) in the tree of size leaves (<= 0 if it is empty).
func widthAt(level int, n, size int64) int {
	w := (size >> uint(tileHeight*level)) - n*tileWidth
	if w > tileWidth {
		w = tileWidth
	}
	return int(w)
}

// tileDir is a tlog.TileReader over an exported tiles directory.
type tileDir struct {
	dir   string
	cache map[string][]byte
}

func newTileDir(dir string) *tileDir { return &tileDir{dir: dir, cache: map[string][]byte{}} }

func (d *tileDir) readFile(rel string) ([]byte, error) {
	return os.ReadFile(filepath.Join(d.dir, filepath.FromSlash(rel)))
}

func (d *tileDir) Height() int { return tileHeight }

func (d *tileDir) ReadTiles(tiles []tlog.Tile) ([][]byte, error) {
	out := make([][]byte, len(tiles))
	for i, t := range tiles {
		if t.H != tileHeight || t.L < 0 || t.W < 1 || t.W > tileWidth {
			return nil, fmt.Errorf("unexpected tile request %+v", t)
		}
		rel := c2spPath(strconv.Itoa(t.L), t.N, t.W)
		data, ok := d.cache[rel]
		if !ok {
			var err error
			if data, err = d.readFile(rel); err != nil {
				return nil, fmt.Errorf("hash tile: %v", err)
			}
			d.cache[rel] = data
		}
		if len(data) != t.W*tlog.HashSize {
			return nil, fmt.Errorf("hash tile %s: %d bytes, expected %d", rel, len(data), t.W*tlog.HashSize)
		}
		out[i] = data
	}
	return out, nil
}

func (d *tileDir) SaveTiles([]tlog.Tile, [][]byte) {}

// plainReader reads hashes straight from the tile files of the tree of size leaves, trusting
// nothing: TreeHash over it shows the tiles themselves hash to the root.
func (d *tileDir) plainReader(size int64) tlog.HashReader {
	return tlog.HashReaderFunc(func(indexes []int64) ([]tlog.Hash, error) {
		out := make([]tlog.Hash, len(indexes))
		for i, x := range indexes {
			t := tlog.TileForIndex(tileHeight, x)
			w := widthAt(t.L, t.N, size)
			if w < t.W {
				return nil, fmt.Errorf("stored hash %d is not in the tree of size %d", x, size)
			}
			t.W = w
			data, err := d.ReadTiles([]tlog.Tile{t})
			if err != nil {
				return nil, err
			}
			if out[i], err = tlog.HashFromTile(t, data[0], x); err != nil {
				return nil, err
			}
		}
		return out, nil
	})
}

// authenticate checks every hash tile of the tree of size leaves against the signed root and
// returns the leaf hashes. The tiles' TreeHash must be the root, which covers every hash of every
// partial tile, and every full tile must hash to its entry in its parent tile, so every hash is
// proven by the root.
//
// tlog.TileHashReader is meant to do this, but it does not authenticate every tile it returns:
// when several of the tree-hash subtrees fall in one tile (tree sizes such as 259 or 66,000), its
// loop "Authenticate full tiles against their parents" starts at len(stx), not at the number of
// distinct tiles fetched for them, so the first tiles fetched for the requested indexes are
// returned unchecked (golang.org/x/mod v0.7.0 and later). This program does not rely on it.
func (d *tileDir) authenticate(size int64, root tlog.Hash) ([]tlog.Hash, int, error) {
	th, err := tlog.TreeHash(size, d.plainReader(size))
	if err != nil {
		return nil, 0, fmt.Errorf("TreeHash from the tile files: %v", err)
	}
	if th != root {
		return nil, 0, fmt.Errorf("TreeHash(%d) from the tiles is %s, the checkpoint root is %s", size, th, root)
	}
	leaves := make([]tlog.Hash, 0, size)
	count := 0
	for level := 0; size>>uint(tileHeight*level) > 0; level++ {
		for n := int64(0); widthAt(level, n, size) > 0; n++ {
			t := tlog.Tile{H: tileHeight, L: level, N: n, W: widthAt(level, n, size)}
			data, err := d.ReadTiles([]tlog.Tile{t})
			if err != nil {
				return nil, 0, err
			}
			hashes := make([]tlog.Hash, t.W)
			for i := range hashes {
				copy(hashes[i][:], data[0][i*tlog.HashSize:])
			}
			if level == 0 {
				leaves = append(leaves, hashes...)
			}
			count++
			if t.W < tileWidth {
				continue
			}
			p := tlog.Tile{H: tileHeight, L: level + 1, N: n / tileWidth, W: widthAt(level+1, n/tileWidth, size)}
			pdata, err := d.ReadTiles([]tlog.Tile{p})
			if err != nil {
				return nil, 0, err
			}
			want, err := tlog.HashFromTile(p, pdata[0], tlog.StoredHashIndex(tileHeight*(level+1), n))
			if err != nil {
				return nil, 0, err
			}
			if got := foldHashes(hashes); got != want {
				return nil, 0, fmt.Errorf("hash tile %s hashes to %s, but its parent %s has %s",
					c2spPath(strconv.Itoa(level), n, t.W), got, c2spPath(strconv.Itoa(p.L), p.N, p.W), want)
			}
		}
	}
	return leaves, count, nil
}

// foldHashes is the Merkle root of a power-of-two number of hashes.
func foldHashes(hs []tlog.Hash) tlog.Hash {
	if len(hs) == 1 {
		return hs[0]
	}
	return tlog.NodeHash(foldHashes(hs[:len(hs)/2]), foldHashes(hs[len(hs)/2:]))
}

func decodeBundle(data []byte, where string) ([][]byte, error) {
	var out [][]byte
	for pos := 0; pos < len(data); {
		if pos+2 > len(data) {
			return nil, fmt.Errorf("%s: truncated length at byte %d", where, pos)
		}
		n := int(binary.BigEndian.Uint16(data[pos:]))
		pos += 2
		if pos+n > len(data) {
			return nil, fmt.Errorf("%s: entry %d runs past the end", where, len(out))
		}
		out = append(out, data[pos:pos+n])
		pos += n
	}
	return out, nil
}

// entryAt reads entry index of the tree of size leaves from its bundle.
func (d *tileDir) entryAt(index, size int64) ([]byte, error) {
	if index < 0 || index >= size {
		return nil, fmt.Errorf("entry %d is not in the exported tree of size %d", index, size)
	}
	n := index / tileWidth
	rel := c2spPath("entries", n, widthAt(0, n, size))
	data, err := d.readFile(rel)
	if err != nil {
		return nil, fmt.Errorf("entry bundle: %v", err)
	}
	entries, err := decodeBundle(data, rel)
	if err != nil {
		return nil, err
	}
	if j := int(index % tileWidth); j < len(entries) {
		return entries[j], nil
	}
	return nil, fmt.Errorf("%s has %d entries, no entry %d", rel, len(entries), index)
}

// ---- verify ---------------------------------------------------------------------------------

type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, ",") }
func (m *multiFlag) Set(s string) error { *m = append(*m, s); return nil }

type summary struct {
	OK                 bool      `json:"ok"`
	Origin             string    `json:"origin"`
	Size               int64     `json:"size,omitempty"`
	Root               string    `json:"root,omitempty"`
	TreeHashMatches    bool      `json:"tree_hash_matches,omitempty"`
	TilesAuthenticated int       `json:"tiles_authenticated,omitempty"`
	EntriesChecked     int64     `json:"entries_checked,omitempty"`
	EmptyEntries       int64     `json:"empty_entries,omitempty"`
	MaxEntryLength     int       `json:"max_entry_length,omitempty"`
	InclusionProofs    int       `json:"inclusion_proofs,omitempty"`
	BundlesRead        int       `json:"bundles_read,omitempty"`
	HashTilesRead      int       `json:"hash_tiles_read,omitempty"`
	OldSize            int64     `json:"old_size,omitempty"`
	OldRoot            string    `json:"old_root,omitempty"`
	OldTilesChecked    bool      `json:"old_tiles_checked,omitempty"`
	ConsistencyProof   *[]string `json:"consistency_proof,omitempty"`
	Receipts           []string  `json:"receipts,omitempty"`
}

type verifyState struct {
	verifier note.Verifier
	origin   string
}

func runVerify(args []string) error {
	fs := flag.NewFlagSet("verify", flag.ContinueOnError)
	vkey := fs.String("vkey", "", "the log's verifier key, name+hexid+base64key (required)")
	dir := fs.String("dir", "", "exported tlog-tiles directory")
	old := fs.String("old", "", "older export directory or checkpoint file (needs -dir)")
	entry := fs.String("entry", "", "file holding the entry of the single -receipt")
	origin := fs.String("origin", "", "expected checkpoint origin (default: the key name)")
	sample := fs.Int("sample", 64, "entries to prove spread over the log, besides edges")
	all := fs.Bool("all", false, "prove the inclusion of every entry")
	var receipts multiFlag
	fs.Var(&receipts, "receipt", "tlog-proof receipt file (repeatable)")
	if err := fs.Parse(args); err != nil {
		return usageError{err.Error()}
	}
	if fs.NArg() != 0 {
		return usageError{fmt.Sprintf("unexpected arguments %q", fs.Args())}
	}
	if *vkey == "" {
		return usageError{"-vkey is required"}
	}
	if *dir == "" && len(receipts) == 0 {
		return usageError{"nothing to check: give -dir and/or -receipt"}
	}
	if *old != "" && *dir == "" {
		return usageError{"-old needs -dir"}
	}
	if *entry != "" && len(receipts) != 1 {
		return usageError{"-entry goes with exactly one -receipt"}
	}
	if *entry == "" && len(receipts) > 0 && *dir == "" {
		return usageError{"a -receipt needs its entry: give -entry or -dir"}
	}
	v, err := note.NewVerifier(strings.TrimSpace(*vkey))
	if err != nil {
		return fmt.Errorf("vkey: note.NewVerifier: %v", err)
	}
	st := &verifyState{verifier: v, origin: *origin}
	if st.origin == "" {
		st.origin = v.Name()
	}
	sum := &summary{Origin: st.origin}

	var td *tileDir
	var cp *checkpoint
	var leaves []tlog.Hash
	if *dir != "" {
		td = newTileDir(*dir)
		if cp, leaves, err = st.checkDir(td, *sample, *all, sum); err != nil {
			return err
		}
		if *old != "" {
			if err := st.checkOld(td, cp, *old, sum); err != nil {
				return err
			}
		}
		sum.HashTilesRead = len(td.cache)
	}
	for _, path := range receipts {
		msg, err := st.checkReceipt(path, *entry, td, cp, leaves)
		if err != nil {
			return fmt.Errorf("receipt %s: %v", path, err)
		}
		sum.Receipts = append(sum.Receipts, msg)
	}
	sum.OK = true
	return printJSON(sum)
}

// checkDir verifies an export directory and returns its checkpoint and its entries' hashes.
func (st *verifyState) checkDir(td *tileDir, sample int, all bool, sum *summary) (*checkpoint, []tlog.Hash, error) {
	data, err := td.readFile("checkpoint")
	if err != nil {
		return nil, nil, err
	}
	cp, err := openCheckpoint(data, st.verifier, st.origin, "checkpoint")
	if err != nil {
		return nil, nil, err
	}
	if cp.size == 0 {
		return nil, nil, errors.New("checkpoint size is 0: an empty tree proves nothing")
	}
	sum.Size, sum.Root = cp.size, cp.root.String()

	// Every hash tile, authenticated against the signed root by this program ...
	leaves, tiles, err := td.authenticate(cp.size, cp.root)
	if err != nil {
		return nil, nil, err
	}
	sum.TilesAuthenticated = tiles
	// ... and Go's TileHashReader must agree: the same tree hash and the same leaf hashes.
	auth := tlog.TileHashReader(tlog.Tree{N: cp.size, Hash: cp.root}, td)
	th, err := tlog.TreeHash(cp.size, auth)
	if err != nil {
		return nil, nil, fmt.Errorf("TreeHash through TileHashReader: %v", err)
	}
	if th != cp.root {
		return nil, nil, fmt.Errorf("TreeHash(%d) through TileHashReader is %s, the root is %s", cp.size, th, cp.root)
	}
	sum.TreeHashMatches = true
	indexes := make([]int64, cp.size)
	for i := range indexes {
		indexes[i] = tlog.StoredHashIndex(0, int64(i))
	}
	viaGo, err := auth.ReadHashes(indexes)
	if err != nil {
		return nil, nil, fmt.Errorf("reading the leaf hashes through TileHashReader: %v", err)
	}
	for i := range viaGo {
		if viaGo[i] != leaves[i] {
			return nil, nil, fmt.Errorf("TileHashReader gives leaf %d as %s, the tiles %s", i, viaGo[i], leaves[i])
		}
	}

	// Every entry must hash to its authenticated leaf hash.
	records := make([]tlog.Hash, 0, cp.size)
	for n := int64(0); n*tileWidth < cp.size; n++ {
		w := widthAt(0, n, cp.size)
		rel := c2spPath("entries", n, w)
		data, err := td.readFile(rel)
		if err != nil {
			return nil, nil, fmt.Errorf("entry bundle: %v", err)
		}
		entries, err := decodeBundle(data, rel)
		if err != nil {
			return nil, nil, err
		}
		if len(entries) != w {
			return nil, nil, fmt.Errorf("%s has %d entries, expected %d", rel, len(entries), w)
		}
		sum.BundlesRead++
		for j, e := range entries {
			i := n*tileWidth + int64(j)
			h := tlog.RecordHash(e)
			if h != leaves[i] {
				return nil, nil, fmt.Errorf("entry %d (in %s): RecordHash %s, but the authenticated leaf hash is %s", i, rel, h, leaves[i])
			}
			records = append(records, h)
			if len(e) == 0 {
				sum.EmptyEntries++
			}
			if len(e) > sum.MaxEntryLength {
				sum.MaxEntryLength = len(e)
			}
		}
	}
	sum.EntriesChecked = int64(len(records))

	for _, i := range proofIndexes(cp.size, sample, all) {
		p, err := tlog.ProveRecord(cp.size, i, auth)
		if err != nil {
			return nil, nil, fmt.Errorf("ProveRecord(%d, %d): %v", cp.size, i, err)
		}
		if err := tlog.CheckRecord(p, cp.size, cp.root, i, records[i]); err != nil {
			return nil, nil, fmt.Errorf("CheckRecord of entry %d in tree %d: %v", i, cp.size, err)
		}
		sum.InclusionProofs++
	}
	return cp, records, nil
}

// proofIndexes is the first and last entries, those at every tile edge of the first and last
// tiles of each level, and sample entries spread evenly (or every entry, with all).
func proofIndexes(size int64, sample int, all bool) []int64 {
	set := map[int64]bool{}
	add := func(i int64) {
		if i >= 0 && i < size {
			set[i] = true
		}
	}
	if all {
		for i := int64(0); i < size; i++ {
			add(i)
		}
	}
	for _, i := range []int64{0, 1, size / 2, size - 2, size - 1} {
		add(i)
	}
	for span := int64(tileWidth); span <= size; span *= tileWidth {
		for _, base := range []int64{span, size / span * span} {
			add(base - 1)
			add(base)
		}
	}
	for k := 0; k < sample; k++ {
		add(int64(k) * size / int64(sample))
	}
	out := make([]int64, 0, len(set))
	for i := range set {
		out = append(out, i)
	}
	sort.Slice(out, func(a, b int) bool { return out[a] < out[b] })
	return out
}

// checkOld proves with Go's ProveTree/CheckTree that the checkpoint of old is a prefix of cp.
func (st *verifyState) checkOld(td *tileDir, cp *checkpoint, old string, sum *summary) error {
	info, err := os.Stat(old)
	if err != nil {
		return fmt.Errorf("old checkpoint: %v", err)
	}
	path := old
	if info.IsDir() {
		path = filepath.Join(old, "checkpoint")
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("old checkpoint: %v", err)
	}
	ocp, err := openCheckpoint(data, st.verifier, st.origin, "old checkpoint")
	if err != nil {
		return err
	}
	if ocp.size == 0 {
		return errors.New("old checkpoint size is 0: consistency with the empty tree proves nothing")
	}
	if ocp.size > cp.size {
		return fmt.Errorf("old checkpoint size %d is beyond the new size %d", ocp.size, cp.size)
	}
	sum.OldSize, sum.OldRoot = ocp.size, ocp.root.String()
	if info.IsDir() {
		if _, _, err := newTileDir(old).authenticate(ocp.size, ocp.root); err != nil {
			return fmt.Errorf("old export: %v", err)
		}
		sum.OldTilesChecked = true
	}
	auth := tlog.TileHashReader(tlog.Tree{N: cp.size, Hash: cp.root}, td)
	proof, err := tlog.ProveTree(cp.size, ocp.size, auth)
	if err != nil {
		return fmt.Errorf("ProveTree(%d, %d): %v", cp.size, ocp.size, err)
	}
	if err := tlog.CheckTree(proof, cp.size, cp.root, ocp.size, ocp.root); err != nil {
		return fmt.Errorf("CheckTree: tree %d (%s) does not extend tree %d (%s): %v", cp.size, cp.root, ocp.size, ocp.root, err)
	}
	hashes := make([]string, len(proof))
	for i, h := range proof {
		hashes[i] = h.String()
	}
	sum.ConsistencyProof = &hashes
	return nil
}

func parseReceipt(data []byte) (int64, tlog.RecordProof, []byte, error) {
	i := bytes.Index(data, []byte("\n\n"))
	if i < 0 {
		return 0, nil, nil, errors.New("no blank line before the checkpoint")
	}
	lines := strings.Split(string(data[:i]), "\n")
	if lines[0] != receiptHeader {
		return 0, nil, nil, fmt.Errorf("first line %q, expected %q", lines[0], receiptHeader)
	}
	pos := 1
	if pos < len(lines) && strings.HasPrefix(lines[pos], "extra ") {
		if _, err := base64.StdEncoding.DecodeString(lines[pos][len("extra "):]); err != nil {
			return 0, nil, nil, fmt.Errorf("extra line: %v", err)
		}
		pos++
	}
	if pos >= len(lines) || !strings.HasPrefix(lines[pos], "index ") {
		return 0, nil, nil, fmt.Errorf("line %d is not 'index N'", pos+1)
	}
	index, err := parseDecimal(lines[pos][len("index "):])
	if err != nil {
		return 0, nil, nil, fmt.Errorf("index: %v", err)
	}
	var proof tlog.RecordProof
	for _, line := range lines[pos+1:] {
		h, err := tlog.ParseHash(line)
		if err != nil {
			return 0, nil, nil, fmt.Errorf("proof hash %q: %v", line, err)
		}
		proof = append(proof, h)
	}
	return index, proof, data[i+2:], nil
}

// checkReceipt checks a tlog-proof receipt; records are the entries' hashes of the export td
// (whose checkpoint is cp), if any.
func (st *verifyState) checkReceipt(path, entryFile string, td *tileDir, cp *checkpoint, records []tlog.Hash) (string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	index, proof, cpData, err := parseReceipt(data)
	if err != nil {
		return "", err
	}
	rcp, err := openCheckpoint(cpData, st.verifier, st.origin, "receipt checkpoint")
	if err != nil {
		return "", err
	}
	if index >= rcp.size {
		return "", fmt.Errorf("index %d is beyond the checkpoint's size %d", index, rcp.size)
	}
	var record tlog.Hash
	if entryFile != "" {
		e, err := os.ReadFile(entryFile)
		if err != nil {
			return "", err
		}
		record = tlog.RecordHash(e)
	} else {
		e, err := td.entryAt(index, cp.size)
		if err != nil {
			return "", err
		}
		record = tlog.RecordHash(e)
		if int64(len(records)) > index && records[index] != record {
			return "", fmt.Errorf("entry %d changed while checking", index)
		}
	}
	if err := tlog.CheckRecord(proof, rcp.size, rcp.root, index, record); err != nil {
		return "", fmt.Errorf("CheckRecord of entry %d in tree %d: %v", index, rcp.size, err)
	}
	if cp != nil && rcp.size == cp.size {
		if rcp.root != cp.root {
			return "", fmt.Errorf("receipt root %s differs from the export's root %s at size %d", rcp.root, cp.root, cp.size)
		}
		auth := tlog.TileHashReader(tlog.Tree{N: cp.size, Hash: cp.root}, td)
		want, err := tlog.ProveRecord(cp.size, index, auth)
		if err != nil {
			return "", fmt.Errorf("ProveRecord(%d, %d): %v", cp.size, index, err)
		}
		if len(want) != len(proof) {
			return "", fmt.Errorf("proof has %d hashes, Go's ProveRecord %d", len(proof), len(want))
		}
		for k := range want {
			if want[k] != proof[k] {
				return "", fmt.Errorf("proof hash %d is %s, Go's ProveRecord gives %s", k, proof[k], want[k])
			}
		}
	}
	return fmt.Sprintf("index %d in tree %d", index, rcp.size), nil
}

// ---- sign -----------------------------------------------------------------------------------

func runSign(args []string) error {
	fs := flag.NewFlagSet("sign", flag.ContinueOnError)
	name := fs.String("name", "", "generate a key with this name (note.GenerateKey)")
	skeyFile := fs.String("skey", "", "file holding private key text to sign with")
	textFile := fs.String("text", "", "file holding the note text (required)")
	out := fs.String("out", "", "directory to write note, vkey (and skey) into (required)")
	if err := fs.Parse(args); err != nil {
		return usageError{err.Error()}
	}
	if (*name == "") == (*skeyFile == "") || *textFile == "" || *out == "" || fs.NArg() != 0 {
		return usageError{"sign needs one of -name or -skey, and -text and -out"}
	}
	var skey, vkey string
	if *name != "" {
		var err error
		if skey, vkey, err = note.GenerateKey(rand.Reader, *name); err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(*out, "skey"), []byte(skey+"\n"), 0o600); err != nil {
			return err
		}
	} else {
		data, err := os.ReadFile(*skeyFile)
		if err != nil {
			return err
		}
		skey = strings.TrimSpace(string(data))
		if vkey, err = vkeyOf(skey); err != nil {
			return err
		}
	}
	signer, err := note.NewSigner(skey)
	if err != nil {
		return fmt.Errorf("note.NewSigner: %v", err)
	}
	text, err := os.ReadFile(*textFile)
	if err != nil {
		return err
	}
	msg, err := note.Sign(&note.Note{Text: string(text)}, signer)
	if err != nil {
		return fmt.Errorf("note.Sign: %v", err)
	}
	// Go must accept its own note with the verifier key it wrote.
	v, err := note.NewVerifier(vkey)
	if err != nil {
		return fmt.Errorf("note.NewVerifier(%q): %v", vkey, err)
	}
	if _, err := note.Open(msg, note.VerifierList(v)); err != nil {
		return fmt.Errorf("note.Open of its own note: %v", err)
	}
	if err := os.WriteFile(filepath.Join(*out, "vkey"), []byte(vkey+"\n"), 0o644); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(*out, "note"), msg, 0o644); err != nil {
		return err
	}
	return printJSON(map[string]string{"name": signer.Name(), "vkey": vkey})
}

// vkeyOf derives the verifier key text from Ed25519 private key text PRIVATE+KEY+name+id+key.
func vkeyOf(skey string) (string, error) {
	parts := strings.SplitN(skey, "+", 5)
	if len(parts) != 5 || parts[0] != "PRIVATE" || parts[1] != "KEY" {
		return "", errors.New("private key is not PRIVATE+KEY+name+hexid+base64key")
	}
	raw, err := base64.StdEncoding.DecodeString(parts[4])
	if err != nil || len(raw) != 1+ed25519.SeedSize || raw[0] != 1 {
		return "", errors.New("private key is not an Ed25519 (type 0x01) seed")
	}
	pub := ed25519.NewKeyFromSeed(raw[1:]).Public().(ed25519.PublicKey)
	return note.NewEd25519VerifierKey(parts[2], pub)
}
