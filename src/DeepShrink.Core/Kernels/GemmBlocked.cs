using System.Buffers;
using System.Runtime.CompilerServices;

namespace DeepShrink.Core.Kernels;

/// <summary>
/// Blocked SGEMM driver (Goto and van de Geijn, "Anatomy of high-performance matrix
/// multiplication", ACM TOMS 34(3), 2008; BLIS, Van Zee and van de Geijn, ACM TOMS 41(3), 2015):
/// loops jc (NC columns) -> pc (KC depth) -> pack the B panel and the A rows -> ic (MC rows)
/// -> jr (NR) -> ir (MR) -> micro-kernel.
/// </summary>
/// <remarks>
/// Threads split C into contiguous column (or row) panels whose borders are multiples of NR (MR);
/// each thread runs the whole loop nest on its panel with its own packing scratch, so there is a
/// single fork/join per call. The tile grid, the depth blocks and the order of the reduction are
/// the same for every panel split, so results are bit-identical for any thread count. The split
/// runs along n when A (re-packed by every thread) is the smaller operand, along m otherwise.
/// </remarks>
internal sealed unsafe class GemmBlocked<TK> where TK : struct, IGemmKernel
{
    /// <summary>Largest depth block (KC): a kc x NR B sliver stays in L1, MC x kc of A in L2.</summary>
    public const int KcMax = 256;

    /// <summary>Rows per L2 block (MC).</summary>
    private static int Mc => TK.MR * 24;

    /// <summary>Largest column panel (NC), a multiple of NR.</summary>
    private static int NcMax => TK.NR * 128;

    /// <summary>Largest row chunk packed at once (bounds the packed-A scratch), a multiple of MR.</summary>
    private static int MChunkMax => TK.MR * 512;

    private readonly bool _transA, _transB;
    private readonly int _m, _n, _k;
    private readonly float _alpha, _beta;
    private readonly float* _a, _b, _c;
    private readonly nint _lda, _ldb, _ldc;

    public GemmBlocked(bool transA, bool transB, int m, int n, int k, float alpha, float* a, nint lda,
        float* b, nint ldb, float beta, float* c, nint ldc)
    {
        _transA = transA; _transB = transB; _m = m; _n = n; _k = k; _alpha = alpha; _beta = beta;
        _a = a; _b = b; _c = c; _lda = lda; _ldb = ldb; _ldc = ldc;
    }

    /// <summary>Computes C on up to <paramref name="threads"/> threads.</summary>
    public void Run(int threads)
    {
        int colUnits = (_n + TK.NR - 1) / TK.NR, rowUnits = (_m + TK.MR - 1) / TK.MR;
        bool splitN = colUnits >= threads && ((long)_m <= _n || rowUnits < threads);
        int units = splitN ? colUnits : rowUnits;
        int parts = Math.Min(threads, units);
        if (parts <= 1)
        {
            RunPanel(0, _m, 0, _n);
            return;
        }
        WorkerPool.Run(parts, t =>
        {
            int u0 = (int)((long)units * t / parts), u1 = (int)((long)units * (t + 1) / parts);
            if (splitN) RunPanel(0, _m, u0 * TK.NR, Math.Min(_n, u1 * TK.NR));
            else RunPanel(u0 * TK.MR, Math.Min(_m, u1 * TK.MR), 0, _n);
        });
    }

    /// <summary>The whole loop nest for C[rowFrom..rowTo, colFrom..colTo] (borders on the tile grid).</summary>
    private void RunPanel(int rowFrom, int rowTo, int colFrom, int colTo)
    {
        int mr = TK.MR, nr = TK.NR;
        int kBlocks = (_k + KcMax - 1) / KcMax, kcStd = (_k + kBlocks - 1) / kBlocks;
        int mChunk = Math.Min(rowTo - rowFrom, MChunkMax), ncStd = Math.Min(colTo - colFrom, NcMax);
        int aFloats = RoundUp(mChunk, mr) * kcStd, bFloats = RoundUp(ncStd, nr) * kcStd;
        float[] scratch = ArrayPool<float>.Shared.Rent(aFloats + bFloats + 32);
        try
        {
            fixed (float* s = scratch)
            {
                float* packA = CacheLines.Align(s);
                float* packB = packA + RoundUp(aFloats, 16);
                float* tile = stackalloc float[mr * nr];
                for (int i0 = rowFrom; i0 < rowTo; i0 += mChunk)
                {
                    int mc = Math.Min(mChunk, rowTo - i0);
                    for (int j0 = colFrom; j0 < colTo; j0 += ncStd)
                    {
                        int nc = Math.Min(ncStd, colTo - j0);
                        for (int p0 = 0; p0 < _k; p0 += kcStd)
                        {
                            int kc = Math.Min(kcStd, _k - p0);
                            Pack(i0, mc, j0, nc, p0, kc, packA, packB);
                            Compute(i0, mc, j0, nc, p0, kc, p0 == 0 ? _beta : 1f, packA, packB, tile);
                        }
                    }
                }
            }
        }
        finally
        {
            ArrayPool<float>.Shared.Return(scratch);
        }
    }

    /// <summary>
    /// A non-transposed B is read in place (no packing) when few A slivers reuse each B sliver,
    /// where packing would cost about as much as the multiply.
    /// </summary>
    private bool ReadBInPlace(int mc) => !_transB && mc <= InPlaceMaxRows;

    /// <summary>Row chunks up to this size read a non-transposed B in place (measured break-even near 128).</summary>
    private const int InPlaceMaxRows = 128;

    private static int RoundUp(int x, int q) => (x + q - 1) / q * q;

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void Pack(int i0, int mc, int j0, int nc, int p0, int kc, float* packA, float* packB)
    {
        for (int r = 0; r < mc; r += TK.MR)
            GemmPack.Pack(_transA, _a, _lda, i0 + r, Math.Min(TK.MR, mc - r), p0, kc, TK.MR, packA + (nint)r * kc);
        bool bInPlace = ReadBInPlace(mc);
        for (int j = 0; j < nc; j += TK.NR)
            if (!bInPlace || nc - j < TK.NR)
                GemmPack.Pack(!_transB, _b, _ldb, j0 + j, Math.Min(TK.NR, nc - j), p0, kc, TK.NR, packB + (nint)j * kc);
    }

    /// <summary>Multiplies the packed mc x kc A rows by the packed kc x nc B panel into C.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void Compute(int i0, int mc, int j0, int nc, int p0, int kc, float beta, float* packA, float* packB, float* tile)
    {
        int mr = TK.MR, nr = TK.NR;
        bool bInPlace = ReadBInPlace(mc);
        for (int ic = 0; ic < mc; ic += Mc)
        {
            int icEnd = Math.Min(mc, ic + Mc);
            // jr outer, ir inner: the kc x NR B sliver stays in L1 while A slivers stream from L2.
            for (int col = 0; col < nc; col += nr)
            {
                int cols = Math.Min(nr, nc - col);
                bool inPlace = bInPlace && cols == nr;
                float* pb = inPlace ? _b + p0 * _ldb + j0 + col : packB + (nint)col * kc;
                nint ldbK = inPlace ? _ldb : nr;
                for (int row = ic; row < icEnd; row += mr)
                {
                    int rows = Math.Min(mr, mc - row);
                    float* pa = packA + (nint)row * kc;
                    float* c = _c + (i0 + row) * _ldc + j0 + col;
                    if (rows == mr && cols == nr) TK.Run(kc, pa, pb, ldbK, c, _ldc, _alpha, beta);
                    else EdgeTile(kc, pa, pb, ldbK, c, rows, cols, beta, tile);
                }
            }
        }
    }

    /// <summary>A partial tile: full-size kernel into scratch, then the covered part is merged into C.</summary>
    private void EdgeTile(int kc, float* pa, float* pb, nint ldbK, float* c, int rows, int cols, float beta, float* tile)
    {
        TK.Run(kc, pa, pb, ldbK, tile, TK.NR, 1f, 0f);
        for (int r = 0; r < rows; r++)
        {
            float* cr = c + r * _ldc, tr = tile + r * TK.NR;
            if (beta == 0f) for (int j = 0; j < cols; j++) cr[j] = _alpha * tr[j];
            else for (int j = 0; j < cols; j++) cr[j] = _alpha * tr[j] + beta * cr[j];
        }
    }
}
