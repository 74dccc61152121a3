using System.Buffers;
using System.Runtime.CompilerServices;
using System.Numerics.Tensors;

namespace DeepShrink.Core.Kernels;

/// <summary>
/// Unpacked SGEMM for products too small or too thin (m == 1 or n == 1) to repay packing:
/// each C row is either a set of dot products (when op(B) columns are contiguous, or are gathered
/// because n is tiny) or an accumulation of scaled B rows. Every C element is computed the same
/// way whatever the thread count.
/// </summary>
internal static unsafe class GemmDirect
{
    /// <summary>Multiply-adds up to which the direct path is used for any shape.</summary>
    public const long MaxWork = 4096;

    /// <summary>Below this n, non-transposed B is gathered into columns and dot products are used.</summary>
    private const int DotMaxN = 8;

    public static bool Prefer(int m, int n, int k) => m == 1 || n == 1 || (long)m * n * k <= MaxWork;

    public static void Run(bool transA, bool transB, int m, int n, int k, float alpha,
        float* a, nint lda,     // [m, k] (or [k, m] when transA)
        float* b, nint ldb,     // [k, n] (or [n, k] when transB)
        float beta, float* c, nint ldc, // [m, n]
        int threads)
    {
        bool dot = transB || n < DotMaxN;
        float[]? gathered = null;
        try
        {
            float* bt = b; nint ldbt = ldb; // op(B)^T rows [n, k] for the dot form
            if (dot && !transB)
            {
                gathered = ArrayPool<float>.Shared.Rent(n * k);
                for (int j = 0; j < n; j++)
                    for (int p = 0; p < k; p++) gathered[j * k + p] = b[p * ldb + j];
                ldbt = k;
            }
            fixed (float* g = gathered)
            {
                if (gathered is not null) bt = g;
                var job = new Job(transA, dot, m, n, k, alpha, a, lda, dot ? bt : b, dot ? ldbt : ldb, beta, c, ldc);
                int parts = Math.Min(threads, m > 1 ? m : n);
                if (parts <= 1) { job.Part(0, 1); return; }
                WorkerPool.Run(parts, t => job.Part(t, parts));
            }
        }
        finally
        {
            if (gathered is not null) ArrayPool<float>.Shared.Return(gathered);
        }
    }

    private sealed class Job(bool transA, bool dot, int m, int n, int k, float alpha, float* a, nint lda,
        float* b, nint ldb, float beta, float* c, nint ldc)
    {
        /// <summary>Computes part <paramref name="t"/> of <paramref name="parts"/> (split over rows, or columns when m == 1).</summary>
        public void Part(int t, int parts)
        {
            bool byRows = m > 1;
            int len = byRows ? m : n;
            int from = (int)((long)len * t / parts), to = (int)((long)len * (t + 1) / parts);
            int i0 = byRows ? from : 0, i1 = byRows ? to : 1, j0 = byRows ? 0 : from, j1 = byRows ? n : to;
            float[] scratch = ArrayPool<float>.Shared.Rent(k + n);
            try
            {
                fixed (float* s = scratch)
                {
                    for (int i = i0; i < i1; i++) Row(i, j0, j1, s, s + k);
                }
            }
            finally
            {
                ArrayPool<float>.Shared.Return(scratch);
            }
        }

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private void Row(int i, int j0, int j1, float* aRowScratch, float* acc)
        {
            float* arow = a + i * lda;
            if (transA)
            {
                for (int p = 0; p < k; p++) aRowScratch[p] = a[p * lda + i];
                arow = aRowScratch;
            }
            var x = new ReadOnlySpan<float>(arow, k);
            float* crow = c + i * ldc;
            if (dot)
            {
                for (int j = j0; j < j1; j++)
                {
                    float v = alpha * TensorPrimitives.Dot(x, new ReadOnlySpan<float>(b + j * ldb, k));
                    crow[j] = beta == 0f ? v : v + beta * crow[j];
                }
                return;
            }
            int w = j1 - j0;
            var accSpan = new Span<float>(acc, w);
            accSpan.Clear();
            for (int p = 0; p < k; p++)
                TensorPrimitives.MultiplyAdd(new ReadOnlySpan<float>(b + p * ldb + j0, w), x[p], accSpan, accSpan);
            var cs = new Span<float>(crow + j0, w);
            if (beta == 0f) TensorPrimitives.Multiply(accSpan, alpha, cs);
            else
            {
                TensorPrimitives.Multiply(cs, beta, cs);
                TensorPrimitives.MultiplyAdd(accSpan, alpha, cs, cs);
            }
        }
    }
}
