"""Precompile every kernel zh.cuda launches, for a GPU machine that has no nvcc.

    python scripts/build_cubins.py build/cubins [--arch sm_90]

Each cubin is compiled exactly as pycuda's SourceModule would compile it. On the GPU machine,
``export ZH_CUBIN_DIR=build/cubins`` makes zh.cuda load these instead of calling nvcc
(scripts/gpu_run.sh does so by itself when nvcc is missing and build/cubins exists).
"""

import argparse
import shutil
from pathlib import Path

from zh.cuda.matmul import variants
from zh.cuda.runtime import compile_cubin, cubin_name


def main(argv=None) -> list[Path]:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("out_dir", type=Path)
    p.add_argument("--arch", default="sm_90", help="the GPU's architecture (sm_90: H100, H200)")
    p.add_argument("--nvcc", default=shutil.which("nvcc") or "nvcc")
    args = p.parse_args(argv)
    args.out_dir.mkdir(parents=True, exist_ok=True)
    jobs = [("vector_add.cu", ())] + [(k.file, k.defines(**tiles)) for k, tiles in variants()]
    built = []
    for filename, defines in jobs:
        result = compile_cubin(filename, args.out_dir, defines, arch=args.arch, nvcc=args.nvcc)
        if result.returncode != 0:
            raise SystemExit(f"nvcc failed on {filename} {' '.join(defines)}:\n{result.stderr}")
        built.append(args.out_dir / cubin_name(filename, defines))
    print(f"{len(built)} cubins for {args.arch} in {args.out_dir}")
    return built


if __name__ == "__main__":
    main()
