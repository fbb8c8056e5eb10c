package main

import (
	"os"
	"time"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"

	"github.com/p2pdvm/p2pdvm/dvm"
)

// transferBar returns a progress callback that draws a bar with bytes,
// throughput and time left on stderr, and a function that finishes it.
// The bar is drawn only when stdout is a terminal: a script that reads
// the output (cid=$(p2pdvm store put f)) sees nothing but the result.
// It goes to stderr so it never mixes with what stdout carries.
func transferBar(desc string) (dvm.Progress, func()) {
	if !term.IsTerminal(int(os.Stdout.Fd())) || !term.IsTerminal(int(os.Stderr.Fd())) {
		return nil, func() {}
	}
	var bar *progressbar.ProgressBar
	progress := func(done, total int64) {
		if bar == nil {
			bar = progressbar.NewOptions64(total,
				progressbar.OptionSetWriter(os.Stderr),
				progressbar.OptionSetDescription(desc),
				progressbar.OptionShowBytes(true),
				progressbar.OptionShowCount(),
				progressbar.OptionShowTotalBytes(true),
				progressbar.OptionSetPredictTime(true),
				progressbar.OptionSetWidth(30),
				progressbar.OptionThrottle(100*time.Millisecond),
				progressbar.OptionClearOnFinish(),
			)
		}
		_ = bar.Set64(done)
	}
	return progress, func() {
		if bar != nil {
			_ = bar.Finish()
		}
	}
}
