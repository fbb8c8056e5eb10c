package main

import (
	"strings"
	"testing"
)

func TestMergeReplacesOrInsertsTheStoreSection(t *testing.T) {
	sec := func(body string) string { return storeBegin + "\n" + body + "\n" + storeEnd + "\n" }
	full := "# B\n\n## Idle\n\nx\n\n## Targets\n\nt\n"
	once := merge(full, sec("first"))
	if want := "# B\n\n## Idle\n\nx\n\n" + sec("first") + "\n## Targets\n\nt\n"; once != want {
		t.Fatalf("inserted before Targets:\n%s\nwant:\n%s", once, want)
	}
	twice := merge(once, sec("second"))
	if strings.Contains(twice, "first") || strings.Count(twice, storeBegin) != 1 || !strings.Contains(twice, "second\n"+storeEnd+"\n\n## Targets") {
		t.Fatalf("replaced in place:\n%s", twice)
	}
	if got := merge("# B\n", sec("s")); got != "# B\n\n"+sec("s") {
		t.Fatalf("appended:\n%q", got)
	}
}
