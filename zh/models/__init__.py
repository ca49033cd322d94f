"""The makemore language models, one file per model and one page per file.

Which model lives where, which page derives it, and its ``zh makemore --type``:

- ``zh.models.bigram``: ``Bigram``, a table of next-character logits. Pages makemore/bigram.md and
  makemore/neural_bigram.md. ``--type bigram``.
- ``zh.models.mlp``: ``MLP``, Bengio et al.'s language model in five raw tensors. Page makemore/mlp.md.
  ``--type mlp``.
- ``zh.models.activations``: ``build_mlp()``, the same model stacked from ``zh.nn.layers``, with BatchNorm,
  and its diagnostic plots. Page makemore/activations.md.
- ``zh.models.backprop``: the same network as a dict of tensors, every gradient written by hand.
  Page makemore/backprop.md.
- ``zh.models.wavenet``: ``WaveNet``, the context fused pairwise in a tree, and the same tree as
  dilated causal convolutions. Page makemore/wavenet.md. ``--type wavenet``.
- ``zh.models.sequence``: the contract every model of the makemore command follows, and the
  ``FixedContext`` adapter. Page makemore/wavenet.md.
- ``zh.models.registry``: the models of ``zh makemore``, one entry each. Page makemore/wavenet.md.
- ``zh.models.sampling``, ``zh.models.training``: sampling, shared by all, and the lectures' SGD loop
  (the commands train with ``zh.train``).

Four things of the site are called "MLP"; they are:

1. ``zh.nn.MLP`` (``zh/nn/micrograd.py``): micrograd's multi-layer perceptron of scalar ``Value`` objects,
   a classifier (micrograd/mlp.md), not a language model.
2. ``zh.models.mlp.MLP``: the character language model of makemore part 2, an ``nn.Module`` of five
   tensors (``C, W1, b1, W2, b2``) — the one ``zh makemore --type mlp`` trains.
3. ``zh.models.activations.build_mlp``: a *function* that builds part 3's deeper version of 2 from
   ``zh.nn.layers`` (``Linear``, ``BatchNorm1d``, ``Tanh``...), returning a ``Sequential``.
4. The network of ``zh.models.backprop`` (``init_params``): part 4's version of 3 as a plain dict of
   tensors, so that each gradient can be written out by hand.
"""
