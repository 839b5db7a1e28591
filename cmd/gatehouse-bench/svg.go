package main

import (
	"bytes"
	"fmt"
	"html"
	"math"
)

// Chart geometry, in SVG user units.
const (
	svgWidth  = 960
	barLeft   = 350 // where the bars start (ratio 0)
	barWidth  = 470 // ratio 0 to the scale's end
	rowHeight = 34
	topMargin = 86
)

// svg draws the report: the ratios first, as bars against their targets
// and the line of parity, then the absolute figures small, then how the
// figures were made. Hand-written SVG, no dependency: a few rectangles,
// lines and text.
func (rep *report) svg() []byte {
	var b bytes.Buffer
	rows := len(rep.Ratios)
	tableTop := topMargin + rows*rowHeight + 40
	height := tableTop + 24 + 18*len(rep.Medians) + 70
	scale := chartScale(rep.Ratios)
	x := func(v float64) float64 { return barLeft + barWidth*math.Min(v, scale)/scale }

	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="system-ui, -apple-system, Segoe UI, Helvetica, Arial, sans-serif" font-size="13">`+"\n", svgWidth, height, svgWidth, height)
	fmt.Fprintf(&b, `<rect width="100%%" height="100%%" fill="#ffffff"/>`+"\n")
	fmt.Fprintf(&b, `<text x="20" y="30" font-size="18" font-weight="600">gatehouse against its baselines, measured side by side</text>`+"\n")
	fmt.Fprintf(&b, `<text x="20" y="52" fill="#555">ratios, median of %d interleaved rounds · green: target met, red: not met, grey: no target · black tick: the target · dashed: parity</text>`+"\n", len(rep.Rounds))

	// parity and scale ticks
	for v := 0.0; v <= scale+1e-9; v += tickStep(scale) {
		fmt.Fprintf(&b, `<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="#eee"/>`+"\n", x(v), topMargin-12, x(v), topMargin+rows*rowHeight-8)
		fmt.Fprintf(&b, `<text x="%.1f" y="%d" text-anchor="middle" fill="#888" font-size="11">%.1f×</text>`+"\n", x(v), topMargin-16, v)
	}
	fmt.Fprintf(&b, `<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="#333" stroke-dasharray="4 3"/>`+"\n", x(1), topMargin-12, x(1), topMargin+rows*rowHeight-8)

	for i, r := range rep.Ratios {
		y := topMargin + i*rowHeight
		color := "#9e9e9e"
		if r.Met != nil && *r.Met {
			color = "#2e7d32"
		} else if r.Met != nil {
			color = "#c62828"
		}
		fmt.Fprintf(&b, `<text x="20" y="%d">%s</text>`+"\n", y+15, html.EscapeString(r.Label))
		fmt.Fprintf(&b, `<rect x="%d" y="%d" width="%.1f" height="20" fill="%s" rx="2"/>`+"\n", barLeft, y+1, x(r.Value)-barLeft, color)
		label := fmt.Sprintf("%.2f×", r.Value)
		if r.Value > scale {
			label += " (off scale)"
		}
		if r.ByCPU > 0 {
			label += fmt.Sprintf(`<tspan font-weight="400" fill="#555"> · by CPU/op %.2f×</tspan>`, r.ByCPU)
		}
		lx := x(r.Value)
		if t := x(r.Target); r.Met != nil && t > lx-4 && t < lx+44 {
			lx = t // clear of the target's tick
		}
		fmt.Fprintf(&b, `<text x="%.1f" y="%d" font-weight="600">%s</text>`+"\n", math.Min(lx, barLeft+barWidth-40)+6, y+15, label)
		if r.Met != nil {
			op := "≤"
			if r.Higher {
				op = "≥"
			}
			fmt.Fprintf(&b, `<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="#000" stroke-width="2"/>`+"\n", x(r.Target), y-2, x(r.Target), y+24)
			fmt.Fprintf(&b, `<text x="%d" y="%d" fill="#555" font-size="11" text-anchor="end">target %s %.2f×</text>`+"\n", svgWidth-10, y+15, op, r.Target)
		}
	}
	rep.svgTable(&b, tableTop)
	return b.Bytes()
}

// svgTable writes the absolute figures and the provenance below the bars.
func (rep *report) svgTable(b *bytes.Buffer, top int) {
	cols := []int{20, 200, 270, 370, 460, 550, 660}
	heads := []string{"scenario", "conns", "per second", "p50", "p99", "CPU/op", "errors"}
	for i, h := range heads {
		fmt.Fprintf(b, `<text x="%d" y="%d" font-weight="600" fill="#333">%s</text>`+"\n", cols[i], top, h)
	}
	y := top
	for _, name := range scenarioOrder {
		r, ok := rep.Medians[name]
		if !ok {
			continue
		}
		y += 18
		cells := []string{name, fmt.Sprint(rep.Config["conns."+name]), fmt.Sprintf("%.1f", r.Rate), roundDur(r.P50).String(), roundDur(r.P99).String(), roundDur(r.CPUPerOp).String(), fmt.Sprint(r.Errors)}
		for i, c := range cells {
			fmt.Fprintf(b, `<text x="%d" y="%d" fill="#333">%s</text>`+"\n", cols[i], y, html.EscapeString(c))
		}
	}
	m := rep.Machine
	fmt.Fprintf(b, `<text x="20" y="%d" fill="#555" font-size="11">%s · %d CPUs, %s · %s · load average %s → %s · store %v, bcrypt cost %v</text>`+"\n",
		y+30, html.EscapeString(m.Date), m.CPUs, html.EscapeString(m.CPUModel), m.Go, m.LoadStart, m.LoadEnd, rep.Config["store"], rep.Config["bcrypt_cost"])
	fmt.Fprintf(b, `<text x="20" y="%d" fill="#555" font-size="11" font-family="monospace">%s</text>`+"\n", y+48, html.EscapeString(rep.Command))
	b.WriteString("</svg>\n")
}

// chartScale is where the bars end: past every ratio and target, at least
// 2.5 so that parity and the usual targets sit in the same places.
func chartScale(rs []ratio) float64 {
	s := 2.5
	for _, r := range rs {
		s = math.Max(s, math.Max(r.Value, r.Target)*1.1)
	}
	return math.Min(math.Ceil(s*2)/2, 10)
}

func tickStep(scale float64) float64 {
	if scale <= 3 {
		return 0.5
	}
	return 1
}
