# The training step per case and implementation (mode=train rows; naive, the reference, left
# out): one group of bars per case, one bar per implementation, each bar stacked from four
# segments drawn as separate boxes (hatched ones stay readable in grayscale). train_time: the
# forward, the backward, the rest of the step's median (the AdamW update, bookkeeping) and, for
# an implementation that times only the whole step, the unsplit step; bars are divided by the
# case's fastest step and print the median step above them. train_memory: weights, saved
# activations, gradients, optimizer state in MiB, the total printed above. A marker in the
# implementation's line type (colour and point shape) tops every bar.
# Prologue variables: datafile (x, label, impl index, four cumulative tops, printed value),
# glabel[group] and group_chars (each case's label and the longest), seg_title[1..4] ("": no key entry), gtop[group] (its tallest bar), nkey and key_chars (the key's entries and longest
# text), ylabel_text, bar_top (the tallest bar), gx0/gx1[group] (x of a group's first
# and last bar), impl[1..nimpl], implstyle[1..nimpl], value_unit, title_text, title_lines,
# label_chars, footnote, first and count (the groups of this page), and the figure style
# (paper, fig_w, fig_h, font_*, line_in, foot_lines).
array segcol[4] = ["#0072B2", "#E69F00", "#009E73", "#999999"]
# the tallest bar of this page: each page has its own axis
bar_top = 0
do for [g = first + 1:first + count] { bar_top = gtop[g] > bar_top ? gtop[g] : bar_top }
if (paper) {
    set label 998 title_text at screen 0.5, 1 - (foot_lines + 0.6) * line_in / fig_h center font font_title noenhanced
    # nkey entries (prologue) of at most key_chars characters each, in as many columns as fit
    key_cols = int((fig_w - 0.2) / (key_chars * 0.067 + 0.5))
    key_cols = key_cols < 1 ? 1 : key_cols
    key_rows = int(ceil(nkey * 1.0 / key_cols))
    tm_in = (foot_lines + title_lines + key_rows + 0.6) * line_in
    set tmargin at screen 1 - tm_in / fig_h
    set key at screen 0.5, 1 - (foot_lines + title_lines + 0.3) * line_in / fig_h center top vertical maxrows key_rows font font_key samplen 1.5 noenhanced
    set rmargin at screen 1 - 0.1 / fig_w
    # the first group's label runs left of it: room for it
    lm_in = group_chars * 0.067 * 0.71 - 0.1
    set lmargin at screen (lm_in > 0.62 ? lm_in : 0.62) / fig_w
    # the implementations' names upright (a character is about 0.46 line high), then the cases
    gy = -(label_chars * 0.5 + 1.0)
    bm_in = (label_chars * 0.5 + 1.0) * line_in + group_chars * 0.067 * 0.71 + 0.1
    set bmargin at screen bm_in / fig_h
    # room above the tallest bar for its printed value (about 0.45 in upright)
    ph_in = fig_h - tm_in - bm_in
    ytop = bar_top / (1 - (ph_in > 0.9 ? 0.45 / ph_in : 0.5))
    vfont = font_key
    grot = 45
} else {
    set title title_text font font_title noenhanced
    set key outside right top font font_key samplen 2 box opaque noenhanced
    set bmargin 15
    gy = -(label_chars * 0.6 + 1.0)
    ytop = bar_top * 1.3
    vfont = ",8"
    grot = -40
}
set xtics rotate by 90 right font font_tic nomirror noenhanced
set xrange [gx0[first + 1] - 0.8:gx1[first + count] + 0.8]
# each case's label under its group, below the implementations' names (label_chars long)
do for [g = first + 1:first + count] {
    if (grot > 0) {
        set label 100 + g glabel[g] at (gx0[g] + gx1[g]) / 2.0, graph 0 rotate by grot right offset 0, gy font font_tic noenhanced
    } else {
        set label 100 + g glabel[g] at (gx0[g] + gx1[g]) / 2.0, graph 0 rotate by grot left offset 0, gy font font_tic noenhanced
    }
}
set yrange [0:ytop]
set ylabel ylabel_text font font_label noenhanced
set grid ytics lc rgb "#dddddd" lw 0.5
set style fill solid 1 border -1
bw = 0.4
lo(k) = k == 1 ? 0 : column(2 + k)
hi(k) = column(3 + k)
mid(k) = hi(k) > lo(k) ? (lo(k) + hi(k)) / 2 : NaN
half(k) = (hi(k) - lo(k)) / 2
# an empty seg_title: no bar has that segment, so no key entry
plot datafile using 1:(mid(1)):(bw):(half(1)):xtic(2) with boxxyerror fs solid 1 lc rgb segcol[1] title seg_title[1], \
     datafile using 1:(mid(2)):(bw):(half(2)) with boxxyerror fs solid 1 lc rgb segcol[2] title seg_title[2], \
     datafile using 1:(mid(3)):(bw):(half(3)) with boxxyerror fs pattern 5 lc rgb segcol[3] title seg_title[3], \
     datafile using 1:(mid(4)):(bw):(half(4)) with boxxyerror fs pattern 4 lc rgb segcol[4] title seg_title[4], \
     for [s = 1:nimpl] datafile using 1:(column(3) == s ? column(7) : NaN) \
         with points lt (40 + implstyle[s]) ps 1.4 title impl[s], \
     datafile using 1:(column(7)):8 with labels rotate by 90 left offset 0, 0.6 font vfont notitle
