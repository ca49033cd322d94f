// Rung 6, vectorised loads: rung 5 moving 16 bytes per instruction. Global loads and stores
// use float4, and the A tile is stored transposed (As[k][m]) so that a thread's TM values of
// A for one k are contiguous in shared memory and can be read as float4 too.
// float4 accesses must be 16-byte aligned: the launcher guarantees K % 4 == 0 and
// N % 4 == 0 (padding with zeros otherwise), so each group of 4 is entirely inside the
// matrix or entirely outside it, and one bounds check per group suffices.
#ifndef BM  // the launcher may compile another tiling, giving all of these with -D
#define BM 128
#define BN 128
#define BK 8
#define TM 8
#define TN 8
#endif
#define THREADS (BM * BN / (TM * TN))

__global__ void __launch_bounds__(THREADS)
matmul_vectorized(const float *A, const float *B, float *C, int M, int N, int K)
{
    __shared__ __align__(16) float As[BK][BM];
    __shared__ __align__(16) float Bs[BK][BN];
    const int tid = threadIdx.x;
    const int row0 = blockIdx.y * BM, col0 = blockIdx.x * BN;
    const int tcol = tid % (BN / TN) * TN;
    const int trow = tid / (BN / TN) * TM;
    float acc[TM][TN] = {{0.0f}};
    float a[TM], b[TN];
    for (int k0 = 0; k0 < K; k0 += BK) {
        for (int i = tid; i < BM * BK / 4; i += THREADS) {
            const int r = i / (BK / 4), c = i % (BK / 4) * 4;
            float4 v = make_float4(0.0f, 0.0f, 0.0f, 0.0f);
            if (row0 + r < M && k0 + c < K)
                v = *reinterpret_cast<const float4 *>(&A[(row0 + r) * K + k0 + c]);
            As[c + 0][r] = v.x;  // transpose on the way in
            As[c + 1][r] = v.y;
            As[c + 2][r] = v.z;
            As[c + 3][r] = v.w;
        }
        for (int i = tid; i < BK * BN / 4; i += THREADS) {
            const int r = i / (BN / 4), c = i % (BN / 4) * 4;
            float4 v = make_float4(0.0f, 0.0f, 0.0f, 0.0f);
            if (k0 + r < K && col0 + c < N)
                v = *reinterpret_cast<const float4 *>(&B[(k0 + r) * N + col0 + c]);
            *reinterpret_cast<float4 *>(&Bs[r][c]) = v;
        }
        __syncthreads();
        for (int k = 0; k < BK; ++k) {
            for (int m = 0; m < TM; m += 4)
                *reinterpret_cast<float4 *>(&a[m]) = *reinterpret_cast<const float4 *>(&As[k][trow + m]);
            for (int n = 0; n < TN; n += 4)
                *reinterpret_cast<float4 *>(&b[n]) = *reinterpret_cast<const float4 *>(&Bs[k][tcol + n]);
            for (int m = 0; m < TM; ++m)
                for (int n = 0; n < TN; ++n)
                    acc[m][n] += a[m] * b[n];
        }
        __syncthreads();
    }
    for (int m = 0; m < TM; ++m) {
        if (row0 + trow + m >= M)
            break;
        for (int n = 0; n < TN; n += 4)
            if (col0 + tcol + n < N)
                *reinterpret_cast<float4 *>(&C[(row0 + trow + m) * N + col0 + tcol + n]) =
                    make_float4(acc[m][n], acc[m][n + 1], acc[m][n + 2], acc[m][n + 3]);
    }
}
