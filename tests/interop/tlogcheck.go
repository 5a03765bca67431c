// tlogcheck checks Garanti's proof bundles with Go's golang.org/x/mod/sumdb/note and
// golang.org/x/mod/sumdb/tlog (Debian: golang-golang-x-mod-dev), code Garanti's authors did not
// write. Used by tests/interop.rs; built with GO111MODULE=off GOPATH=/usr/share/gocode.
//
//	tlogcheck VKEY BUNDLE.json   exit 0 and "ok ..." if every signature and proof holds
package main

import (
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"strings"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

type entry struct {
	Index     int64    `json:"index"`
	Record    string   `json:"record"`
	Inclusion []string `json:"inclusion"`
}

type bundle struct {
	Checkpoint    string   `json:"checkpoint"`
	OldCheckpoint string   `json:"old_checkpoint"`
	Index         *int64   `json:"index"`
	Record        string   `json:"record"`
	Inclusion     []string `json:"inclusion"`
	Proofs        []entry  `json:"proofs"`
	Consistency   []string `json:"consistency"`
	OldSize       int64    `json:"old_size"`
	NewSize       int64    `json:"new_size"`
}

func fail(format string, args ...interface{}) {
	fmt.Printf("FAILED: "+format+"\n", args...)
	os.Exit(1)
}

// open verifies a checkpoint note and parses its text: origin, size, root.
func open(msg string, v note.Verifier) (int64, tlog.Hash) {
	n, err := note.Open([]byte(msg), note.VerifierList(v))
	if err != nil {
		fail("note.Open: %v", err)
	}
	lines := strings.SplitN(n.Text, "\n", 4)
	if len(lines) < 4 || lines[0] != v.Name() {
		fail("checkpoint text %q does not start with the origin %q", n.Text, v.Name())
	}
	size, err := strconv.ParseInt(lines[1], 10, 64)
	if err != nil {
		fail("checkpoint size: %v", err)
	}
	root, err := tlog.ParseHash(lines[2])
	if err != nil {
		fail("checkpoint root: %v", err)
	}
	return size, root
}

func hashes(list []string) []tlog.Hash {
	out := make([]tlog.Hash, len(list))
	for i, s := range list {
		b, err := base64.StdEncoding.DecodeString(s)
		if err != nil || len(b) != 32 {
			fail("proof hash %d is not 32 bytes of base64: %q", i, s)
		}
		copy(out[i][:], b)
	}
	return out
}

func checkEntry(e entry, size int64, root tlog.Hash) {
	data, err := hex.DecodeString(e.Record)
	if err != nil {
		fail("record %d is not hex", e.Index)
	}
	if err := tlog.CheckRecord(hashes(e.Inclusion), size, root, e.Index, tlog.RecordHash(data)); err != nil {
		fail("tlog.CheckRecord of record %d in tree %d: %v", e.Index, size, err)
	}
	fmt.Printf("ok record %d in tree %d\n", e.Index, size)
}

func main() {
	if len(os.Args) != 3 {
		fmt.Println("usage: tlogcheck VKEY BUNDLE.json")
		os.Exit(2)
	}
	v, err := note.NewVerifier(os.Args[1])
	if err != nil {
		fail("note.NewVerifier: %v", err)
	}
	text, err := os.ReadFile(os.Args[2])
	if err != nil {
		fail("%v", err)
	}
	var b bundle
	if err := json.Unmarshal(text, &b); err != nil {
		fail("bundle: %v", err)
	}
	size, root := open(b.Checkpoint, v)
	switch {
	case b.Consistency != nil || b.OldCheckpoint != "":
		oldSize, oldRoot := open(b.OldCheckpoint, v)
		if err := tlog.CheckTree(hashes(b.Consistency), size, root, oldSize, oldRoot); err != nil {
			fail("tlog.CheckTree %d -> %d: %v", oldSize, size, err)
		}
		fmt.Printf("ok tree %d is a prefix of tree %d\n", oldSize, size)
	case b.Index != nil:
		checkEntry(entry{*b.Index, b.Record, b.Inclusion}, size, root)
	default:
		if len(b.Proofs) == 0 {
			fail("no proofs")
		}
		for _, e := range b.Proofs {
			checkEntry(e, size, root)
		}
	}
}
