// Rung 1, naive: one thread per element of C = A @ B.
// A is M x K, B is K x N, C is M x N, all row-major float32.
// threadIdx.x runs DOWN a column of C, so the 32 threads of a warp touch 32 different rows:
// their loads of A are K floats apart and their stores to C are N floats apart.
#ifndef BLOCK  // the launcher may compile another tiling, giving all of these with -D
#define BLOCK 32
#endif

__global__ void matmul_naive(const float *A, const float *B, float *C, int M, int N, int K)
{
    const int row = blockIdx.x * BLOCK + threadIdx.x;
    const int col = blockIdx.y * BLOCK + threadIdx.y;
    if (row < M && col < N) {
        float acc = 0.0f;
        for (int k = 0; k < K; ++k)
            acc += A[row * K + k] * B[k * N + col];
        C[row * N + col] = acc;
    }
}
