# Expert-parallel step time projected over the number of nodes (moebench project-ep): one colour
# per network (link speed, or the mpi-bench fit), the whole step solid, the all-to-all phases
# (dispatch + combine) dashed; the expert compute alone in black. Measured runs as points.
# Prologue variables: datafile (blocks: one per network; columns nodes route dispatch expert
# combine total, in ms), nseries, netname[i], has_measured, measured_index, title_text, footnote.
set title title_text font ",11"
set logscale x 2
set logscale y
set xlabel "nodes (ranks, one per node)"
set ylabel "time per step (ms, log)"
set grid xtics ytics mytics lc rgb "#dddddd" lw 0.5
set key outside right top vertical font ",9" box
set rmargin 46
set bmargin 6
set format y "%g"
colors = "#1f77b4 #d62728 #2ca02c #9467bd #ff7f0e #8c564b #e377c2 #17becf"
# the compute first, so the step lines (which include it) are drawn over it
plot datafile index 0 using 1:4 with linespoints lw 3 pt 4 ps 1.5 lc rgb "#000000" title "experts (compute)", \
     datafile index 0 using 1:2 with lines lw 1 dt 3 lc rgb "#777777" title "route", \
     for [i = 1:nseries] datafile index (i - 1) using 1:6 with linespoints lw 1.5 pt 7 ps (1.4 - 0.3 * i) \
         lc rgb word(colors, i) title sprintf("%s: step", netname[i]), \
     for [i = 1:nseries] datafile index (i - 1) using 1:($3 + $5) with lines lw 1.5 dt 2 \
         lc rgb word(colors, i) title sprintf("%s: dispatch + combine", netname[i]), \
     datafile index measured_index using 1:2 with points pt 9 ps 1.8 lc rgb "#000000" \
         title (has_measured ? "measured step (this machine)" : "")
