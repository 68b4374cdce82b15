# latency.gp — inter-token latency distribution per variant (ms): box from the median to p90,
# whiskers from the minimum to p99, a bar at the median; one colour per hardware/runtime.
# Data: blocks of "variant x min_ms p50_ms p90_ms p99_ms" (reports/charts.c).
load GPDIR.'/common.gp'
set title "Inter-token latency distribution (box: p50–p90, whiskers: min–p99)"
set xlabel "Variant"
set ylabel "Inter-token latency (ms)"
set yrange [0:*]
set boxwidth 0.25
set style fill solid 0.4 border -1
set offsets 0.5, 0.5, graph 0.05, 0
# the variant names label the first series' positions; the others sit 0.3 to the right
cmd = "plot for [i=0:nseries-1] datafile index i using 2:4:3:6:5 with candlesticks whiskerbars 0.5 ls (i+1) title columnheader(1), ".\
      "for [i=0:nseries-1] datafile index i using 2:4:4:4:4 with candlesticks ls (i+1) lw 3 notitle, ".\
      "datafile index 0 using 2:4:xtic(1) with points ps 0 notitle"
load GPDIR.'/render.gp'
