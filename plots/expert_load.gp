# Expert load of the routed variants per case: expert_load_max (tokens of the busiest expert
# divided by the balanced count T*k/E; 1 = balanced) and the load-balance loss
# L_aux = E * sum_e F_e P_e (k when perfectly balanced), with every expert's own load (its count
# after capacity drops over T*k/E) as points over the case's bar. Prologue variables: datafile,
# countsfile ("case expert load" lines; "" for runs without the expert_counts column), load_top
# and aux_top (largest values over all pages, 0 when none: a column of only NaN has no
# statistics to take), footnote, first and count (the cases of this page).
set multiplot layout 2, 1 title "Expert load per case (routed variants)" font ",13" margins 0.08, 0.85, 0.2, 0.92 spacing 0, 0.06
set style data histogram
set style histogram clustered gap 1
set style fill solid 0.85 border -1
set boxwidth 0.8
set grid ytics lc rgb "#dddddd" lw 0.5
set xrange [-0.6:count - 0.4]
last = first + count - 1
set key outside right top font ",10" box opaque
set yrange [0:(load_top > 0 ? load_top * 1.15 : 1.5)]
set ylabel "busiest expert / balanced load"
set xtics scale 0 format "" nomirror
if (strlen(countsfile) > 0) {
plot datafile every ::first::last using 2 lc rgb "#1f77b4" title "expert_load_max", \
     countsfile using ($1 >= first && $1 <= last ? $1 - first : NaN):3 with points pt 7 ps 0.9 \
         lc rgb "#ff7f0e" title "each expert", \
     1 with lines lc rgb "#000000" dt 2 title "balanced (= 1)"
} else {
plot datafile every ::first::last using 2 lc rgb "#1f77b4" title "expert_load_max", \
     1 with lines lc rgb "#000000" dt 2 title "balanced (= 1)"
}
set yrange [0:(aux_top > 0 ? aux_top * 1.15 : 1)]
set ylabel "aux loss L_aux"
set xtics rotate by -40 left font ",9" nomirror scale 1
plot datafile every ::first::last using 3:xtic(1) lc rgb "#d62728" title "L_aux", \
     '' every ::first::last using 0:4 with points pt 9 ps 1.6 lc rgb "#000000" title "balanced (= k)"
