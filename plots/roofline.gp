# Roofline of a run: achieved GFLOP/s against arithmetic intensity for every ok case, one marker
# per implementation, under the measured ceilings (compute roof = peak, slopes = bandwidth per
# memory level). Prologue variables: datafile, impl[1..nimpl], has_ceilings, peak,
# bw[1..nbw], bwname[1..nbw], xlo, xhi, ylo, yhi, title_text, footnote, has_own (the rows
# carry their own ceiling: column 4 of the data, at the level of column 5, drawn as a dotted
# line from each point to a tick at its ceiling).
set title title_text font ",12"
set logscale xy
set xrange [xlo:xhi]
set yrange [ylo:yhi]
set grid xtics ytics mxtics mytics lc rgb "#dddddd" lw 0.5
set format x "%g"
set format y "%g"
set xlabel "arithmetic intensity (FLOP/byte, cost model; log)"
set ylabel "performance (GFLOP/s, log)"
set key bottom right font ",9" samplen 2 box opaque
set bmargin 5
set style line 1 lc rgb "#4d4d4d" pt 5
set style line 2 lc rgb "#1f77b4" pt 7
set style line 3 lc rgb "#2ca02c" pt 9
set style line 4 lc rgb "#d62728" pt 11
set style line 5 lc rgb "#9467bd" pt 13
set style line 6 lc rgb "#ff7f0e" pt 4
set style line 7 lc rgb "#8c564b" pt 6
set style line 8 lc rgb "#e377c2" pt 8
set samples 400
roof(x, b) = (x * b < peak ? x * b : peak)
array ceilcolour[4] = ["#b03030", "#c07020", "#508050", "#406090"]
if (has_ceilings) {
    plot for [i = 1:nbw] roof(x, bw[i]) with lines lc rgb ceilcolour[(i - 1) % 4 + 1] dt 1+i lw 1.4 \
             title sprintf("%s %.0f GB/s", bwname[i], bw[i]), \
         peak with lines lc rgb "#000000" lw 1.5 title sprintf("FP32 peak %.0f GFLOP/s", peak), \
         for [s = 1:nimpl] datafile index (s - 1) using 1:2 with points ls ((s - 1) % 8 + 1) ps 1.3 title impl[s], \
         for [s = 1:(has_own ? nimpl : 0)] datafile index (s - 1) using 1:2:(0):($4 - $2) \
             with vectors nohead dt 3 lw 0.8 lc rgb "#888888" notitle, \
         for [s = 1:(has_own ? nimpl : 0)] datafile index (s - 1) using 1:4 \
             with points pt 2 ps 0.8 lc rgb "#555555" title (s == 1 ? "each row's own ceiling" : "")
} else {
    plot for [s = 1:nimpl] datafile index (s - 1) using 1:2 with points ls ((s - 1) % 8 + 1) ps 1.3 title impl[s]
}
