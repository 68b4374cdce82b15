# render.gp — draws `cmd` twice: PNG (pngcairo) and SVG, both 1000×650, to outbase.png/.svg.
set terminal pngcairo size 1000,650 font "DejaVu Sans,11" noenhanced
set output outbase.'.png'
eval cmd
set terminal svg size 1000,650 font "DejaVu Sans,11" noenhanced
set output outbase.'.svg'
eval cmd
set output
