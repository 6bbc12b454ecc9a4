"""Golden values of the exact GELU and its derivative for stages/tests/train_ops.rs, from Python's
math module only (float64):

    GELU(x)  = x * Phi(x),          Phi(x) = (1 + erf(x / sqrt(2))) / 2
    GELU'(x) = Phi(x) + x * phi(x),  phi(x) = exp(-x^2 / 2) / sqrt(2 pi)

(PyTorch's nn.GELU() default, approximate='none'.)

Run: python3 stages/tests/golden/make_gelu.py
"""

import json
import math
import os

XS = [-6.0, -3.5, -2.0, -1.2345, -0.7, -0.1, -1e-3, 0.0, 1e-3, 0.25, 0.5, 1.0, 1.5, 2.2, 3.0, 5.5]


def phi_cdf(x):
    return 0.5 * (1.0 + math.erf(x / math.sqrt(2.0)))


def phi_pdf(x):
    return math.exp(-0.5 * x * x) / math.sqrt(2.0 * math.pi)


golden = {
    "x": XS,
    "gelu": [x * phi_cdf(x) for x in XS],
    "derivative": [phi_cdf(x) + x * phi_pdf(x) for x in XS],
}
out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "gelu.json")
with open(out, "w") as f:
    json.dump(golden, f, indent=1)
    f.write("\n")
print(out)
