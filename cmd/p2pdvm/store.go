package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/pflag"

	"github.com/p2pdvm/p2pdvm/dvm"
	"github.com/p2pdvm/p2pdvm/storage"
)

func init() {
	var sock, out, reason *string
	var asJSON, noPin *bool
	register(&command{
		name:    "store",
		summary: "put files into the DVM's block store and get them back by content id",
		usage:   "put FILE... | get CID [-o FILE] | stat CID | ls | pin CID | unpin CID | pins | gc",
		example: "cid=$(p2pdvm store put input.dat) && p2pdvm store get $cid -o copy.dat",
		flags: func(fs *pflag.FlagSet) {
			sock = socketFlag(fs)
			out = fs.StringP("output", "o", "", "get: where to write the file (default: the CID in the current directory)")
			reason = fs.String("reason", dvm.PinUser, "put, pin, unpin: who holds the pin (unpin --reason '' removes every pin on the CID)")
			noPin = fs.Bool("no-pin", false, "put: do not pin (gc may free the file once it is older than the peer's grace period)")
			asJSON = fs.Bool("json", false, "print JSON for scripts")
			fs.SetInterspersed(true)
		},
		run: func(_ *pflag.FlagSet, args []string) int {
			cl := &dvm.Client{Socket: *sock}
			if len(args) == 0 {
				return fail("store", fmt.Errorf("say put, get, stat, ls, pin, unpin, pins or gc (see p2pdvm store --help)"))
			}
			oneCID := func() (string, error) {
				if len(args) != 2 {
					return "", fmt.Errorf("want exactly one CID")
				}
				return args[1], nil
			}
			switch args[0] {
			case "put":
				r := *reason
				if *noPin {
					r = ""
				}
				return storePut(cl, args[1:], r, *asJSON)
			case "get":
				cid, err := oneCID()
				if err != nil {
					return fail("store get", err)
				}
				return storeGet(cl, cid, *out, *asJSON)
			case "stat":
				cid, err := oneCID()
				if err != nil {
					return fail("store stat", err)
				}
				st, err := cl.StoreStat(cid)
				if err != nil {
					return fail("store stat", err)
				}
				if *asJSON {
					return printJSON(st)
				}
				return printStat(st)
			case "ls":
				bs, err := cl.StoreList()
				if err != nil {
					return fail("store ls", err)
				}
				if *asJSON {
					return printJSON(bs)
				}
				tw := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "BLOCK\tSTORED BYTES\tWRITTEN")
				for _, b := range bs {
					fmt.Fprintf(tw, "%s\t%d\t%s\n", b.ID, b.Size, b.Written.Format(time.DateTime))
				}
				tw.Flush()
				return 0
			case "pin", "unpin":
				cid, err := oneCID()
				if err == nil && args[0] == "pin" {
					err = cl.StorePin(cid, *reason)
				} else if err == nil {
					err = cl.StoreUnpin(cid, *reason)
				}
				if err != nil {
					return fail("store "+args[0], err)
				}
				return 0
			case "pins":
				ps, err := cl.StorePins()
				if err != nil {
					return fail("store pins", err)
				}
				if *asJSON {
					return printJSON(ps)
				}
				for _, p := range ps {
					fmt.Printf("%s  %s\n", p.CID, strings.Join(p.Reasons, ","))
				}
				return 0
			case "gc":
				r, err := cl.StoreGC()
				if err != nil {
					return fail("store gc", err)
				}
				if *asJSON {
					return printJSON(r)
				}
				fmt.Printf("freed %d blocks (%d bytes); kept %d referenced by pins, %d written in the last grace period\n",
					r.Freed, r.FreedBytes, r.Kept[storage.GCLeased]+r.Kept[storage.GCPinned], r.Kept[storage.GCYoung])
				return 0
			}
			return fail("store", fmt.Errorf("unknown subcommand %q: say put, get, stat, ls, pin, unpin, pins or gc", args[0]))
		},
	})
}

// storeGet writes the file named by cid to dst (the CID itself in the
// current directory by default).
func storeGet(cl *dvm.Client, cid, dst string, asJSON bool) int {
	if dst == "" {
		dst = cid
	}
	abs, err := filepath.Abs(dst)
	if err != nil {
		return fail("store get", err)
	}
	progress, done := transferBar("get")
	r, err := cl.StoreGet(cid, abs, progress)
	done()
	if err != nil {
		return fail("store get", err)
	}
	if asJSON {
		return printJSON(r)
	}
	fmt.Fprintf(os.Stderr, "%s: %d bytes in %d chunks\n", dst, r.Size, r.Chunks)
	return 0
}

// storePut prints one CID per file, in order, like sha256sum prints sums,
// so that scripts can take them from stdout.
func storePut(cl *dvm.Client, files []string, reason string, asJSON bool) int {
	if len(files) == 0 {
		return fail("store put", fmt.Errorf("no file to put"))
	}
	var rs []dvm.StoreResult
	for _, f := range files {
		abs, err := filepath.Abs(f)
		if err != nil {
			return fail("store put", err)
		}
		progress, done := transferBar("put " + filepath.Base(f))
		r, err := cl.StorePut(abs, reason, progress)
		done()
		if err != nil {
			return fail("store put", err)
		}
		rs = append(rs, r)
		if !asJSON {
			if len(files) == 1 {
				fmt.Println(r.CID)
			} else {
				fmt.Printf("%s  %s\n", r.CID, f)
			}
		}
	}
	if asJSON {
		return printJSON(rs)
	}
	return 0
}

// printStat shows a file's blocks and their replicas, the manifest first.
func printStat(st dvm.FileStat) int {
	short := 0
	for _, b := range st.Blocks {
		if len(b.Holders) < b.Want {
			short++
		}
	}
	fmt.Printf("cid:      %s\nsize:     %d bytes in %d chunks (%d distinct)\nstored:   %d bytes per replica, after compression and deduplication\n",
		st.CID, st.Size, st.Chunks, len(st.Blocks)-1, st.Stored)
	if short == 0 {
		fmt.Printf("replicas: complete: every block is on the peers closest to it\n\n")
	} else {
		fmt.Printf("replicas: %d of %d blocks have fewer copies than wanted (a read or the next repair round fixes them)\n\n", short, len(st.Blocks))
	}
	tw := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "BLOCK\tSIZE\tSTORED\tREPLICAS\tHOLDERS")
	for i, b := range st.Blocks {
		name := b.ID[:16]
		if i == 0 {
			name += " (manifest)"
		}
		var hs []string
		for _, h := range b.Holders {
			hs = append(hs, shortPeer(h))
		}
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d/%d\t%s\n", name, b.Size, b.Stored, len(b.Holders), b.Want, strings.Join(hs, " "))
	}
	tw.Flush()
	return 0
}

func shortPeer(id string) string {
	if len(id) > 10 {
		return "…" + id[len(id)-8:]
	}
	return id
}
