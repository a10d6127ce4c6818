# Run comparison: ratio of median latencies B/A per case and implementation (log; below 1 = B
# faster), filled markers where the Mann-Whitney U test on the raw samples gives p < alpha, and
# whiskers for the 95 % bootstrap interval of each ratio (column 6..7, -1 = none).
# Prologue variables: datafile, entries, first and count (the entries of this page), geomean, ylo, yhi, alpha, run_a, run_b,
# variant ("" = every variant), provenance_differs, same_run, footnote, and the figure style
# (paper, fig_w, fig_h, font_*, line_in, foot_lines). Okabe-Ito colours; significant and not are
# told apart by filled vs open marks.
chart_title = sprintf("%sB / A median latency  (A = %s, B = %s)%s%s\ngeometric mean %.3f; filled = significant (Mann-Whitney, Holm-corrected p < %.2f); bars = 95%% CI", \
    (variant eq "" ? "" : variant . ": "), run_a, run_b, (provenance_differs ? "  WARNING: provenance differs" : ""), \
    (same_run ? "  NOTE: A and B are the same run" : ""), geomean, alpha)
if (paper) {
    # a figure: footnote (which names A and B) and a short title at the top
    chart_title = sprintf("%sB / A median latency\n(filled: p < %.2f; bars: 95%% CI)%s%s", \
        (variant eq "" ? "" : variant . ": "), alpha, \
        (provenance_differs ? "\nWARNING: provenance differs" : ""), (same_run ? "\nNOTE: A and B are the same run" : ""))
    title_lines = 2 + (provenance_differs ? 1 : 0) + (same_run ? 1 : 0)
    key_rows = 2
    set label 998 chart_title at screen 0.5, 1 - (foot_lines + 0.6) * line_in / fig_h center font font_title noenhanced
    set tmargin at screen 1 - (foot_lines + title_lines + key_rows + 0.6) * line_in / fig_h
    set key at screen 0.5, 1 - (foot_lines + title_lines + 0.3) * line_in / fig_h center top horizontal maxrows key_rows font font_key samplen 1.5 noenhanced
    set rmargin at screen 1 - 0.1 / fig_w
} else {
    set title chart_title font font_title noenhanced
}
set logscale y
set yrange [ylo:yhi]
set xrange [first - 1:first + count]
last = first + count - 1
set format y "%g"
set ytics ("0.01" 0.01, "0.1" 0.1, "0.25" 0.25, "0.5" 0.5, "0.67" 0.6667, "0.8" 0.8, "0.9" 0.9, "1" 1, "1.1" 1.1, "1.25" 1.25, "1.5" 1.5, "2" 2, "4" 4, "10" 10, "100" 100)
set ylabel (paper ? "B / A (log)" : "B / A (median latency ratio, log; < 1 = B faster)") font font_label
set grid ytics mytics lc rgb "#dddddd" lw 0.5
if (paper) {
    set xtics rotate by 60 right font font_tic nomirror noenhanced
    set ytics ("0.1" 0.1, "0.5" 0.5, "0.8" 0.8, "1" 1, "1.25" 1.25, "2" 2, "10" 10)
} else {
    set xtics rotate by -60 left font font_tic nomirror noenhanced
}
if (!paper) { set key top left font font_key box opaque noenhanced }
if (!paper) { set bmargin 12; set rmargin 24 }
plot 1 with lines lc rgb "#555555" dt 2 notitle, \
     geomean with lines lc rgb "#0072B2" lw 1.5 dt 1 title sprintf(paper ? "geomean %.3f" : "geometric mean %.3f", geomean), \
     datafile every ::first::last using 1:($6 > 0 ? $3 : 1/0):6:7 with yerrorbars pt -1 lw 1.2 lc rgb "#555555" title (paper ? "95% CI" : "95% CI (bootstrap)"), \
     datafile every ::first::last using 1:($4 == 1 ? $3 : 1/0):xtic(2) with points pt 7 ps 1.4 lc rgb "#D55E00" title "significant", \
     datafile every ::first::last using 1:($4 == 1 ? 1/0 : $3):xtic(2) with points pt 6 ps 1.4 lc rgb "#000000" title (paper ? "not" : "not significant")
