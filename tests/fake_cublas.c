/* A host-memory stand-in for the three cuBLAS calls scripts/bench_cuda.py makes (column-major
   SGEMM as cuBLAS defines it), so that its ctypes signatures and its row-major trick are tested
   without a GPU. With tests/fake_pycuda.py, "device" pointers are host pointers. */
typedef struct { int math_mode; } handle_t;

int cublasCreate_v2(void **handle)
{
    static handle_t h;
    *handle = &h;
    return 0;
}

int cublasSetMathMode(void *handle, int mode)
{
    ((handle_t *)handle)->math_mode = mode;
    return 0;
}

int cublasSgemm_v2(void *handle, int transa, int transb, int m, int n, int k, const float *alpha,
                   const float *A, int lda, const float *B, int ldb, const float *beta, float *C, int ldc)
{
    if (transa != 0 || transb != 0 || ((handle_t *)handle)->math_mode != 0)
        return 7; /* CUBLAS_STATUS_INVALID_VALUE: the script only asks for N, N in FP32 */
    for (int j = 0; j < n; ++j)
        for (int i = 0; i < m; ++i) {
            float acc = 0.0f;
            for (int p = 0; p < k; ++p)
                acc += A[i + p * lda] * B[p + j * ldb];
            /* like cuBLAS, C is not read when beta == 0 */
            C[i + j * ldc] = *alpha * acc + (*beta == 0.0f ? 0.0f : *beta * C[i + j * ldc]);
        }
    return 0;
}
