// Rung 5, 2-D blocktiling: each thread computes a TM x TN square of C. For every k it loads
// TM values of A and TN values of B from shared memory into registers and does TM * TN
// multiply-adds with them: an outer product, TM*TN / (TM+TN) multiply-adds per load.
#ifndef BM  // the launcher may compile another tiling, giving all of these with -D
#define BM 128
#define BN 128
#define BK 8
#define TM 8
#define TN 8
#endif
#define THREADS (BM * BN / (TM * TN))

__global__ void __launch_bounds__(THREADS)
matmul_blocktile2d(const float *A, const float *B, float *C, int M, int N, int K)
{
    __shared__ float As[BM][BK];
    __shared__ float Bs[BK][BN];
    const int tid = threadIdx.x;
    const int row0 = blockIdx.y * BM, col0 = blockIdx.x * BN;
    const int tcol = tid % (BN / TN) * TN;  // this thread's square starts at (trow, tcol)
    const int trow = tid / (BN / TN) * TM;
    float acc[TM][TN] = {{0.0f}};
    float a[TM], b[TN];
    for (int k0 = 0; k0 < K; k0 += BK) {
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
            for (int m = 0; m < TM; ++m)
                a[m] = As[trow + m][k];
            for (int n = 0; n < TN; ++n)
                b[n] = Bs[k][tcol + n];
            for (int m = 0; m < TM; ++m)
                for (int n = 0; n < TN; ++n)
                    acc[m][n] += a[m] * b[n];
        }
        __syncthreads();
    }
    for (int m = 0; m < TM; ++m)
        for (int n = 0; n < TN; ++n)
            if (row0 + trow + m < M && col0 + tcol + n < N)
                C[(row0 + trow + m) * N + col0 + tcol + n] = acc[m][n];
}
