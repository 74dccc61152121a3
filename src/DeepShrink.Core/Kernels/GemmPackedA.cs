using System.Runtime.CompilerServices;

namespace DeepShrink.Core.Kernels;

/// <summary>
/// A constant left operand A [m, k] (e.g. convolution weights) packed once into the micro-kernel's A slivers,
/// so repeated products C = A B skip the packing that <see cref="Gemm.Sgemm"/> redoes on every call.
/// </summary>
/// <remarks>
/// Goto and van de Geijn, "Anatomy of high-performance matrix multiplication" (ACM TOMS 34(3), 2008): A is
/// cut into depth blocks of at most <see cref="GemmBlocked{TK}.KcMax"/> columns (the same cut as
/// <see cref="Gemm.Sgemm"/>) and each block into MR-row slivers stored k-major,
/// <c>block(p0)[s MR kc + p MR + r] = A[s MR + r, p0 + p]</c>, zero-padded to a whole sliver. B is read in place
/// (no packing): callers give it as a small, cache-resident panel, e.g. a slice of an im2col matrix.
/// <see cref="Multiply"/> computes <c>C[i, j] = sum_p A[i, p] B[p, j]</c> for a band of rows, reducing over p in
/// increasing depth blocks exactly like the micro-kernels of <see cref="Gemm.Sgemm"/>;
/// <see cref="GemmReference"/> is the specification.
/// </remarks>
public sealed unsafe class GemmPackedA
{
    private readonly float[] _data; // [k blocks][m padded to MR][kc] as described above
    private readonly int _kc, _mPad;

    /// <summary>Packs row-major <paramref name="a"/> [m, k] for the SIMD level of <see cref="Gemm.Isa"/>.</summary>
    public GemmPackedA(ReadOnlySpan<float> a, int m, int k) : this(a, m, k, Gemm.Isa) { }

    /// <summary>Packs for an explicit SIMD level (tests run every level's micro-kernel this way).</summary>
    public GemmPackedA(ReadOnlySpan<float> a, int m, int k, SimdLevel level) // a: [m, k]
    {
        if (m < 1 || k < 1) throw new ArgumentException($"packed GEMM operand needs m >= 1 and k >= 1, got m={m} k={k}");
        if (a.Length < (long)m * k) throw new ArgumentException($"A has {a.Length} elements, [{m}, {k}] needs {(long)m * k}");
        if (level > CpuFeatures.Level) throw new ArgumentException($"SIMD level {CpuFeatures.Name(level)} is not available here (best: {CpuFeatures.LevelName})");
        M = m; K = k; Level = level;
        (Mr, Nr) = GemmPack.Tile(level);
        _kc = GemmPack.DepthBlock(k);
        _mPad = (m + Mr - 1) / Mr * Mr;
        _data = GemmPack.RowSlivers(a, m, k, Mr, _kc);
    }

    /// <summary>Rows of A.</summary>
    public int M { get; }
    /// <summary>Columns of A (the reduction length).</summary>
    public int K { get; }
    /// <summary>The SIMD level the slivers were packed for.</summary>
    public SimdLevel Level { get; }
    /// <summary>Rows per micro-kernel tile: row bands given to <see cref="Multiply"/> start on multiples of it.</summary>
    public int Mr { get; }
    /// <summary>Columns per micro-kernel tile: B rows are read in whole tiles (see <see cref="Multiply"/>).</summary>
    public int Nr { get; }
    /// <summary>Bytes held by the packed operand.</summary>
    public long Bytes => 4L * _data.Length;

    /// <summary>Elements B must hold for <paramref name="n"/> columns with row stride <paramref name="ldb"/>.</summary>
    public long RequiredB(int n, int ldb) => (long)(K - 1) * ldb + RoundUp(n, Nr);

    /// <summary>
    /// C[rowFrom..rowTo, 0..n) = A[rowFrom..rowTo, :] B on the calling thread. B is read in whole tiles of
    /// <see cref="Nr"/> columns: its buffer must hold <see cref="RequiredB"/> elements; the columns past n only feed
    /// discarded results (keep them finite, e.g. zero, so no slow denormal or NaN arithmetic happens).
    /// </summary>
    public void Multiply(ReadOnlySpan<float> b, int ldb, int n, // [K, ldb]
        Span<float> c, int ldc,                                  // [M, ldc]
        int rowFrom, int rowTo)
    {
        if (rowFrom < 0 || rowTo > M || rowFrom >= rowTo || rowFrom % Mr != 0)
            throw new ArgumentException($"row band [{rowFrom}, {rowTo}) must lie in [0, {M}), be non-empty and start on a multiple of {Mr}");
        if (n < 1 || ldb < n || ldc < n) throw new ArgumentException($"packed GEMM needs n >= 1, ldb >= n and ldc >= n, got n={n} ldb={ldb} ldc={ldc}");
        if (b.Length < RequiredB(n, ldb)) throw new ArgumentException($"B has {b.Length} elements, {K} rows of {n} columns read in tiles of {Nr} need {RequiredB(n, ldb)}");
        if (c.Length < (long)(rowTo - 1) * ldc + n) throw new ArgumentException($"C has {c.Length} elements, rows up to {rowTo} of {n} columns need {(long)(rowTo - 1) * ldc + n}");
        fixed (float* pa = _data, pb = b, pc = c)
        {
            switch (Level)
            {
                case SimdLevel.Vector512: Run<GemmKernel512>(pa, pb, ldb, n, pc, ldc, rowFrom, rowTo); break;
                case SimdLevel.Vector256Fma: Run<GemmKernel256>(pa, pb, ldb, n, pc, ldc, rowFrom, rowTo); break;
                default: Run<GemmKernelScalar>(pa, pb, ldb, n, pc, ldc, rowFrom, rowTo); break;
            }
        }
    }

    /// <summary>Depth blocks outside; per NR-column B sliver (kept in L1) every MR-row A sliver of the band streams by.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void Run<TK>(float* a, float* b, nint ldb, int n, float* c, nint ldc, int rowFrom, int rowTo) where TK : struct, IGemmKernel
    {
        int mr = TK.MR, nr = TK.NR;
        float* tile = stackalloc float[mr * nr];
        for (int p0 = 0; p0 < K; p0 += _kc)
        {
            int kc = Math.Min(_kc, K - p0);
            float beta = p0 == 0 ? 0f : 1f;
            float* ablock = a + (long)p0 * _mPad;
            for (int j = 0; j < n; j += nr)
            {
                int cols = Math.Min(nr, n - j);
                float* bp = b + p0 * ldb + j;
                for (int r = rowFrom; r < rowTo; r += mr)
                {
                    int rows = Math.Min(mr, rowTo - r);
                    float* cp = c + r * ldc + j;
                    if (rows == mr && cols == nr) TK.Run(kc, ablock + (long)r * kc, bp, ldb, cp, ldc, 1f, beta);
                    else
                    {
                        TK.Run(kc, ablock + (long)r * kc, bp, ldb, tile, nr, 1f, 0f);
                        for (int i = 0; i < rows; i++)
                        {
                            float* cr = cp + i * ldc, tr = tile + i * nr;
                            if (beta == 0f) for (int q = 0; q < cols; q++) cr[q] = tr[q];
                            else for (int q = 0; q < cols; q++) cr[q] += tr[q];
                        }
                    }
                }
            }
        }
    }

    private static int RoundUp(int x, int q) => (x + q - 1) / q * q;
}
