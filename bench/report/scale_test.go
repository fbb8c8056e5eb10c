package main

import (
	"strings"
	"testing"
)

func TestMergeScaleSectionKeepsTheStoreSection(t *testing.T) {
	sec := func(body string) string { return scaleBegin + "\n" + body + "\n" + scaleEnd + "\n" }
	store := storeBegin + "\nstore\n" + storeEnd + "\n"
	full := "# B\n\n" + store + "\n## Targets\n\nt\n"
	once := mergeSection(full, sec("first"), scaleBegin, scaleEnd)
	if want := "# B\n\n" + store + "\n" + sec("first") + "\n## Targets\n\nt\n"; once != want {
		t.Fatalf("inserted before Targets:\n%s\nwant:\n%s", once, want)
	}
	twice := mergeSection(once, sec("second"), scaleBegin, scaleEnd)
	if strings.Contains(twice, "first") || !strings.Contains(twice, store) || strings.Count(twice, scaleBegin) != 1 {
		t.Fatalf("replaced in place:\n%s", twice)
	}
}

func TestScaleSectionRendersRowsAndVerdicts(t *testing.T) {
	tsv := strings.Join([]string{
		"meta\tcores\t2",
		"scale/100\tjoin\t3",
		"scale/100\tbootstrap_s\t4.9",
		"scale/100\theap_mib_per_peer\t1.5",
		"scale/100\tstack_mib_per_peer\t2.0",
		"scale/100\trss_mib_per_peer\t3.7",
		"scale/100\tlookup_requests\t29",
		"scale/100\tlookup_requests\t31",
		"scale/100\tlookup_rounds\t2",
		"scale/100\tlookup_rounds\t2",
		"scale/100\tdata_hops\t2",
		"scale/100\tdata_hops\t1",
		"scale/1000\tbootstrap_status\tnot converged after 4m0s",
		"scale/1000\theap_mib_per_peer\t3.3",
		"scale/1000\tstack_mib_per_peer\t4.0",
		"scale/1000\trss_mib_per_peer\t7.5",
		"scale/1000\tsettled_heap_mib_per_peer\t3.0",
		"scale/1000\tsettled_stack_mib_per_peer\t1.2",
		"scale/1000\tsettled_rss_mib_per_peer\t4.4",
		"scale/1000\tlookup_requests\t33",
		"scale/1000\tlookup_rounds\t3",
		"scale/1000\tdata_hops\t2",
		"scale/1000/heap\tmocknet\t0.9",
		"scale-job\tranks\t64",
		"scale-job\tok\t1",
		"scale-job\twall_s\t120.5",
		"scale-job\tresult\tallreduce ranks=64 iters=5 sum=31200",
	}, "\n") + "\n"
	r, err := read(strings.NewReader(tsv))
	if err != nil {
		t.Fatal(err)
	}
	if ns := r.scaleNs(); len(ns) != 2 || ns[0] != 100 || ns[1] != 1000 {
		t.Fatalf("scaleNs %v", ns)
	}
	var sb strings.Builder
	(&report{r: r, w: &sb}).scaleSection(false)
	out := sb.String()
	for _, want := range []string{
		scaleBegin, scaleEnd,
		"| 100 | – → – | 4.9 |", "3.500 (1.5 / 2.0)", // heap+stacks
		"not converged after 4m0s",
		"| memory per peer ≤ 6 MiB at N=1000, right after bootstrap | heap+stacks 7.300 MiB, RSS 7.500 MiB per peer | not met |",
		"| memory per peer ≤ 6 MiB at N=1000, settled | heap+stacks 4.200 MiB, RSS 4.400 MiB per peer | met |",
		"| 64-rank allreduce completes on the 1000-peer DVM | 120.5 s, result right | met |",
		"29.00 / 31.00", // requests median / p90 at N=100
		"3.000 / 4.000", // sequential legs: 2+2 and 2+1, nearest rank
		"| mocknet | 0.900 |",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("missing %q in:\n%s", want, out)
		}
	}
}
