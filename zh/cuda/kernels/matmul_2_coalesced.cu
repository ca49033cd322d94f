// Rung 2, global-memory coalescing: the same arithmetic as rung 1, with the two thread
// indices swapped. threadIdx.x now runs ALONG a row of C, so a warp reads 32 consecutive
// floats of B, stores 32 consecutive floats of C, and all its threads read the same A[row, k].
#ifndef BLOCK  // the launcher may compile another tiling, giving all of these with -D
#define BLOCK 32
#endif

__global__ void matmul_coalesced(const float *A, const float *B, float *C, int M, int N, int K)
{
    const int row = blockIdx.y * BLOCK + threadIdx.y;
    const int col = blockIdx.x * BLOCK + threadIdx.x;
    if (row < M && col < N) {
        float acc = 0.0f;
        for (int k = 0; k < K; ++k)
            acc += A[row * K + k] * B[k * N + col];
        C[row * N + col] = acc;
    }
}
