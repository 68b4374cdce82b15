# accuracy-vs-size.gp — overall accuracy (%, Wilson 95 % interval as error bars) against the
# variant's file size (MiB); one series per hardware/runtime, each point labelled with its
# variant. Data: blocks of "variant size_mib accuracy_pct lo_pct hi_pct" (reports/charts.c).
load GPDIR.'/common.gp'
set title "Accuracy vs file size"
set xlabel "File size (MiB)"
set ylabel "Accuracy (%) with Wilson 95 % interval"
set yrange [0:100]
set offsets graph 0.06, graph 0.06, 0, 0
cmd = "plot for [i=0:nseries-1] datafile index i using 2:3:4:5 with yerrorlines ls (i+1) title columnheader(1), ".\
      "for [i=0:nseries-1] datafile index i using 2:3:1 with labels left offset 0.6,0.9 font ',9' notitle"
load GPDIR.'/render.gp'
