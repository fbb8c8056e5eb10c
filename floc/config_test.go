package floc

import (
	"strings"
	"testing"
	"time"
)

func TestValidate(t *testing.T) {
	for _, tc := range []struct {
		name string
		edit func(*Config)
		err  string // substring; "" means valid
	}{
		{"defaults", func(c *Config) {}, ""},
		{"disabled zero", func(c *Config) { *c = Config{} }, ""},
		{"disabled ignores the rest", func(c *Config) { c.Enabled = false; c.Window = -1; c.MaxTracked = 0 }, ""},
		{"window zero", func(c *Config) { c.Window = 0 }, "Window must be positive"},
		{"buckets zero", func(c *Config) { c.Buckets = 0 }, "Buckets must be in"},
		{"buckets too many", func(c *Config) { c.Buckets = maxBuckets + 1 }, "Buckets must be in"},
		{"one bucket", func(c *Config) { c.Buckets = 1 }, ""},
		{"buckets finer than 1ns", func(c *Config) { c.Window = 7; c.Buckets = 8 }, "shorter than 8 buckets"},
		{"min msgs zero", func(c *Config) { c.MinMsgs = 0 }, "MinMsgs must be at least 1"},
		{"min bytes zero", func(c *Config) { c.MinBytes = 0 }, "MinBytes must be at least 1"},
		{"quiet zero", func(c *Config) { c.Quiet = 0 }, "Quiet must be positive"},
		{"max shortcuts zero", func(c *Config) { c.MaxShortcuts = 0 }, "MaxShortcuts must be at least 1"},
		{"refresh zero is never", func(c *Config) { c.Refresh = 0 }, ""},
		{"refresh negative", func(c *Config) { c.Refresh = -time.Second }, "Refresh must not be negative"},
		{"tracked equal to shortcuts", func(c *Config) { c.MaxTracked = c.MaxShortcuts }, "MaxTracked (256) must exceed MaxShortcuts (256)"},
		{"smallest", func(c *Config) { c.MaxShortcuts, c.MaxTracked = 1, 2 }, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := DefaultConfig()
			tc.edit(&c)
			err := c.Validate()
			switch {
			case tc.err == "" && err != nil:
				t.Fatalf("unexpected error: %v", err)
			case tc.err != "" && err == nil:
				t.Fatalf("valid, want error %q", tc.err)
			case err != nil && (!strings.HasPrefix(err.Error(), "floc: config: ") || !strings.Contains(err.Error(), tc.err)):
				t.Fatalf("error %q, want %q prefixed floc: config:", err, tc.err)
			}
		})
	}
}

func TestDefaultConfig(t *testing.T) {
	c := DefaultConfig()
	want := Config{true, time.Second, 8, 4, 256 << 10, 10 * time.Second, 256, 5 * time.Second, 4096}
	if c != want {
		t.Fatalf("DefaultConfig() = %+v, want %+v", c, want)
	}
}

func TestNewPanicsOnInvalid(t *testing.T) {
	defer func() {
		r := recover()
		err, ok := r.(error)
		if !ok || !strings.HasPrefix(err.Error(), "floc: config: ") {
			t.Fatalf("recovered %v, want a floc: config: error", r)
		}
	}()
	c := DefaultConfig()
	c.Window = 0
	New(c, nil)
}
