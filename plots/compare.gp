# Run comparison: ratio of median latencies B/A per case and implementation (log; below 1 = B
# faster), filled markers where the Mann-Whitney U test on the raw samples gives p < alpha, and
# whiskers for the 95 % bootstrap interval of each ratio (column 6..7, -1 = none).
# Prologue variables: datafile, entries, first and count (the entries of this page), geomean, ylo, yhi, alpha, run_a, run_b,
# variant ("" = every variant), provenance_differs, same_run, footnote.
set title sprintf("%sB / A median latency  (A = %s, B = %s)%s%s\ngeometric mean %.3f; filled = significant (Mann-Whitney, Holm-corrected p < %.2f); bars = 95%% CI", \
    (variant eq "" ? "" : variant . ": "), run_a, run_b, (provenance_differs ? "  WARNING: provenance differs" : ""), \
    (same_run ? "  NOTE: A and B are the same run" : ""), geomean, alpha) font ",11"
set logscale y
set yrange [ylo:yhi]
set xrange [first - 1:first + count]
last = first + count - 1
set format y "%g"
set ytics ("0.01" 0.01, "0.1" 0.1, "0.25" 0.25, "0.5" 0.5, "0.67" 0.6667, "0.8" 0.8, "0.9" 0.9, "1" 1, "1.1" 1.1, "1.25" 1.25, "1.5" 1.5, "2" 2, "4" 4, "10" 10, "100" 100)
set ylabel "B / A (median latency ratio, log; < 1 = B faster)"
set grid ytics mytics lc rgb "#dddddd" lw 0.5
set xtics rotate by -60 left font ",8" nomirror
set key top left font ",10" box opaque
set bmargin 12
set rmargin 24
plot 1 with lines lc rgb "#555555" dt 2 notitle, \
     geomean with lines lc rgb "#1f77b4" lw 1.5 title sprintf("geometric mean %.3f", geomean), \
     datafile every ::first::last using 1:($6 > 0 ? $3 : 1/0):6:7 with yerrorbars pt -1 lw 1.2 lc rgb "#555555" title "95% CI (bootstrap)", \
     datafile every ::first::last using 1:($4 == 1 ? $3 : 1/0):xtic(2) with points pt 7 ps 1.4 lc rgb "#d62728" title "significant", \
     datafile every ::first::last using 1:($4 == 1 ? 1/0 : $3):xtic(2) with points pt 6 ps 1.4 lc rgb "#7f7f7f" title "not significant"
