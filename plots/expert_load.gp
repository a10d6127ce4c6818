# Expert load of the routed variants per case: expert_load_max (tokens of the busiest expert
# divided by the balanced count T*k/E; 1 = balanced) and the load-balance loss
# L_aux = E * sum_e F_e P_e (k when perfectly balanced), with every expert's own load (its count
# after capacity drops over T*k/E) as points over the case's bar. Prologue variables: datafile,
# countsfile ("case expert load" lines; "" for runs without the expert_counts column),
# load_top and aux_top (largest values over all pages, 0 when none: a column of only NaN has no
# statistics to take), load_cap and aux_cap (an axis cut at this value, 0: none; a cut bar gets
# a break and its value), label_chars, footnote, first and count (the cases of this page), and
# the figure style (paper, fig_w, fig_h, font_*, line_in, foot_lines).
chart_title = "Expert load per case (routed variants)"
if (paper) {
    bot_in = 0.2 + label_chars * 0.067 * 0.71
    lm_in = label_chars * 0.067 * 0.71 - 0.1
    lm_in = lm_in > 0.62 ? lm_in : 0.62
    # the key (five entries) is at most a panel wide
    key_cols = int((fig_w - lm_in - 0.1) / 1.7)
    key_rows = int(ceil(5.0 / (key_cols < 1 ? 1 : key_cols)))
    top_in = (foot_lines + 1.6 + key_rows) * line_in + 0.04
    set label 998 chart_title at screen 0.5, 1 - (foot_lines + 0.6) * line_in / fig_h center font font_title noenhanced
    set multiplot layout 2, 1 margins lm_in / fig_w, 1 - 0.08 / fig_w, bot_in / fig_h, 1 - top_in / fig_h spacing 0, 0.12 / fig_h
    set key at screen 0.5, 1 - (foot_lines + 1.4) * line_in / fig_h center top horizontal font font_key samplen 1.5 noenhanced
} else {
    set multiplot layout 2, 1 title chart_title font font_title noenhanced margins 0.08, 0.85, 0.2, 0.92 spacing 0, 0.06
    set key outside right top font font_key box opaque noenhanced
}
set style data histogram
set style histogram clustered gap 1
set style fill solid 0.85 border -1
set boxwidth 0.8
set grid ytics lc rgb "#dddddd" lw 0.5
set xrange [-0.6:count - 0.4]
last = first + count - 1
# a page of one case is not cut (see below; one case has no outlier anyway)
cut = count > 1 ? load_cap : 0
set yrange [0:(cut > 0 ? cut : load_top > 0 ? load_top * 1.15 : 1.5)]
set ylabel "busiest / balanced" font font_label
set xtics scale 0 format "" nomirror
# a cut bar: drawn to the top of the axis with a white gap near its top and its value above
# (the plot is a fixed string: no text from the results is part of it)
# (gnuplot 5.4 crashes on a `with labels` plot of a single point that is undefined: the cut
# marks are plotted only when there is a cut)
top_plot = "datafile every ::first::last using (cut > 0 && $2 > cut ? cut : $2) lc rgb '#0072B2' dt 1 title 'expert_load_max', " . \
    "1 with lines lc rgb '#000000' dt 2 title 'balanced (= 1)'"
if (strlen(countsfile) > 0) {
    top_plot = top_plot . ", countsfile using ($1 >= first && $1 <= last ? $1 - first : NaN):(cut > 0 && $3 > cut ? cut : $3) with points pt 7 ps 0.9 lc rgb '#E69F00' title 'each expert'"
}
if (cut > 0) {
    top_plot = top_plot . ", '' every ::first::last using 0:($2 > cut ? cut * 0.9 : 1/0):(0.3):(cut * 0.025) with boxxyerror fs solid 1.0 noborder lc rgb 'white' notitle, " . \
        "'' every ::first::last using 0:($2 > cut ? cut : 1/0):(sprintf('%.3g', $2)) with labels offset 0, char 0.6 font font_tic notitle"
}
if (paper) {
    # one key for both panels: the lower panel's entries too
    eval "plot " . top_plot . ", keyentry with boxes fs pattern 4 border lc rgb 'black' lc rgb '#D55E00' dt 1 title 'L_aux', keyentry with points pt 9 ps 1.6 lc rgb '#000000' title 'balanced (= k)'"
} else {
    eval "plot " . top_plot
}
if (paper) { unset key }
cut = count > 1 ? aux_cap : 0
set yrange [0:(cut > 0 ? cut : aux_top > 0 ? aux_top * 1.15 : 1)]
set ylabel "aux loss L_{aux}" font font_label
if (paper) {
    set xtics rotate by 45 right font font_tic nomirror scale 1 noenhanced
} else {
    set xtics rotate by -40 left font font_tic nomirror scale 1 noenhanced
}
bottom_plot = "datafile every ::first::last using (cut > 0 && $3 > cut ? cut : $3):xtic(1) fs pattern 4 border lc rgb 'black' lc rgb '#D55E00' dt 1 title 'L_aux', " . \
    "'' every ::first::last using 0:4 with points pt 9 ps 1.6 lc rgb '#000000' title 'balanced (= k)'"
if (cut > 0) {
    bottom_plot = bottom_plot . ", '' every ::first::last using 0:($3 > cut ? cut * 0.9 : 1/0):(0.3):(cut * 0.025) with boxxyerror fs solid 1.0 noborder lc rgb 'white' notitle, " . \
        "'' every ::first::last using 0:($3 > cut ? cut : 1/0):(sprintf('%.3g', $3)) with labels offset 0, char 0.6 font font_tic notitle"
}
eval "plot " . bottom_plot
