#!/usr/bin/env python3
# gen-erf-table.py DEGREE -- prints the erf coefficient table of
# engine/src/kernels/vector-math.c (run with 9; clang-format the result): on each of
# 16 intervals of width 1/4 over [0, 4), erf's Taylor coefficients erf^(n)(c)/n!
# around the centre c (0 for the first interval, the midpoint otherwise), from
# erf^(n)(c) = 2/sqrt(pi) (-1)^(n-1) H_(n-1)(c) e^(-c^2), H the physicists' Hermite
# polynomials; the first line reports the truncation error of the series (in double).
import math
import sys
DEG=int(sys.argv[1]); NINT=16; W=0.25
# erf^(n)(c) = 2/sqrt(pi) * (-1)^(n-1) * H_{n-1}(c) * exp(-c^2), n>=1 (physicists' Hermite)
def herm(n,x):
    h0,h1=1.0,2*x
    if n==0: return h0
    for k in range(1,n):
        h0,h1=h1,2*x*h1-2*k*h0
    return h1
rows=[]
for i in range(NINT):
    c = 0.0 if i==0 else (i+0.5)*W
    co=[math.erf(c)]
    for n in range(1,DEG+1):
        d=2/math.sqrt(math.pi)*(-1)**(n-1)*herm(n-1,c)*math.exp(-c*c)
        co.append(d/math.factorial(n))
    rows.append((c,co))
# check error in double of the truncated series
mx=0
for i,(c,co) in enumerate(rows):
    lo=i*W; hi=lo+W
    for k in range(201):
        x=lo+(hi-lo)*k/200; t=x-c; p=0
        for a in reversed(co): p=p*t+a
        e=abs(p-math.erf(x)); mx=max(mx,e/ max(abs(math.erf(x)),1e-30) if i==0 else e)
print("/* max truncation error", mx, "*/")
print("static const float erf_center[16] = {" + ", ".join("%.9ef"%c for c,_ in rows) + "};")
print("static const float erf_coef[%d][16] = {"%(DEG+1))
for n in range(DEG+1):
    print("    {" + ", ".join("%.9ef"%rows[i][1][n] for i in range(NINT)) + "},")
print("};")
