# Roofline of a run: achieved GFLOP/s against arithmetic intensity for every ok case, one marker
# per implementation, under the measured ceilings (compute roof = peak, slopes = bandwidth per
# memory level); each point labelled by its token count T. Prologue variables: datafile,
# impl[1..nimpl], implstyle[1..nimpl] (line types), has_ceilings, peak, bw[1..nbw],
# bwname[1..nbw], xlo, xhi, ylo, yhi, title_text, title_lines, footnote, and the figure style
# (paper, fig_w, fig_h, font_*, line_in, foot_lines), has_own (the rows carry their own
# ceiling: column 5 of the data, at the level of column 6, drawn as a dotted line from each
# point to a tick at its ceiling).
if (paper) {
    # a figure: footnote, title and the key of the implementations at the top (inside, the
    # key would hide points); the ceilings are named on their lines
    key_rows = int(ceil(nimpl / 3.0))
    set label 998 title_text at screen 0.5, 1 - (foot_lines + 0.6) * line_in / fig_h center font font_title noenhanced
    set tmargin at screen 1 - (foot_lines + title_lines + key_rows + 0.6) * line_in / fig_h
} else {
    set title title_text font font_title noenhanced
}
set logscale xy
set xrange [xlo:xhi]
set yrange [ylo:yhi]
set grid xtics ytics mxtics mytics lc rgb "#dddddd" lw 0.5
set xtics enhanced
set ytics enhanced
eval logfmt("x", xlo, xhi)
eval logfmt("y", ylo, yhi)
set xlabel "arithmetic intensity (FLOP/byte, cost model; log)" font font_label
set ylabel "performance (GFLOP/s, log)" font font_label
if (paper) {
    set key at screen 0.5, 1 - (foot_lines + title_lines + 0.3) * line_in / fig_h center top horizontal maxrows key_rows font font_key samplen 1 noenhanced
    if (has_ceilings) {
        # the angle a bandwidth slope (1 decade up per decade right) makes on the page
        plot_w_in = fig_w - 0.95
        plot_h_in = fig_h - (foot_lines + title_lines + key_rows + 0.6) * line_in - 0.55
        slope_deg = atan2(plot_h_in / log10(yhi / ylo), plot_w_in / log10(xhi / xlo)) * 180 / pi
        do for [i = 1:nbw] {
            # at the left end of the slope, or where it enters the plot from below
            lx = (bw[i] * xlo * 1.2 > ylo ? xlo * 1.2 : ylo / bw[i] * 1.2)
            if (bw[i] * lx < peak) {
                set label (900 + i) sprintf("%s %.0f GB/s", bwname[i], bw[i]) at lx, bw[i] * lx left rotate by slope_deg offset 0, char 0.6 font font_tic textcolor rgb "#505050" noenhanced
            }
        }
        set label 990 sprintf("FP32 peak %.0f GFLOP/s", peak) at xhi / 1.1, peak right offset 0, char 0.6 font font_tic textcolor rgb "#303030"
    }
} else {
    set key bottom right font font_key samplen 2 box opaque noenhanced
}
if (!paper) { set bmargin 5 }
set samples 400
roof(x, b) = (x * b < peak ? x * b : peak)
array ceilcolour[4] = ["#303030", "#555555", "#7a7a7a", "#9a9a9a"]
if (has_ceilings) {
    plot for [i = 1:nbw] roof(x, bw[i]) with lines lc rgb ceilcolour[(i - 1) % 4 + 1] dt 1+i lw 1.4 \
             title (paper ? "" : sprintf("%s %.0f GB/s", bwname[i], bw[i])), \
         peak with lines lc rgb "#000000" lw 1.5 dt 1 title (paper ? "" : sprintf("FP32 peak %.0f GFLOP/s", peak)), \
         for [s = 1:nimpl] datafile index (s - 1) using 1:2 with points lt (40 + implstyle[s]) ps 1.3 title impl[s], \
         for [s = 1:(has_own ? nimpl : 0)] datafile index (s - 1) using 1:2:(0):($5 - $2) \
             with vectors nohead dt 3 lw 0.8 lc rgb "#888888" notitle, \
         for [s = 1:(has_own ? nimpl : 0)] datafile index (s - 1) using 1:5 \
             with points pt 2 ps 0.8 lc rgb "#555555" title (s == 1 ? (paper ? "own ceiling" : "each row's own ceiling") : ""), \
         datafile index nimpl using 1:($4 > 0 ? $2 : 1/0):(sprintf("T=%g", $3)) with labels center offset 0, char 0.9 font font_tic notitle, \
         datafile index nimpl using 1:($4 < 0 ? $2 : 1/0):(sprintf("T=%g", $3)) with labels center offset 0, char -0.9 font font_tic notitle
} else {
    plot for [s = 1:nimpl] datafile index (s - 1) using 1:2 with points lt (40 + implstyle[s]) ps 1.3 title impl[s], \
         datafile index nimpl using 1:($4 > 0 ? $2 : 1/0):(sprintf("T=%g", $3)) with labels center offset 0, char 0.9 font font_tic notitle, \
         datafile index nimpl using 1:($4 < 0 ? $2 : 1/0):(sprintf("T=%g", $3)) with labels center offset 0, char -0.9 font font_tic notitle
}
