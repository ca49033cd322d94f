# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # micrograd, end to end
#
# The whole micrograd part in one notebook: a `Value`, its graph, backpropagation, a neuron, and
# a small MLP trained on two moons. Each step is derived in detail on the pages of the
# micrograd section; here the point is to run it all in order. Download it as a Jupyter notebook,
# [micrograd_walkthrough.ipynb](micrograd_walkthrough.ipynb) (also the download button at the top
# right of this page), and run it with `zh` installed (`make test` creates `.venv` with everything).

# %%
# %matplotlib inline
import random

import matplotlib.pyplot as plt
import numpy as np

from zh.data import make_moons
from zh.engine import Value
from zh.nn import MLP, train
from zh.viz import draw_dot

# %% [markdown]
# ## A Value and its graph
#
# $\text{loss} = (x_1 w_1 - x_2 w_2)^2$: every operation records its inputs and its local
# derivatives, and `backward()` applies the chain rule from the output back to the inputs.

# %%
x1, w1 = Value(1.0, label="x1"), Value(-4.0, label="w1")
x2, w2 = Value(3.75, label="x2"), Value(2.0, label="w2")
loss = (x1 * w1 - x2 * w2) ** 2
loss.label = "loss"
loss.backward()
print(f"loss = {loss.data}")
for v in (x1, w1, x2, w2):
    print(f"d loss / d {v.label} = {v.grad}")
assert (x1.grad, w1.grad, x2.grad, w2.grad) == (92.0, -23.0, 46.0, 86.25)

# %%
draw_dot(loss, rankdir="TB")  # inputs at the top

# %% [markdown]
# ## A neuron
#
# $o = \tanh(x_1 w_1 + x_2 w_2 + b)$, whose local derivative at the top is
# $\partial o / \partial n = 1 - o^2$.

# %%
x1, x2 = Value(2.0, label="x1"), Value(0.0, label="x2")
w1, w2 = Value(-3.0, label="w1"), Value(1.0, label="w2")
b = Value(6.8813735870195432, label="b")
n = x1 * w1 + x2 * w2 + b
n.label = "n"
o = n.tanh()
o.label = "o"
o.backward()
print(f"o = {o.data:.6f}, do/dn = {n.grad:.6f} = 1 - o**2 = {1 - o.data**2:.6f}")
draw_dot(o, rankdir="TB")

# %% [markdown]
# ## An MLP on two moons
#
# 337 parameters, the hinge loss $\frac1N \sum_i \max(0, 1 - y_i s_i) + 10^{-4} \sum_p w_p^2$,
# and 100 steps of full-batch gradient descent.

# %%
X, labels = make_moons(100, noise=0.1, random_state=1)
X = X.tolist()
y = [2 * int(label) - 1 for label in labels]
random.seed(1337)
model = MLP(2, [16, 16, 1])
history = train(model, X, y, max_steps=100)
for step in (0, 10, 50, 99):
    print(f"step {step:3d}: loss {history[step][0]:.4f}, accuracy {history[step][1]:.0%}")
assert history[-1][1] == 1.0

# %%
xs, ys = np.linspace(-1.5, 2.5, 60), np.linspace(-1.0, 1.5, 45)
scores = np.array([[model([float(u), float(v)]).data for u in xs] for v in ys])
fig, ax = plt.subplots(figsize=(6, 4))
ax.contourf(xs, ys, scores > 0, levels=1, alpha=0.3, cmap="coolwarm")
ax.contour(xs, ys, scores, levels=[0.0], colors="k", linewidths=1)
points = np.array(X)
ax.scatter(points[:, 0], points[:, 1], c=y, cmap="coolwarm", edgecolors="k", s=25)
ax.set_aspect("equal")
ax.set_title("decision boundary after 100 steps")
plt.show()
