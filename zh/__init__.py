"""zh — Zero to Hero, executable.

The package behind the site: each module is derived on one page, and names it in its docstring.

- ``zh.engine``: the scalar autograd engine (micrograd)
- ``zh.nn``: neurons and layers, micrograd-style and PyTorch-style
- ``zh.viz``: computation-graph drawings
- ``zh.data``: the data files and dataset helpers
- ``zh.models``: the makemore language models
- ``zh.tokenizer``: byte-pair encoding
- ``zh.cli``: what the command lines share (``python -m zh makemore``, the scripts)
- ``zh.cuda``: CUDA kernels through pycuda (imported lazily: ``import zh`` never needs a GPU)
"""

__version__ = "0.1.0"
