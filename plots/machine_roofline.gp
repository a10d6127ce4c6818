# This machine's roofline: compute roofs (best ISA, all threads and one thread; AVX2) and read
# bandwidth slopes per memory level (solid: all threads, dashed: one thread). Prologue
# variables: bw[1..nbw], bw1[1..nbw], bwname[1..nbw], threads, peak, peak1, avx2, avx2_1t, and
# the figure style (paper, fig_w, fig_h, font_*, line_in, foot_lines). Okabe-Ito colours.
chart_title = sprintf("Measured roofline of this machine (FP32; %d threads solid, 1 thread dashed)", threads)
if (paper) {
    # a figure: a shorter title, and the key above the plot without the 1-thread lines (the
    # title says they are dashed)
    chart_title = sprintf("This machine (FP32, %d threads; dashed: 1 thread)", threads)
    key_rows = int(ceil((nbw + 2) / (fig_w > 5 ? 3.0 : 2.0)))
    set label 998 chart_title at screen 0.5, 1 - (foot_lines + 0.6) * line_in / fig_h center font font_title noenhanced
    set tmargin at screen 1 - (foot_lines + key_rows + 1.8) * line_in / fig_h
} else {
    set title chart_title font font_title noenhanced
}
set logscale xy
set xrange [1.0/64:256]
set yrange [0.5:peak * 3]
set grid xtics ytics mxtics mytics lc rgb "#dddddd" lw 0.5
set xtics enhanced
set ytics enhanced
eval logfmt("x", 1.0/64, 256)
eval logfmt("y", 0.5, peak * 3)
set xlabel "arithmetic intensity (FLOP/byte, log)" font font_label
set ylabel "performance (GFLOP/s, log)" font font_label
if (paper) {
    set key at screen 0.5, 1 - (foot_lines + 1.4) * line_in / fig_h center top horizontal maxrows key_rows font font_key samplen 2 noenhanced
} else {
    set key bottom right font font_key samplen 3 box opaque noenhanced
}
if (!paper) { set bmargin 5 }
set samples 500
array colour[4] = ["#D55E00", "#E69F00", "#009E73", "#0072B2"]
roof(x, b, p) = (x * b < p ? x * b : p)
plot for [i = 1:nbw] roof(x, bw[i], peak) with lines lc rgb colour[i] lw 2 dt 1 \
         title sprintf(paper ? "%s %.0f GB/s" : "%s read %.1f GB/s", bwname[i], bw[i]), \
     for [i = 1:nbw] roof(x, bw1[i], peak1) with lines lc rgb colour[i] lw 1.2 dt 2 \
         title (paper ? "" : sprintf("%s read %.1f GB/s (1 thread)", bwname[i], bw1[i])), \
     peak with lines lc rgb "black" lw 2 dt 1 title sprintf(paper ? "peak %.0f GFLOP/s" : "FP32 peak %.1f GFLOP/s", peak), \
     peak1 with lines lc rgb "black" lw 1.2 dt 2 title (paper ? "" : sprintf("FP32 peak %.1f GFLOP/s (1 thread)", peak1)), \
     (avx2 > 0 ? avx2 : 1/0) with lines lc rgb "#7f7f7f" lw 1 dt 4 title sprintf(paper ? "AVX2 %.0f GFLOP/s" : "AVX2 peak %.1f GFLOP/s", avx2)
