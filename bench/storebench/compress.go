package main

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"os"
	"sort"
	"time"

	"github.com/p2pdvm/p2pdvm/storage"
)

// compressConfig says what the compression rows measure.
type compressConfig struct {
	HeatIters, HeatN int
	Repeat           int // timed passes over each input; the median counts
}

// runCompress measures the ratio and speed of the block codec, plain
// zstd and zstd after the 8-byte shuffle, on the heat grid and on random
// bytes of the same size. Both are cut into chunks by storage.Split and
// each chunk encoded on its own, as storage.PutFile does, so the figures
// are the store's and not those of one large zstd frame.
func runCompress(cfg compressConfig, out *results) error {
	t0 := time.Now()
	grid, sum := heatGrid(cfg.HeatIters, cfg.HeatN)
	fmt.Fprintf(os.Stderr, "storebench: heat %d iterations N=%d serially in %.1f s, checksum %.17g\n",
		cfg.HeatIters, cfg.HeatN, time.Since(t0).Seconds(), sum)
	heat := make([]byte, 8*len(grid))
	for i, v := range grid {
		binary.LittleEndian.PutUint64(heat[8*i:], math.Float64bits(v))
	}
	random, _ := io.ReadAll(randomFile(1, int64(len(heat))))
	out.put("store-compress", "input_MiB", fmt.Sprintf("%.1f", float64(len(heat))/(1<<20)))
	out.put("store-compress", "heat", fmt.Sprintf("N=%d after %d iterations, checksum %.17g", cfg.HeatN, cfg.HeatIters, sum))
	for _, in := range []struct {
		name string
		data []byte
	}{{"heat", heat}, {"random", random}} {
		var chunks [][]byte
		if err := storage.Split(bytes.NewReader(in.data), func(c []byte) error {
			chunks = append(chunks, append([]byte(nil), c...))
			return nil
		}); err != nil {
			return err
		}
		out.put("store-compress/"+in.name, "chunks", fmt.Sprint(len(chunks)))
		for _, f := range []struct {
			name string
			f    storage.Filter
		}{{"zstd", storage.FilterNone}, {"zstd+shuffle", storage.FilterShuffle8}} {
			row := "store-compress/" + in.name + "/" + f.name
			if err := measureCodec(chunks, f.f, cfg.Repeat, row, out); err != nil {
				return fmt.Errorf("storebench: %s: %w", row, err)
			}
		}
	}
	return nil
}

// measureCodec encodes and decodes every chunk repeat times and records
// the ratio and the median encode and decode speeds (MB of content/s).
func measureCodec(chunks [][]byte, f storage.Filter, repeat int, row string, out *results) error {
	var raw, stored int64
	var encs, decs []float64
	for r := 0; r < max(repeat, 1); r++ {
		raw, stored = 0, 0
		blocks := make([][]byte, len(chunks))
		t0 := time.Now()
		for i, c := range chunks {
			b, err := storage.Encode(c, f)
			if err != nil {
				return err
			}
			blocks[i] = b
			raw += int64(len(c))
			stored += int64(len(b))
		}
		encs = append(encs, float64(raw)/time.Since(t0).Seconds()/1e6)
		t0 = time.Now()
		for i, b := range blocks {
			// Decode checks the SHA-256 as every read does, so the
			// figure is what a get pays per byte.
			if _, err := storage.Decode(storage.IDOf(chunks[i]), b); err != nil {
				return err
			}
		}
		decs = append(decs, float64(raw)/time.Since(t0).Seconds()/1e6)
	}
	out.put(row, "ratio", fmt.Sprintf("%.3f", float64(raw)/float64(stored)))
	out.put(row, "enc_MBps", fmt.Sprintf("%.1f", median(encs)))
	out.put(row, "dec_MBps", fmt.Sprintf("%.1f", median(decs)))
	fmt.Fprintf(os.Stderr, "storebench: %s: ratio %.2f, encode %.0f MB/s, decode %.0f MB/s\n",
		row, float64(raw)/float64(stored), median(encs), median(decs))
	return nil
}

func median(xs []float64) float64 {
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	if len(s) == 0 {
		return 0
	}
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}
