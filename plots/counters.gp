# Counters per forward, one panel per ctr_ column that has values, one bar per implementation.
# Unavailable counters (empty columns) and counters that are zero everywhere are not drawn; the
# title names the latter. Every value is per forward call (the counting pass's total divided by
# its forwards): perf task-clock in ns (or the --units unit), the others as counts. Prologue
# variables: datafile, title_text, title_lines, rows, cols, first and count (the cases of this
# page), counter[1..ncounter], unit[1..ncounter] (y-axis label), logy[1..ncounter] (log axis
# only when every value is positive), cut[1..ncounter] (a linear axis cut at this value, 0:
# none; cut bars get a break and their value), vlo/vhi[1..ncounter] (value ranges),
# impl[1..nimpl], implstyle[1..nimpl] (line types: colour and fill pattern), label_chars,
# footnote, and the figure style (paper, fig_w, fig_h, font_*, line_in, foot_lines).
if (paper) {
    # a figure: footnote, title and keys at the top; the bottom holds the rotated labels
    # the key sits in the first panel, so it is at most a panel wide
    key_cols = int(((fig_w - 0.7 - (cols - 1) * 0.65) / cols) / 0.95)
    key_cols = key_cols < 1 ? 1 : key_cols
    key_rows = int(ceil(nimpl * 1.0 / key_cols))
    top_in = (foot_lines + title_lines + key_rows + 1.2) * line_in + 0.04
    bot_in = 0.15 + label_chars * 0.067 * 0.71
    lm_in = label_chars * 0.067 * 0.71 - 0.1
    lm_in = lm_in > 0.62 ? lm_in : 0.62
    set label 998 title_text at screen 0.5, 1 - (foot_lines + 0.6) * line_in / fig_h center font font_title noenhanced
    set multiplot layout rows, cols margins lm_in / fig_w, 1 - 0.08 / fig_w, bot_in / fig_h, 1 - top_in / fig_h spacing 0.65 / fig_w, (bot_in + 0.2) / fig_h
    set xtics rotate by 45 right font font_tic nomirror noenhanced
} else {
    set multiplot layout rows, cols title title_text font font_title noenhanced margins 0.07, 0.95, 0.2, 0.92 spacing 0.07, 0.12
    set xtics rotate by -50 left font font_tic nomirror noenhanced
}
set style data histogram
set style histogram clustered gap 1
set style fill solid 0.85 border -1
set boxwidth 0.9
set grid ytics lc rgb "#dddddd" lw 0.5
set ytics enhanced
set xrange [-0.6:count - 0.4]
last = first + count - 1
# the x of bar s in case c of a clustered histogram (cases at 0, 1, ...; gap 1)
barx(c, s) = c + (s - 1 - (nimpl - 1) / 2.0) / (nimpl + 1.0)
do for [k = 1:ncounter] {
    set title counter[k] font font_panel noenhanced
    if (k == 1) {
        if (paper) {
            set key at screen 0.5, 1 - (foot_lines + title_lines + 0.3) * line_in / fig_h center top horizontal maxrows key_rows font font_key samplen 1.5 noenhanced
        } else {
            set key top left font font_key samplen 2 box opaque noenhanced
        }
    } else {
        unset key
    }
    # a page of one case is not cut (gnuplot 5.4 crashes on a `with labels` plot of a single
    # undefined point, and one case has no outlier anyway)
    c0 = count > 1 ? cut[k] : 0
    if (logy[k]) {
        set logscale y; set yrange [*:*]; set ylabel sprintf("%s (log)", unit[k]) font font_label noenhanced
        eval logfmt("y", vlo[k], vhi[k])
    } else {
        unset logscale y; set format y "%g"; set ytics autofreq
        # (an undefined bound, 1/0, is an error in `set yrange`, not "automatic")
        if (c0 > 0) { set yrange [0:c0] } else { set yrange [0:*] }
        set ylabel unit[k] font font_label noenhanced
    }
    # a cut bar: drawn to the top of the axis, a white gap near its top (the break) and its
    # value above the axis
    # (gnuplot 5.4 crashes on a `with labels` plot of a single point that is undefined: the
    # cut marks are drawn only when there is a cut)
    if (c0 > 0) {
        plot for [s = 1:nimpl] datafile index (k - 1) every ::first::last \
             using (c0 > 0 && column(s + 1) > c0 ? c0 : column(s + 1)):xtic(1) \
             lt (40 + implstyle[s]) dt 1 fs pattern implpat[implstyle[s]] border lc rgb "black" title impl[s], \
             for [s = 1:nimpl] datafile index (k - 1) every ::first::last \
             using (barx($0, s)):(c0 > 0 && column(s + 1) > c0 ? c0 * 0.9 : 1/0):(0.6 / (nimpl + 1.0)):(c0 * 0.025) \
             with boxxyerror fs solid 1.0 noborder lc rgb "white" notitle, \
             for [s = 1:nimpl] datafile index (k - 1) every ::first::last \
             using (barx($0, s)):(c0 > 0 && column(s + 1) > c0 ? c0 : 1/0):(sprintf("%.3g", column(s + 1))) \
             with labels offset 0, char 0.6 font font_tic notitle
    } else {
        plot for [s = 1:nimpl] datafile index (k - 1) every ::first::last \
             using (column(s + 1)):xtic(1) \
             lt (40 + implstyle[s]) dt 1 fs pattern implpat[implstyle[s]] border lc rgb "black" title impl[s]
    }
}
