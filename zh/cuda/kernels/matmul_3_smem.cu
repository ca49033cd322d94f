// Rung 3, shared-memory tiling: a block computes a TILE x TILE tile of C. It walks along K
// one TILE at a time; each step, its threads copy one tile of A and one of B into shared
// memory (one element each), then every thread reads TILE values of each from there.
// Each element fetched from global memory is now used TILE times instead of once.
#ifndef TILE  // the launcher may compile another tiling, giving all of these with -D
#define TILE 32
#endif

__global__ void matmul_smem(const float *A, const float *B, float *C, int M, int N, int K)
{
    __shared__ float As[TILE][TILE];
    __shared__ float Bs[TILE][TILE];
    const int tx = threadIdx.x, ty = threadIdx.y;
    const int row = blockIdx.y * TILE + ty;
    const int col = blockIdx.x * TILE + tx;
    float acc = 0.0f;
    for (int k0 = 0; k0 < K; k0 += TILE) {
        // Outside A or B, store zeros: they add nothing to the dot products.
        As[ty][tx] = (row < M && k0 + tx < K) ? A[row * K + k0 + tx] : 0.0f;
        Bs[ty][tx] = (k0 + ty < K && col < N) ? B[(k0 + ty) * N + col] : 0.0f;
        __syncthreads();  // the tiles are complete before anyone reads them
        for (int k = 0; k < TILE; ++k)
            acc += As[ty][k] * Bs[k][tx];
        __syncthreads();  // everyone is done reading before the next tiles overwrite them
    }
    if (row < M && col < N)
        C[row * N + col] = acc;
}
