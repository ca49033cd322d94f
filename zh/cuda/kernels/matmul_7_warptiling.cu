// Rung 7, warptiling: one more level between the block and the thread. The block's BM x BN
// tile is split into warp tiles of WM x WN, one per warp (32 threads); a warp walks its tile
// in WMITER x WNITER sub-tiles of WSUBM x WSUBN, and in each sub-tile every lane computes a
// TM x TN square. A warp's shared-memory reads then come from a small, fixed region
// (fewer bank conflicts), and each thread's results stay in registers it owns.
// Loads and stores are float4, with the same K % 4 == 0, N % 4 == 0 contract as rung 6.
#ifndef BM  // the launcher may compile another tiling, giving all of these with -D
#define BM 128
#define BN 128
#define BK 16
#define WM 64
#define WN 64
#define WNITER 4
#define TM 8
#define TN 4
#endif
#define WARPSIZE 32
#define THREADS (BM / WM * BN / WN * WARPSIZE)
#define WMITER (WM * WN / (WARPSIZE * TM * TN * WNITER))
#define WSUBM (WM / WMITER)
#define WSUBN (WN / WNITER)

__global__ void __launch_bounds__(THREADS)
matmul_warptiling(const float *A, const float *B, float *C, int M, int N, int K)
{
    __shared__ __align__(16) float As[BK][BM];
    __shared__ __align__(16) float Bs[BK][BN];
    const int tid = threadIdx.x;
    const int row0 = blockIdx.y * BM, col0 = blockIdx.x * BN;
    const int warp = tid / WARPSIZE, lane = tid % WARPSIZE;
    const int wrow = warp / (BN / WN) * WM;  // this warp's tile inside the block tile
    const int wcol = warp % (BN / WN) * WN;
    const int trow = lane / (WSUBN / TN) * TM;  // this lane's square inside each sub-tile
    const int tcol = lane % (WSUBN / TN) * TN;
    float acc[WMITER * TM][WNITER * TN] = {{0.0f}};
    float a[WMITER * TM], b[WNITER * TN];
    for (int k0 = 0; k0 < K; k0 += BK) {
        for (int i = tid; i < BM * BK / 4; i += THREADS) {
            const int r = i / (BK / 4), c = i % (BK / 4) * 4;
            float4 v = make_float4(0.0f, 0.0f, 0.0f, 0.0f);
            if (row0 + r < M && k0 + c < K)
                v = *reinterpret_cast<const float4 *>(&A[(row0 + r) * K + k0 + c]);
            As[c + 0][r] = v.x;
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
            for (int wm = 0; wm < WMITER; ++wm)
                for (int m = 0; m < TM; m += 4)
                    *reinterpret_cast<float4 *>(&a[wm * TM + m]) =
                        *reinterpret_cast<const float4 *>(&As[k][wrow + wm * WSUBM + trow + m]);
            for (int wn = 0; wn < WNITER; ++wn)
                for (int n = 0; n < TN; n += 4)
                    *reinterpret_cast<float4 *>(&b[wn * TN + n]) =
                        *reinterpret_cast<const float4 *>(&Bs[k][wcol + wn * WSUBN + tcol + n]);
            for (int m = 0; m < WMITER * TM; ++m)
                for (int n = 0; n < WNITER * TN; ++n)
                    acc[m][n] += a[m] * b[n];
        }
        __syncthreads();
    }
    for (int wm = 0; wm < WMITER; ++wm)
        for (int m = 0; m < TM; ++m) {
            const int row = row0 + wrow + wm * WSUBM + trow + m;
            if (row >= M)
                continue;
            for (int wn = 0; wn < WNITER; ++wn)
                for (int n = 0; n < TN; n += 4) {
                    const int col = col0 + wcol + wn * WSUBN + tcol + n;
                    if (col < N)
                        *reinterpret_cast<float4 *>(&C[row * N + col]) =
                            make_float4(acc[wm * TM + m][wn * TN + n], acc[wm * TM + m][wn * TN + n + 1],
                                        acc[wm * TM + m][wn * TN + n + 2], acc[wm * TM + m][wn * TN + n + 3]);
                }
        }
}
