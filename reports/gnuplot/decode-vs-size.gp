# decode-vs-size.gp — decode throughput (tokens/s, mean ± sample stddev over repetitions)
# against file size (MiB), one series per hardware/runtime, points labelled with the variant.
# Data: blocks of "variant size_mib decode_tok_s stddev" (reports/charts.c).
load GPDIR.'/common.gp'
set title "Decode speed vs file size"
set xlabel "File size (MiB)"
set ylabel "Decode speed (tokens/s), mean ± stddev"
set yrange [0:*]
set offsets graph 0.06, graph 0.06, graph 0.1, 0
cmd = "plot for [i=0:nseries-1] datafile index i using 2:3:4 with yerrorlines ls (i+1) title columnheader(1), ".\
      "for [i=0:nseries-1] datafile index i using 2:3:1 with labels left offset 0.6,0.9 font ',9' notitle"
load GPDIR.'/render.gp'
