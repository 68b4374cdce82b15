# accuracy-by-category.gp — per-category accuracy (%) as clustered bars, one bar per variant,
# Wilson 95 % intervals as error bars. Data: rows "category acc lo hi acc lo hi ..." with one
# (acc, lo, hi) triple per variant in the order of `titles` (reports/charts.c).
load GPDIR.'/common.gp'
set title "Accuracy by category"
set xlabel "Category"
set ylabel "Accuracy (%) with Wilson 95 % interval"
set yrange [0:100]
set style data histogram
set style histogram errorbars gap 2 lw 1
set style fill solid 0.7 border -1
set boxwidth 0.9
set xtics rotate by -25
set grid noxtics ytics
cmd = "plot for [v=0:nseries-1] datafile using (column(2+3*v)):(column(3+3*v)):(column(4+3*v)):xtic(1) ls (v+1) title word(titles, v+1)"
load GPDIR.'/render.gp'
