// c[i] = a[i] + b[i]: one thread per element.
// Each thread reads 8 bytes and writes 4, and does one addition: the kernel is limited
// by memory bandwidth, so the only goal is to keep every load and store coalesced.

__global__ void vector_add(const float *a, const float *b, float *c, int n)
{
    const int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n)  // the last block runs past the end when n is not a multiple of the block
        c[i] = a[i] + b[i];
}
