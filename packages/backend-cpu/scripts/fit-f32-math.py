"""Fits the float32 polynomial coefficients used by src/codegen/math-f32.ts and reports their float32 error.

Minimax (relative error) by Lawson's iteratively reweighted least squares on a dense grid, then rounded to float32
and evaluated with float32 Horner steps, the way the generated kernels evaluate them. Run: python3 fit-f32-math.py
"""
import math
import numpy as np

f32 = np.float32


def lawson(xs, target, basis, weight, iters=60):
    """Minimizes max |weight * (target - sum c_k basis_k)| over the grid."""
    A = np.stack([b(xs) for b in basis], axis=1) * weight[:, None]
    y = target * weight
    w = np.ones_like(xs) / len(xs)
    for _ in range(iters):
        sw = np.sqrt(w)
        c, *_ = np.linalg.lstsq(A * sw[:, None], y * sw, rcond=None)
        err = np.abs(A @ c - y)
        w = w * err
        w /= w.sum()
    return c


def horner32(coefs, t):
    acc = np.full_like(t, f32(coefs[-1]))
    for c in reversed(coefs[:-1]):
        acc = acc * t + f32(c)
    return acc


def ulps(approx, exact):
    exact32 = exact.astype(f32)
    spacing = np.abs(np.spacing(exact32)).astype(np.float64)
    return np.max(np.abs(approx.astype(np.float64) - exact) / spacing)


def report(name, coefs, approx, exact):
    cs = ', '.join(repr(float(f32(c))) for c in coefs)
    print(f'{name}: [{cs}]  max error {ulps(approx, exact):.2f} ulp')


# exp(r) = 1 + r + r^2 P(r), |r| <= ln2/2
r = np.linspace(-math.log(2) / 2, math.log(2) / 2, 20001)
P = lawson(r, (np.exp(r) - 1 - r) / r**2 if False else np.exp(r) - 1 - r, [lambda x, k=k: x ** (k + 2) for k in range(5)], 1 / np.exp(r))
r32 = r.astype(f32)
approx = f32(1) + r32 + r32 * r32 * horner32(P, r32)
report('exp P', P, approx, np.exp(r32.astype(np.float64)))

# expm1(r) = r + r^2/2 + r^3 Q(r), |r| <= 0.36
r = np.linspace(-0.36, 0.36, 20001)
r = r[r != 0]
Q = lawson(r, np.expm1(r) - r - r * r / 2, [lambda x, k=k: x ** (k + 3) for k in range(4)], 1 / np.abs(np.expm1(r)))
r32 = r.astype(f32)
approx = r32 + r32 * r32 * f32(0.5) + r32 * r32 * r32 * horner32(Q, r32)
report('expm1 Q', Q, approx, np.expm1(r32.astype(np.float64)))

# log(m) = 2s + s^3 R(s^2), s = (m-1)/(m+1), m in [sqrt(1/2), sqrt(2)]
m = np.linspace(math.sqrt(0.5), math.sqrt(2), 20001)
s = (m - 1) / (m + 1)
keep = s != 0
m, s = m[keep], s[keep]
R = lawson(s, np.log(m) - 2 * s, [lambda x, k=k: x ** (2 * k + 3) for k in range(3)], 1 / np.abs(np.log(m)))
m32 = m.astype(f32)
s32 = (m32 - f32(1)) / (m32 + f32(1))
approx = f32(2) * s32 + s32 * s32 * s32 * horner32(R, s32 * s32)
report('log R', R, approx, np.log(m32.astype(np.float64)))

# sin(r) = r + r^3 S(r^2), cos(r) = 1 - r^2/2 + r^4 C(r^2), |r| <= pi/4
r = np.linspace(-math.pi / 4, math.pi / 4, 20001)
r = r[r != 0]
S = lawson(r, np.sin(r) - r, [lambda x, k=k: x ** (2 * k + 3) for k in range(4)], 1 / np.abs(np.sin(r)))
C = lawson(r, np.cos(r) - 1 + r * r / 2, [lambda x, k=k: x ** (2 * k + 4) for k in range(4)], 1 / np.cos(r))
r32 = r.astype(f32)
z = r32 * r32
report('sin S', S, r32 + r32 * z * horner32(S, z), np.sin(r32.astype(np.float64)))
report('cos C', C, f32(1) - z * f32(0.5) + z * z * horner32(C, z), np.cos(r32.astype(np.float64)))

# erf(z) = z P(z^2), 0 <= z <= 0.875
zz = np.linspace(1e-6, 0.875, 20001)
erf = np.vectorize(math.erf)
erfc = np.vectorize(math.erfc)
E = lawson(zz, erf(zz), [lambda x, k=k: x ** (2 * k + 1) for k in range(7)], 1 / erf(zz))
z32 = zz.astype(f32)
report('erf small E', E, z32 * horner32(E, z32 * z32), erf(z32.astype(np.float64)))

# erfc(z) = exp(-z^2) F(t), t = 1/(1 + z/2), 0.875 <= z <= 10 (erfcx in a variable that keeps the tail tame)
zz = np.linspace(0.875, 10, 40001)
t = 1 / (1 + zz / 2)
erfcx = erfc(zz) * np.exp(zz * zz)
F = lawson(t, erfcx, [lambda x, k=k: x ** k for k in range(12)], 1 / erfcx)
z32 = zz.astype(f32)
t32 = f32(1) / (f32(1) + z32 * f32(0.5))
approx_x = horner32(F, t32)
print('erfcx F:', '[' + ', '.join(repr(float(f32(c))) for c in F) + ']', 'max rel err of erfcx', np.max(np.abs(approx_x / (erfc(z32.astype(np.float64)) * np.exp(z32.astype(np.float64) ** 2)) - 1)))
