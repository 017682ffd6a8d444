// notecheck: checks vitrum's transparency-log files with the Go reference
// packages golang.org/x/mod/sumdb/note and golang.org/x/mod/sumdb/tlog
// (Debian's golang-golang-x-mod-dev), and makes notes with them for vitrum to
// check.  Driven by tests/integration/test_tlog_interop.sh.
//
//	notecheck note NOTE VKEY...            note.Open with these verifier keys
//	                                       (type 0x01 with note.NewVerifier,
//	                                       type 0x04 cosignatures with the
//	                                       verifier below); prints the signers
//	notecheck manifest BUNDLE VKEY         the bundle's manifest note verifies
//	notecheck inclusion CP VKEY BUNDLE PROOF
//	                                       tlog.CheckRecord of vitrum's proof
//	                                       of BUNDLE's manifest in checkpoint CP
//	notecheck consistency OLD NEW VKEY PROOF
//	                                       tlog.CheckTree of vitrum's proof
//	notecheck tiles DIR VKEY INDEX...      DIR's C2SP tiles read through
//	                                       tlog.TileHashReader: TreeHash equals
//	                                       the checkpoint; each entry's
//	                                       tlog.ProveRecord proof checks and is
//	                                       printed in vitrum's proof format
//	notecheck store LOGDIR VKEY OLD INDEX...
//	                                       vitrum's hash store (leaves, nodes)
//	                                       read as tlog stored hashes: TreeHash,
//	                                       ProveRecord and ProveTree (from OLD)
//	                                       printed in vitrum's proof format
//	notecheck sign SKEY TEXTFILE           note.Sign (prints the note)
//	notecheck keygen NAME                  note.GenerateKey: "SKEY\nVKEY\n"
//
// Exit status 0 when everything checks, 1 otherwise (with the reason).
package main

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"io/ioutil"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

func fail(format string, args ...interface{}) {
	fmt.Fprintf(os.Stderr, "notecheck: "+format+"\n", args...)
	os.Exit(1)
}

func read(path string) []byte {
	b, err := ioutil.ReadFile(path)
	if err != nil {
		fail("%v", err)
	}
	return b
}

// A key argument is the verifier key string or a file holding it.
func keyString(arg string) string {
	if b, err := ioutil.ReadFile(arg); err == nil {
		return strings.TrimSpace(string(b))
	}
	return arg
}

// cosigVerifier verifies c2sp.org/tlog-cosignature type 0x04 signatures:
// timestamp(8) || Ed25519 over "cosignature/v1\ntime T\n" || text.
type cosigVerifier struct {
	name string
	hash uint32
	pub  ed25519.PublicKey
}

func (v *cosigVerifier) Name() string    { return v.name }
func (v *cosigVerifier) KeyHash() uint32 { return v.hash }
func (v *cosigVerifier) Verify(msg, sig []byte) bool {
	if len(sig) != 8+ed25519.SignatureSize {
		return false
	}
	t := binary.BigEndian.Uint64(sig[:8])
	m := append([]byte(fmt.Sprintf("cosignature/v1\ntime %d\n", t)), msg...)
	return ed25519.Verify(v.pub, m, sig[8:])
}

func verifier(vkey string) note.Verifier {
	parts := strings.SplitN(vkey, "+", 3)
	if len(parts) == 3 {
		raw, err := base64.StdEncoding.DecodeString(parts[2])
		if err == nil && len(raw) == 33 && raw[0] == 0x04 {
			h := sha256.Sum256(append([]byte(parts[0]+"\n"), raw...))
			id, _ := strconv.ParseUint(parts[1], 16, 32)
			if uint32(id) != binary.BigEndian.Uint32(h[:4]) {
				fail("%s: key ID does not match", vkey)
			}
			return &cosigVerifier{parts[0], uint32(id), ed25519.PublicKey(raw[1:])}
		}
	}
	v, err := note.NewVerifier(vkey)
	if err != nil {
		fail("%s: %v", vkey, err)
	}
	return v
}

func open(msg []byte, vkeys ...string) *note.Note {
	var vs []note.Verifier
	for _, k := range vkeys {
		vs = append(vs, verifier(keyString(k)))
	}
	n, err := note.Open(msg, note.VerifierList(vs...))
	if err != nil {
		fail("note.Open: %v", err)
	}
	return n
}

type checkpoint struct {
	origin string
	size   int64
	root   tlog.Hash
}

// c2sp.org/tlog-checkpoint: origin, size, base64 root, extension lines.
func parseCheckpoint(text string) checkpoint {
	lines := strings.Split(text, "\n")
	if len(lines) < 4 || lines[len(lines)-1] != "" {
		fail("not a checkpoint: %q", text)
	}
	size, err := strconv.ParseInt(lines[1], 10, 64)
	if err != nil || size < 0 || strconv.FormatInt(size, 10) != lines[1] {
		fail("checkpoint size %q", lines[1])
	}
	root, err := base64.StdEncoding.DecodeString(lines[2])
	if err != nil || len(root) != tlog.HashSize {
		fail("checkpoint root %q", lines[2])
	}
	var c checkpoint
	c.origin, c.size = lines[0], size
	copy(c.root[:], root)
	return c
}

func openCheckpoint(path, vkey string) checkpoint {
	return parseCheckpoint(open(read(path), vkey).Text)
}

// The sections of a vitrum bundle (docs/TRANSPARENCY.md).
func bundleSections(b []byte) map[byte][]byte {
	if !bytes.HasPrefix(b, []byte("VTBUNDL1")) {
		fail("not a bundle")
	}
	s := map[byte][]byte{}
	for p := 8; p < len(b); {
		if len(b)-p < 5 {
			fail("truncated bundle")
		}
		t, n := b[p], int(binary.BigEndian.Uint32(b[p+1:]))
		if n > len(b)-p-5 {
			fail("truncated bundle")
		}
		s[t] = b[p+5 : p+5+n]
		p += 5 + n
	}
	if s[1] == nil {
		fail("bundle without a manifest")
	}
	return s
}

// vitrum-proof/v1 files.
func readProof(path string) (kind string, a, b int64, hashes []tlog.Hash) {
	lines := strings.Split(strings.TrimSuffix(string(read(path)), "\n"), "\n")
	if len(lines) < 2 || lines[0] != "vitrum-proof/v1" {
		fail("%s: not a proof file", path)
	}
	f := strings.Fields(lines[1])
	if len(f) != 3 {
		fail("%s: bad header", path)
	}
	kind = f[0]
	a, _ = strconv.ParseInt(f[1], 10, 64)
	b, _ = strconv.ParseInt(f[2], 10, 64)
	for _, l := range lines[2:] {
		h, err := tlog.ParseHash(l)
		if err != nil {
			fail("%s: %v", path, err)
		}
		hashes = append(hashes, h)
	}
	return
}

func printProof(kind string, a, b int64, hashes []tlog.Hash) {
	fmt.Printf("vitrum-proof/v1\n%s %d %d\n", kind, a, b)
	for _, h := range hashes {
		fmt.Println(h.String())
	}
}

// Our tiles follow c2sp.org/tlog-tiles: x/mod's tile paths without the
// height element ("tile/8/0/x001/234" is "tile/0/x001/234"), "entries"
// for x/mod's "data".
type tileDir struct{ dir string }

func (d tileDir) Height() int { return 8 }
func (d tileDir) ReadTiles(tiles []tlog.Tile) ([][]byte, error) {
	var out [][]byte
	for _, t := range tiles {
		if t.H != 8 {
			return nil, errors.New("tile height is not 8")
		}
		p := strings.TrimPrefix(t.Path(), "tile/8/")
		p = strings.Replace(p, "data/", "entries/", 1)
		b, err := ioutil.ReadFile(filepath.Join(d.dir, "tile", p))
		if err != nil {
			return nil, err
		}
		out = append(out, b)
	}
	return out, nil
}
func (d tileDir) SaveTiles(tiles []tlog.Tile, data [][]byte) {}

// Entry i from the entry bundles (big-endian uint16 length prefixes).
func entry(d tileDir, size, i int64) []byte {
	w := size - i/256*256
	if w > 256 {
		w = 256
	}
	t := tlog.Tile{H: 8, L: -1, N: i / 256, W: int(w)}
	data, err := d.ReadTiles([]tlog.Tile{t})
	if err != nil {
		fail("%v", err)
	}
	b := data[0]
	for k := int64(0); ; k++ {
		if len(b) < 2 || int(binary.BigEndian.Uint16(b)) > len(b)-2 {
			fail("entry bundle %d: damaged", i/256)
		}
		n := int(binary.BigEndian.Uint16(b))
		if k == i%256 {
			return b[2 : 2+n]
		}
		b = b[2+n:]
	}
}

// vitrum's hash store read as x/mod stored hashes: level 0 from `leaves`,
// level L >= 1 node n from `nodes` at stored index minus the leaves stored
// before it ((n + 1) << L of them).
type store struct{ leaves, nodes []byte }

func (s store) ReadHashes(idx []int64) ([]tlog.Hash, error) {
	var out []tlog.Hash
	for _, i := range idx {
		level, n := tlog.SplitStoredHashIndex(i)
		src, pos := s.leaves, n
		if level > 0 {
			src, pos = s.nodes, i-(n+1)<<uint(level)
		}
		if (pos+1)*32 > int64(len(src)) {
			return nil, fmt.Errorf("stored hash %d (level %d, %d) beyond the store", i, level, n)
		}
		var h tlog.Hash
		copy(h[:], src[pos*32:])
		out = append(out, h)
	}
	return out, nil
}

func atoi(s string) int64 {
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		fail("%q: not a number", s)
	}
	return v
}

func main() {
	a := os.Args[1:]
	if len(a) < 2 {
		fail("usage: see the comment at the top of notecheck.go")
	}
	switch {
	case a[0] == "note":
		n := open(read(a[1]), a[2:]...)
		for _, s := range n.Sigs {
			fmt.Printf("verified %s %08x\n", s.Name, s.Hash)
		}
	case a[0] == "manifest" && len(a) == 3:
		n := open(bundleSections(read(a[1]))[1], a[2])
		if !strings.HasPrefix(n.Text, "vitrum-release/v1\n") {
			fail("not a release manifest")
		}
		fmt.Printf("manifest verified by %s\n", n.Sigs[0].Name)
	case a[0] == "inclusion" && len(a) == 5:
		c := openCheckpoint(a[1], a[2])
		leaf := tlog.RecordHash(bundleSections(read(a[3]))[1])
		kind, idx, size, p := readProof(a[4])
		if kind != "inclusion" || size != c.size {
			fail("not an inclusion proof for size %d", c.size)
		}
		if err := tlog.CheckRecord(p, c.size, c.root, idx, leaf); err != nil {
			fail("tlog.CheckRecord: %v", err)
		}
		fmt.Printf("record %d in tree %d verified\n", idx, c.size)
	case a[0] == "consistency" && len(a) == 5:
		o, n := openCheckpoint(a[1], a[3]), openCheckpoint(a[2], a[3])
		kind, x, y, p := readProof(a[4])
		if kind != "consistency" || x != o.size || y != n.size {
			fail("not a consistency proof %d -> %d", o.size, n.size)
		}
		if err := tlog.CheckTree(p, n.size, n.root, o.size, o.root); err != nil {
			fail("tlog.CheckTree: %v", err)
		}
		fmt.Printf("tree %d -> %d verified\n", o.size, n.size)
	case a[0] == "tiles" && len(a) >= 3:
		d := tileDir{a[1]}
		c := openCheckpoint(filepath.Join(a[1], "checkpoint"), a[2])
		r := tlog.TileHashReader(tlog.Tree{N: c.size, Hash: c.root}, d)
		th, err := tlog.TreeHash(c.size, r)
		if err != nil || th != c.root {
			fail("tlog.TreeHash from the tiles: %v", err)
		}
		for _, s := range a[3:] {
			i := atoi(s)
			p, err := tlog.ProveRecord(c.size, i, r)
			if err != nil {
				fail("tlog.ProveRecord(%d): %v", i, err)
			}
			if err := tlog.CheckRecord(p, c.size, c.root, i, tlog.RecordHash(entry(d, c.size, i))); err != nil {
				fail("entry %d: %v", i, err)
			}
			printProof("inclusion", i, c.size, p)
		}
	case a[0] == "store" && len(a) >= 4:
		s := store{read(filepath.Join(a[1], "leaves")), read(filepath.Join(a[1], "nodes"))}
		c := openCheckpoint(filepath.Join(a[1], "checkpoint"), a[2])
		th, err := tlog.TreeHash(c.size, s)
		if err != nil || th != c.root {
			fail("tlog.TreeHash from the store: %v (want the checkpoint's root)", err)
		}
		old := atoi(a[3])
		tp, err := tlog.ProveTree(c.size, old, s)
		if err != nil {
			fail("tlog.ProveTree: %v", err)
		}
		printProof("consistency", old, c.size, tp)
		for _, x := range a[4:] {
			i := atoi(x)
			p, err := tlog.ProveRecord(c.size, i, s)
			if err != nil {
				fail("tlog.ProveRecord(%d): %v", i, err)
			}
			printProof("inclusion", i, c.size, p)
		}
	case a[0] == "sign" && len(a) == 3:
		s, err := note.NewSigner(strings.TrimSpace(string(read(a[1]))))
		if err != nil {
			fail("note.NewSigner: %v", err)
		}
		msg, err := note.Sign(&note.Note{Text: string(read(a[2]))}, s)
		if err != nil {
			fail("note.Sign: %v", err)
		}
		os.Stdout.Write(msg)
	case a[0] == "keygen" && len(a) == 2:
		skey, vkey, err := note.GenerateKey(rand.Reader, a[1])
		if err != nil {
			fail("note.GenerateKey: %v", err)
		}
		fmt.Printf("%s\n%s\n", skey, vkey)
	default:
		fail("usage: see the comment at the top of notecheck.go")
	}
}
