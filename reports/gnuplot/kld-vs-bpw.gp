# kld-vs-bpw.gp — mean KL divergence to the baseline (nats, log scale, ± standard error)
# against bits per weight; the baseline itself (KLD 0) cannot sit on a log axis and is left
# out. Data: blocks of "variant bits_per_weight mean_kld lo hi" (reports/charts.c).
load GPDIR.'/common.gp'
set title "Mean KL divergence vs bits per weight"
set xlabel "Bits per weight"
set ylabel "Mean KLD vs baseline (nats, log scale)"
set logscale y
set format y "%g"
set offsets graph 0.06, graph 0.06, 0, 0
cmd = "plot for [i=0:nseries-1] datafile index i using 2:3:4:5 with yerrorlines ls (i+1) title columnheader(1), ".\
      "for [i=0:nseries-1] datafile index i using 2:3:1 with labels left offset 0.6,0.9 font ',9' notitle"
load GPDIR.'/render.gp'
