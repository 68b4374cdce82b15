# common.gp — settings shared by the report charts, loaded by each chart script.
# The caller (reports/charts.c) passes: datafile, outbase (path without extension), nseries,
# titles (space-separated series names, histogram only). Each script sets `cmd` (its plot
# command) and then loads render.gp, which draws the same plot to outbase.png and outbase.svg.
set encoding utf8
set grid lc rgb "#dddddd"
set key outside right top box opaque noenhanced
set xtics noenhanced
set border lw 1.2
set tics nomirror
set datafile missing "NaN"
set style line 1 lc rgb "#1b6ca8" lw 2 pt 7 ps 1.3
set style line 2 lc rgb "#d95f02" lw 2 pt 5 ps 1.3
set style line 3 lc rgb "#1b9e77" lw 2 pt 9 ps 1.4
set style line 4 lc rgb "#7570b3" lw 2 pt 11 ps 1.4
set style line 5 lc rgb "#e7298a" lw 2 pt 13 ps 1.4
set style line 6 lc rgb "#66a61e" lw 2 pt 15 ps 1.4
set style increment user
