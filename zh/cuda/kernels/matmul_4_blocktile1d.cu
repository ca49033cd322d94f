// Rung 4, 1-D blocktiling: each thread computes TM results, a short column of C.
// A block of THREADS threads computes a BM x BN tile of C, stepping through K by BK.
// In the inner loop one value of B, kept in a register, is used TM times, so each thread
// does TM multiply-adds per shared-memory read of B instead of one.
#ifndef BM  // the launcher may compile another tiling, giving all of these with -D
#define BM 64
#define BN 64
#define BK 8
#define TM 8
#endif
#define THREADS (BM * BN / TM)

__global__ void __launch_bounds__(THREADS)
matmul_blocktile1d(const float *A, const float *B, float *C, int M, int N, int K)
{
    __shared__ float As[BM][BK];
    __shared__ float Bs[BK][BN];
    const int tid = threadIdx.x;
    const int row0 = blockIdx.y * BM, col0 = blockIdx.x * BN;
    const int tcol = tid % BN;       // neighbouring threads: neighbouring columns of C
    const int trow = tid / BN * TM;  // first of this thread's TM rows
    float acc[TM] = {0.0f};
    for (int k0 = 0; k0 < K; k0 += BK) {
        // The block's threads copy the two tiles together, consecutive threads taking
        // consecutive elements of a row so that the global loads coalesce.
        for (int i = tid; i < BM * BK; i += THREADS) {
            const int r = i / BK, c = i % BK;
            As[r][c] = (row0 + r < M && k0 + c < K) ? A[(row0 + r) * K + k0 + c] : 0.0f;
        }
        for (int i = tid; i < BK * BN; i += THREADS) {
            const int r = i / BN, c = i % BN;
            Bs[r][c] = (k0 + r < K && col0 + c < N) ? B[(k0 + r) * N + col0 + c] : 0.0f;
        }
        __syncthreads();
        for (int k = 0; k < BK; ++k) {
            const float b = Bs[k][tcol];
            for (int m = 0; m < TM; ++m)
                acc[m] += As[trow + m][k] * b;
        }
        __syncthreads();
    }
    for (int m = 0; m < TM; ++m)
        if (row0 + trow + m < M && col0 + tcol < N)
            C[(row0 + trow + m) * N + col0 + tcol] = acc[m];
}
