# Memory per case and implementation at the largest T of the case: weights as allocated, exact
# workspace (library allocator), memory added by prepare (packed, merged or reordered weights:
# merged vs unmerged memory), peak RSS of the case's child process. Merged implementations sit
# beside the unmerged ones of the same case. A log axis draws no zero bar: the title says which
# series have zeros. Prologue variables: datafile, title_text, title_lines, mem_top (largest
# value), label_chars (longest x label), footnote, first and count (the groups of this page:
# data lines first .. first + count - 1), and the figure style (paper, fig_w, fig_h, font_*,
# line_in, foot_lines). Series: Okabe-Ito colours, two solid and two hatched (grayscale).
if (paper) {
    # a figure: footnote, title and a row of keys at the top, the labels below in inches
    set label 998 title_text at screen 0.5, 1 - (foot_lines + 0.6) * line_in / fig_h center font font_title noenhanced
    key_rows = int(ceil(4.0 / int((fig_w - 0.9) / 1.1)))
    set tmargin at screen 1 - (foot_lines + title_lines + key_rows + 0.6) * line_in / fig_h
    set key at screen 0.5, 1 - (foot_lines + title_lines + 0.3) * line_in / fig_h center top horizontal font font_key samplen 1.5 noenhanced
    # labels end at their bar group, so none runs off the right edge
    set xtics rotate by 45 right font font_tic nomirror noenhanced
    set rmargin at screen 1 - 0.1 / fig_w
    # the first label runs left of its group: room for it
    lm_in = label_chars * 0.067 * 0.71 - 0.1
    set lmargin at screen (lm_in > 0.62 ? lm_in : 0.62) / fig_w
} else {
    set title title_text font font_title noenhanced
    set key top left font font_key samplen 2 box opaque noenhanced
    set xtics rotate by -40 left font font_tic nomirror noenhanced
    set bmargin 13
    set rmargin 30
}
set style data histogram
set style histogram clustered gap 1
set style fill solid 0.85 border -1
set boxwidth 0.9
set logscale y
set yrange [0.01:*]
set ytics enhanced
eval logfmt("y", 0.01, mem_top)
set ylabel "MiB (log)" font font_label
set grid ytics mytics lc rgb "#dddddd" lw 0.5
set xrange [-0.6:count - 0.4]
last = first + count - 1
plot datafile every ::first::last using 2:xtic(1) fs solid 1 lc rgb "#0072B2" dt 1 title "weights", \
     ''       every ::first::last using 3 fs solid 1 lc rgb "#E69F00" dt 1 title "workspace", \
     ''       every ::first::last using 4 fs pattern 5 lc rgb "#CC79A7" dt 1 title "prepared", \
     ''       every ::first::last using 5 fs pattern 4 lc rgb "#009E73" dt 1 title "peak RSS"
