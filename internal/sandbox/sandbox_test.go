package sandbox

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// The test binary is its own trampoline, as p2pdvm is.
func TestMain(m *testing.M) {
	Main()
	os.Exit(m.Run())
}

func TestConfinedToWorkDir(t *testing.T) {
	if ABI() == 0 {
		t.Skip("this kernel has no Landlock: ranks run unconfined")
	}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Skip("no sh")
	}
	work, outside, shared := t.TempDir(), t.TempDir(), t.TempDir()
	for path, s := range map[string]string{
		filepath.Join(work, "mine"):            "mine",
		filepath.Join(outside, "identity.key"): "secret",
		filepath.Join(shared, "input"):         "shared",
	} {
		if err := os.WriteFile(path, []byte(s), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	run := func(pol Policy, script string) string {
		argv := Command(self, pol, sh, []string{"sh", "-c", script})
		out, _ := exec.Command(argv[0], argv[1:]...).CombinedOutput()
		return string(out)
	}
	pol := Policy{Work: work, Exec: sh}
	script := `cat "$1/mine" && echo new > "$1/new" && echo wrote;
		cat "$2/identity.key" || echo no-read;
		echo x > "$2/planted" || echo no-write;
		cat "$3/input" || echo no-shared`
	script = strings.NewReplacer("$1", work, "$2", outside, "$3", shared).Replace(script)
	out := run(pol, script)
	for _, want := range []string{"mine", "wrote", "no-read", "no-write", "no-shared"} {
		if !strings.Contains(out, want) {
			t.Errorf("confined run: no %q in:\n%s", want, out)
		}
	}
	if strings.Contains(out, "secret") {
		t.Errorf("a confined process read a file outside its work dir:\n%s", out)
	}
	if _, err := os.Stat(filepath.Join(outside, "planted")); err == nil {
		t.Error("a confined process wrote outside its work dir")
	}
	pol.Read = []string{shared}
	if out := run(pol, script); !strings.Contains(out, "shared") {
		t.Errorf("a directory shared read-only could not be read:\n%s", out)
	}
}
