# Memory per case and implementation at the largest T of the case: weights as allocated, exact
# workspace (library allocator), memory added by prepare (packed, merged or reordered weights:
# merged vs unmerged memory), peak RSS of the case's child process. Merged implementations sit
# beside the unmerged ones of the same case. A log axis draws no zero bar: the title says which
# series have zeros. Prologue variables: datafile, title_text, footnote, first and count (the
# groups of this page: data lines first .. first + count - 1).
set title title_text font ",13"
set style data histogram
set style histogram clustered gap 1
set style fill solid 0.85 border -1
set boxwidth 0.9
set logscale y
set yrange [0.01:*]
set format y "%g"
set ylabel "MiB (log)"
set grid ytics mytics lc rgb "#dddddd" lw 0.5
set xtics rotate by -40 left font ",9" nomirror
set key top left font ",10" samplen 2 box opaque
set bmargin 13
set rmargin 30
set xrange [-0.6:count - 0.4]
last = first + count - 1
plot datafile every ::first::last using 2:xtic(1) lc rgb "#1f77b4" title "weights", \
     ''       every ::first::last using 3 lc rgb "#ff7f0e" title "workspace", \
     ''       every ::first::last using 4 lc rgb "#9467bd" title "prepared", \
     ''       every ::first::last using 5 lc rgb "#2ca02c" title "peak RSS"
