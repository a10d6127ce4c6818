# Latency over tokens: one panel per variant (at fixed shapes), one line per implementation,
# error bars = distribution-free 95 % CI of the median. Variables come from the prologue:
# datafile, panel[1..npanel], impl[1..nimpl], first, count (the panels of this page), footnote.
# this page: panels first + 1 .. first + count (prologue), in a near-square grid
cols = int(ceil(sqrt(count)))
rows = int(ceil(count * 1.0 / cols))
set multiplot layout rows, cols title "Latency vs tokens (median, 95% CI of the median)" font ",13" margins 0.07, 0.98, 0.09, 0.92 spacing 0.08, 0.10
set logscale xy
set grid xtics ytics mxtics mytics lc rgb "#dddddd" lw 0.5
set format y "%g"
set xlabel "tokens T (log)"
set ylabel "latency (µs, log)"
set key top left font ",9" samplen 2
set style line 1 lc rgb "#4d4d4d" pt 5
set style line 2 lc rgb "#1f77b4" pt 7
set style line 3 lc rgb "#2ca02c" pt 9
set style line 4 lc rgb "#d62728" pt 11
set style line 5 lc rgb "#9467bd" pt 13
set style line 6 lc rgb "#ff7f0e" pt 4
set style line 7 lc rgb "#8c564b" pt 6
set style line 8 lc rgb "#e377c2" pt 8
set style increment user
set offsets graph 0.05, graph 0.05, graph 0.05, graph 0.05
do for [p = first + 1:first + count] {
    set title panel[p] font ",10"
    plot for [s = 1:nimpl] datafile index ((p - 1) * nimpl + s - 1) using 1:2:3:4 \
         with yerrorlines ls ((s - 1) % 8 + 1) lw 1.5 ps 0.9 title (p == first + 1 ? impl[s] : "")
}
