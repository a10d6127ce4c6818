# Counters per forward, one panel per ctr_ column that has values, one bar per implementation.
# Unavailable counters (empty columns) and counters that are zero everywhere are not drawn; the
# title names the latter. Every value is per forward call (the counting pass's total divided by
# its forwards): perf task-clock in ns, the others as counts. Prologue variables: datafile,
# title_text, rows, cols, first and count (the cases of this page), counter[1..ncounter], unit[1..ncounter] (y-axis label),
# logy[1..ncounter] (log axis only when every value is positive), impl[1..nimpl], footnote.
set multiplot layout rows, cols title title_text font ",13" margins 0.07, 0.95, 0.2, 0.92 spacing 0.07, 0.12
set style data histogram
set style histogram clustered gap 1
set style fill solid 0.85 border -1
set boxwidth 0.9
set format y "%g"
set grid ytics lc rgb "#dddddd" lw 0.5
set xtics rotate by -50 left font ",8" nomirror
set key top left font ",9" samplen 2 box opaque
set xrange [-0.6:count - 0.4]
last = first + count - 1
array colour[8] = ["#4d4d4d", "#1f77b4", "#2ca02c", "#d62728", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2"]
do for [k = 1:ncounter] {
    set title counter[k] font ",10"
    if (k == 1) { set key top left font ",9" samplen 2 box opaque } else { unset key }
    if (logy[k]) { set logscale y; set yrange [*:*]; set ylabel sprintf("%s (log)", unit[k]) font ",9" } \
    else { unset logscale y; set yrange [0:*]; set ylabel unit[k] font ",9" }
    plot for [s = 1:nimpl] datafile index (k - 1) every ::first::last using (column(s + 1)):xtic(1) \
         lc rgb colour[(s - 1) % 8 + 1] title impl[s]
}
