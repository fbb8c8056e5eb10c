package main

import (
	"fmt"
	"image/color"
	"io"
	"math"
	"os"
	"strings"
	"time"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
	"gonum.org/v1/plot/vg/vgsvg"
)

var runColors = map[string]color.Color{
	"floc":   color.RGBA{R: 0x1f, G: 0x77, B: 0xb4, A: 0xff},
	"routed": color.RGBA{R: 0xd6, G: 0x27, B: 0x28, A: 0xff},
}

var runNames = map[string]string{"floc": "Floc on", "routed": "Floc off (routed)"}

// latencyBin and hopsBin smooth the two panels: the median latency of
// the messages received in each bin, and hops per message over each bin.
const (
	latencyBin = 250 * time.Millisecond
	hopsBin    = 300 * time.Millisecond
)

// plotRuns draws two panels over time since the common start: message
// latency (log scale) and peer hops per message, one line per run, with
// each run's phase starts marked (solid for Floc on, dashed for off).
func plotRuns(path string, runs []*runResult) error {
	lat, hops := plot.New(), plot.New()
	lat.Title.Text = "16 ranks on 64 mocknet peers in 4 sites: message latency and hops, Floc on vs off"
	lat.Y.Label.Text = fmt.Sprintf("one-way latency, ms (median per %v)", latencyBin)
	lat.Y.Scale = plot.LogScale{}
	lat.Y.Tick.Marker = plot.LogTicks{Prec: -1}
	hops.Y.Label.Text = fmt.Sprintf("peer hops per message (per %v)", hopsBin)
	hops.X.Label.Text = "time since the common start (s)"
	hops.Y.Min, hops.Y.Max = 0, 2.2
	var xmax float64
	for _, r := range runs {
		xs := make([]time.Duration, len(r.Msgs))
		ys := make([]float64, len(r.Msgs))
		for i, m := range r.Msgs {
			xs[i], ys[i] = m.Recv, max(ms(m.Latency), 0.01)
		}
		bx, by := binMedians(xs, ys, latencyBin)
		l, err := plotter.NewLine(xyOf(bx, by))
		if err != nil {
			return err
		}
		l.Color = runColors[r.Mode]
		l.Width = vg.Points(1.2)
		lat.Add(l)
		lat.Legend.Add(runNames[r.Mode], l)
		for _, x := range bx {
			xmax = max(xmax, x)
		}

		step := max(int(hopsBin/max(sampleStep(r.Traffic), time.Millisecond)), 1)
		var sub []trafficSample
		for i := 0; i < len(r.Traffic); i += step {
			sub = append(sub, r.Traffic[i])
		}
		at, h := hopsPerMsg(sub)
		var hx, hy []float64
		for i := range at {
			if !math.IsNaN(h[i]) && at[i] >= 0 {
				hx, hy = append(hx, at[i].Seconds()), append(hy, h[i])
			}
		}
		hl, err := plotter.NewLine(xyOf(hx, hy))
		if err != nil {
			return err
		}
		hl.Color = runColors[r.Mode]
		hl.Width = vg.Points(1.2)
		hops.Add(hl)
		hops.Legend.Add(runNames[r.Mode], hl)
	}
	lat.Y.Min = max(lat.Y.Min, 0.1)
	lat.X.Min, hops.X.Min = 0, 0
	lat.X.Max, hops.X.Max = xmax, xmax
	var ticks []plot.Tick
	for x := 0.0; x <= xmax; x += 1 {
		t := plot.Tick{Value: x}
		if int(x)%5 == 0 {
			t.Label = fmt.Sprint(x)
		}
		ticks = append(ticks, t)
	}
	lat.X.Tick.Marker, hops.X.Tick.Marker = plot.ConstantTicks(ticks), plot.ConstantTicks(ticks)
	lat.Legend.Top = true
	hops.Legend.Top = true
	for _, p := range []*plot.Plot{lat, hops} {
		p.Add(plotter.NewGrid())
		for _, r := range runs {
			for _, s := range r.Logs[0].Spans {
				x := s.Start.Seconds()
				mark, err := plotter.NewLine(plotter.XYs{{X: x, Y: p.Y.Min}, {X: x, Y: p.Y.Max}})
				if err != nil {
					return err
				}
				mark.Color = color.Gray{Y: 0x60}
				if r.Mode != "floc" {
					mark.Dashes = []vg.Length{vg.Points(3), vg.Points(3)}
				}
				p.Add(mark)
			}
		}
	}
	// Phase names, at the middle of each phase of each run (its rank 0's
	// spans), the routed run's a line higher.
	for k, r := range runs {
		var lx, ly []float64
		var names []string
		for _, s := range r.Logs[0].Spans {
			lx = append(lx, (s.Start+s.End).Seconds()/2)
			ly = append(ly, 0.12+0.25*float64(k))
			names = append(names, s.Phase+" ("+r.Mode+")")
		}
		labels, err := plotter.NewLabels(plotter.XYLabels{XYs: xyOf(lx, ly), Labels: names})
		if err != nil {
			return err
		}
		for i := range labels.TextStyle {
			labels.TextStyle[i].Color = runColors[r.Mode]
			labels.TextStyle[i].XAlign = draw.XCenter
		}
		hops.Add(labels)
	}

	w, h := vg.Points(900), vg.Points(620)
	// SVG for the repository; PNG (by the file's name) to look at it
	// where nothing renders SVG.
	var c interface {
		vg.CanvasSizer
		io.WriterTo
	}
	if strings.HasSuffix(path, ".png") {
		c = vgimg.PngCanvas{Canvas: vgimg.New(w, h)}
	} else {
		c = vgsvg.New(w, h)
	}
	dc := draw.New(c)
	tiles := draw.Tiles{Rows: 2, Cols: 1, PadX: vg.Millimeter, PadY: vg.Millimeter * 3,
		PadTop: vg.Millimeter * 2, PadBottom: vg.Millimeter * 2, PadLeft: vg.Millimeter * 2, PadRight: vg.Millimeter * 4}
	canvases := plot.Align([][]*plot.Plot{{lat}, {hops}}, tiles, dc)
	lat.Draw(canvases[0][0])
	hops.Draw(canvases[1][0])
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := c.WriteTo(f); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func xyOf(xs, ys []float64) plotter.XYs {
	out := make(plotter.XYs, len(xs))
	for i := range xs {
		out[i].X, out[i].Y = xs[i], ys[i]
	}
	return out
}

// sampleStep is the typical interval between traffic samples.
func sampleStep(ts []trafficSample) time.Duration {
	if len(ts) < 2 {
		return time.Millisecond
	}
	return (ts[len(ts)-1].At - ts[0].At) / time.Duration(len(ts)-1)
}
