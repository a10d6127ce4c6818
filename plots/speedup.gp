# Speedup of each implementation over `base` (base median / median; above 1 = faster than base),
# over tokens, one panel per variant at fixed shapes. Variables from the prologue: datafile,
# panel[1..npanel], impl[1..nimpl], implstyle[1..nimpl] (line types), base,
# pxlo/pxhi/pylo/pyhi[1..npanel] (each panel's range, for logfmt), first, count (the panels of
# this page), footnote, and the figure style (paper, fig_w, fig_h, font_*, line_in, foot_lines).
# this page: panels first + 1 .. first + count (prologue), in a grid shaped like the figure
cols = int(ceil(sqrt(count * fig_w / fig_h / 1.4)))
cols = cols > count ? count : (cols < 1 ? 1 : cols)
rows = int(ceil(count * 1.0 / cols))
chart_title = sprintf("Speedup over %s (median latency ratio; > 1 is faster)", base)
if (paper) {
    # a figure has no chart title (the caption's job): the footnote, one key for all panels,
    # then the panels, each with its title; every length in inches. The key is a plot of its
    # own across the figure (a key inside a panel is only as wide as the panel).
    key_cols = int((fig_w - 0.2) / 0.9)
    key_rows = int(ceil(nimpl * 1.0 / key_cols))
    top_in = (foot_lines + key_rows + panel_title_lines + 0.4) * line_in + 0.06
    pl = 0.62; pr = 0.1; pb = 0.48; sx = 0.62; sy = 0.45 + panel_title_lines * line_in
    pw = (fig_w - pl - pr - (cols - 1) * sx) / cols
    ph = (fig_h - top_in - pb - (rows - 1) * sy) / rows
    set multiplot
    unset border
    unset tics
    set lmargin at screen 0
    set rmargin at screen 1
    set tmargin at screen 1
    set bmargin at screen 0
    set key at screen 0.5, 1 - (foot_lines + 0.2) * line_in / fig_h center top horizontal maxrows key_rows font font_key samplen 2.5 noenhanced
    plot [0:1][0:1] NaN notitle, for [s = 1:nimpl] keyentry with linespoints lt (40 + implstyle[s]) lw 1.5 ps 0.9 title impl[s]
    unset key
    set border
    set tics
} else {
    set multiplot layout rows, cols title chart_title font font_title noenhanced margins 0.07, 0.98, 0.09, 0.92 spacing 0.08, 0.10
    set key top left font font_key samplen 2 noenhanced
}
set logscale xy
# the range of the data (plus the offsets), not widened to whole decades
set autoscale fix
set grid xtics ytics mxtics mytics lc rgb "#dddddd" lw 0.5
set xlabel "tokens T (log)" font font_label
set ylabel sprintf("speedup over %s (x, log)", base) font font_label noenhanced
set xtics enhanced
set ytics enhanced
set offsets graph 0.05, graph 0.05, graph 0.1, graph 0.1
do for [p = first + 1:first + count] {
    if (paper) {
        i = p - first - 1
        x0 = pl + (i % cols) * (pw + sx)
        y0 = fig_h - top_in - int(i / cols) * (ph + sy)
        set lmargin at screen x0 / fig_w
        set rmargin at screen (x0 + pw) / fig_w
        set tmargin at screen y0 / fig_h
        set bmargin at screen (y0 - ph) / fig_h
    }
    set title panel[p] font font_panel noenhanced
    eval logfmt("x", pxlo[p], pxhi[p])
    eval logfmt("y", pylo[p], pyhi[p])
    plot 1 with lines lc rgb "#888888" dt 2 notitle, \
         for [s = 1:nimpl] datafile index ((p - 1) * nimpl + s - 1) using 1:2 \
         with linespoints lt (40 + implstyle[s]) lw 1.5 ps 0.9 title (!paper && p == first + 1 ? impl[s] : "")
}
