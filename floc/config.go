package floc

import (
	"fmt"
	"time"
)

// Config is Floc's policy. The zero Config is disabled, which is the
// baseline: every message routed through the owner of its key.
type Config struct {
	// Enabled false: Next never offers a shortcut and Learned never
	// installs one. None of the other fields are read then.
	Enabled bool
	// Window is how far back traffic is counted (default 1s).
	Window time.Duration
	// Buckets is the resolution of the window (default 8): counts expire
	// a bucket at a time, so the window really spans between
	// Window*(Buckets-1)/Buckets and Window.
	Buckets int
	// A destination is chatty with at least MinMsgs messages in the
	// window (default 8) ...
	MinMsgs int
	// ... or at least MinBytes bytes in the window (default 256 KiB).
	MinBytes int64
	// Quiet: a shortcut unused for this long is dropped by Sweep
	// (default 10s).
	Quiet time.Duration
	// MaxShortcuts caps the shortcuts held; the least recently used goes
	// first (default 256).
	MaxShortcuts int
	// Refresh: a shortcut validated longer ago than this sends its next
	// message routed, and the reply revalidates it (default 5s; 0 means
	// never).
	Refresh time.Duration
	// MaxTracked caps the destinations whose traffic is counted at once,
	// those holding a shortcut included; the least recently seen without
	// a shortcut is forgotten first (default 4096). It must exceed
	// MaxShortcuts so that a new destination always finds a counter it
	// may forget.
	MaxTracked int
}

// maxBuckets bounds the memory of one counted destination (16 bytes a
// bucket); finer resolution than this buys nothing at these rates.
const maxBuckets = 1024

// DefaultConfig is Floc enabled with the defaults justified in the
// package documentation.
func DefaultConfig() Config {
	return Config{
		Enabled:      true,
		Window:       time.Second,
		Buckets:      8,
		MinMsgs:      4,
		MinBytes:     256 << 10,
		Quiet:        10 * time.Second,
		MaxShortcuts: 256,
		Refresh:      5 * time.Second,
		MaxTracked:   4096,
	}
}

// Validate reports the first field that makes c unusable. A disabled
// Config is always valid, since nothing else in it is read.
func (c *Config) Validate() error {
	if !c.Enabled {
		return nil
	}
	switch {
	case c.Window <= 0:
		return fmt.Errorf("floc: config: Window must be positive, got %v", c.Window)
	case c.Buckets < 1 || c.Buckets > maxBuckets:
		return fmt.Errorf("floc: config: Buckets must be in [1, %d], got %d", maxBuckets, c.Buckets)
	case c.Window < time.Duration(c.Buckets):
		return fmt.Errorf("floc: config: Window %v is shorter than %d buckets of 1ns", c.Window, c.Buckets)
	case c.MinMsgs < 1:
		return fmt.Errorf("floc: config: MinMsgs must be at least 1, got %d", c.MinMsgs)
	case c.MinBytes < 1:
		return fmt.Errorf("floc: config: MinBytes must be at least 1, got %d", c.MinBytes)
	case c.Quiet <= 0:
		return fmt.Errorf("floc: config: Quiet must be positive, got %v", c.Quiet)
	case c.MaxShortcuts < 1:
		return fmt.Errorf("floc: config: MaxShortcuts must be at least 1, got %d", c.MaxShortcuts)
	case c.Refresh < 0:
		return fmt.Errorf("floc: config: Refresh must not be negative, got %v", c.Refresh)
	case c.MaxTracked <= c.MaxShortcuts:
		return fmt.Errorf("floc: config: MaxTracked (%d) must exceed MaxShortcuts (%d)", c.MaxTracked, c.MaxShortcuts)
	}
	return nil
}
