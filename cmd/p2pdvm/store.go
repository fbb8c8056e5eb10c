package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"

	"github.com/spf13/pflag"

	"github.com/p2pdvm/p2pdvm/dvm"
)

func init() {
	var sock, out *string
	var asJSON *bool
	register(&command{
		name:    "store",
		summary: "put files into the DVM's block store and get them back by content id",
		usage:   "put FILE... | get CID [-o FILE] | stat CID | ls",
		example: "cid=$(p2pdvm store put input.dat) && p2pdvm store get $cid -o copy.dat",
		flags: func(fs *pflag.FlagSet) {
			sock = socketFlag(fs)
			out = fs.StringP("output", "o", "", "get: where to write the file (default: the CID in the current directory)")
			asJSON = fs.Bool("json", false, "print JSON for scripts")
			fs.SetInterspersed(true)
		},
		run: func(_ *pflag.FlagSet, args []string) int {
			cl := &dvm.Client{Socket: *sock}
			if len(args) == 0 {
				return fail("store", fmt.Errorf("say put, get, stat or ls (see p2pdvm store --help)"))
			}
			switch args[0] {
			case "put":
				return storePut(cl, args[1:], *asJSON)
			case "get":
				if len(args) != 2 {
					return fail("store get", fmt.Errorf("want exactly one CID"))
				}
				dst := *out
				if dst == "" {
					dst = args[1]
				}
				abs, err := filepath.Abs(dst)
				if err != nil {
					return fail("store get", err)
				}
				r, err := cl.StoreGet(args[1], abs)
				if err != nil {
					return fail("store get", err)
				}
				if *asJSON {
					return printJSON(r)
				}
				fmt.Fprintf(os.Stderr, "%s: %d bytes in %d chunks\n", dst, r.Size, r.Chunks)
				return 0
			case "stat":
				if len(args) != 2 {
					return fail("store stat", fmt.Errorf("want exactly one CID"))
				}
				st, err := cl.StoreStat(args[1])
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
				fmt.Fprintln(tw, "BLOCK\tSTORED BYTES")
				for _, b := range bs {
					fmt.Fprintf(tw, "%s\t%d\n", b.ID, b.Size)
				}
				tw.Flush()
				return 0
			}
			return fail("store", fmt.Errorf("unknown subcommand %q: say put, get, stat or ls", args[0]))
		},
	})
}

// storePut prints one CID per file, in order, like sha256sum prints sums,
// so that scripts can take them from stdout.
func storePut(cl *dvm.Client, files []string, asJSON bool) int {
	if len(files) == 0 {
		return fail("store put", fmt.Errorf("no file to put"))
	}
	var rs []dvm.StoreResult
	for _, f := range files {
		abs, err := filepath.Abs(f)
		if err != nil {
			return fail("store put", err)
		}
		r, err := cl.StorePut(abs)
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
		fmt.Printf("replicas: %d of %d blocks have fewer copies than wanted (a read repairs them)\n\n", short, len(st.Blocks))
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
