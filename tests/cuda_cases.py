"""The cases every kernel is checked on, on the CPU (test_cuda_cpu.py) and on a GPU (test_cuda_gpu.py)."""

# (M, N, K): one element, below, at and above one tile, ragged, and not square
SIZES = [1, 31, 33, 64, 100, 130]
SHAPES = [(s, s, s) for s in SIZES] + [(100, 33, 130), (31, 130, 1)]
SMALL_SHAPES = [(9, 13, 7), (33, 37, 21)]  # several blocks and several steps along K with the small tiles
SANITIZER_SHAPE = (33, 37, 21)  # no dimension a multiple of 4: every edge case of every tiling
VECTOR_SIZES = [1, 31, 33, 64, 100, 130, 1000]
