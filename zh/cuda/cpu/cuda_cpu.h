// What CUDA C gives a kernel, for g++ on the CPU: the .cu files of zh/cuda/kernels/ compile
// unchanged against this header (g++ -std=c++20 -x c++ -include cuda_cpu.h kernel.cu), and
// launch.cpp runs them, every block of the grid in turn. It declares only what a kernel uses and
// includes no standard header, so a kernel compiles in a blink.
#pragma once

// A __global__ function is an entry point the launcher finds by its C name, as pycuda does.
#define __global__ extern "C"
#define __device__
#define __host__
#define __forceinline__ inline
#define __launch_bounds__(...)
#define __align__(n) __attribute__((aligned(n)))
// Blocks run one after the other, so a single static copy is one copy per block; the trace
// build's launcher fills it with NaN before each block (shared memory starts undefined).
#define __shared__ static

struct uint3 {
    unsigned int x, y, z;
};
struct dim3 {
    unsigned int x, y, z;
};
// CUDA's vector types: float4 is 16-byte aligned, which is what makes a float4 access through a
// misaligned pointer an error (UBSan's alignment check reports it, as a GPU would fault).
struct __attribute__((aligned(8))) float2 {
    float x, y;
};
struct __attribute__((aligned(16))) float4 {
    float x, y, z, w;
};
// Always inlined, so that `*p = make_float4(...)` is one 16-byte store even at -O0.
__attribute__((always_inline)) inline float2 make_float2(float x, float y) { return {x, y}; }
__attribute__((always_inline)) inline float4 make_float4(float x, float y, float z, float w) { return {x, y, z, w}; }

// Each thread's own coordinates; the launch's shape, the same for all.
extern thread_local uint3 threadIdx, blockIdx;
extern dim3 blockDim, gridDim;

// Waits until every thread of the block has arrived (launch.cpp). A barrier that only some of
// the block's threads reach is an error, which the launcher reports.
void __syncthreads();
