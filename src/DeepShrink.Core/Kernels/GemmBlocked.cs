using System.Buffers;
using System.Runtime.CompilerServices;

namespace DeepShrink.Core.Kernels;

/// <summary>
/// One blocked SGEMM call (Goto and van de Geijn 2008; BLIS, Van Zee and van de Geijn 2015):
/// loops jc (NC columns) -> pc (KC depth) -> pack B panel and A rows -> ic (MC rows) x jr (NR)
/// -> ir (MR) -> micro-kernel. The packing and the compute phases of each (jc, pc) step are split
/// into independent items that threads share; every C tile is reduced over pc in the same order
/// whatever the thread count, so results are bit-identical for any number of threads.
/// </summary>
internal sealed unsafe class GemmBlocked<TK> where TK : struct, IGemmKernel
{
    /// <summary>Largest depth block (KC): a kc x NR B sliver stays in L1, MC x kc of A in L2.</summary>
    public const int KcMax = 256;
    /// <summary>Rows per compute item (MC), a multiple of MR.</summary>
    public static int Mc => TK.MR * 16;
    /// <summary>Largest column block (NC).</summary>
    public const int NcMax = 4096;
    /// <summary>Largest row chunk packed at once (bounds the packed-A scratch).</summary>
    public const int MChunkMax = 4096;

    private readonly bool _transA, _transB;
    private readonly int _m, _n, _k;
    private readonly float _alpha, _beta;
    private readonly float* _a, _b, _c;
    private readonly nint _lda, _ldb, _ldc;
    private readonly int _threads;

    // Per-step state (set by the coordinating thread between parallel phases).
    private float* _packA, _packB;
    private int _i0, _mc, _j0, _nc, _p0, _kc, _jrChunks;
    private float _betaStep;

    public GemmBlocked(bool transA, bool transB, int m, int n, int k, float alpha, float* a, nint lda,
        float* b, nint ldb, float beta, float* c, nint ldc, int threads)
    {
        _transA = transA; _transB = transB; _m = m; _n = n; _k = k; _alpha = alpha; _beta = beta;
        _a = a; _b = b; _c = c; _lda = lda; _ldb = ldb; _ldc = ldc; _threads = threads;
    }

    public void Run()
    {
        int mr = TK.MR, nr = TK.NR;
        int kBlocks = (_k + KcMax - 1) / KcMax, kcStd = (_k + kBlocks - 1) / kBlocks;
        int mChunk = Math.Min(_m, MChunkMax), ncStd = Math.Min(_n, NcMax);
        int aFloats = RoundUp(mChunk, mr) * kcStd, bFloats = RoundUp(ncStd, nr) * kcStd;
        float[] scratch = ArrayPool<float>.Shared.Rent(aFloats + bFloats + 32);
        try
        {
            fixed (float* s = scratch)
            {
                float* aligned = (float*)(((nint)s + 63) & ~(nint)63);
                _packA = aligned;
                _packB = aligned + RoundUp(aFloats, 16);
                for (_i0 = 0; _i0 < _m; _i0 += mChunk)
                {
                    _mc = Math.Min(mChunk, _m - _i0);
                    for (_j0 = 0; _j0 < _n; _j0 += ncStd)
                    {
                        _nc = Math.Min(ncStd, _n - _j0);
                        for (_p0 = 0; _p0 < _k; _p0 += kcStd)
                        {
                            _kc = Math.Min(kcStd, _k - _p0);
                            _betaStep = _p0 == 0 ? _beta : 1f;
                            Step();
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

    private static int RoundUp(int x, int q) => (x + q - 1) / q * q;

    private void Step()
    {
        int aSlivers = (_mc + TK.MR - 1) / TK.MR, bSlivers = (_nc + TK.NR - 1) / TK.NR;
        int icBlocks = (_mc + Mc - 1) / Mc;
        if (_threads <= 1)
        {
            _jrChunks = 1;
            PackRange(0, aSlivers + bSlivers);
            for (int item = 0; item < icBlocks; item++) Compute(item);
            return;
        }
        int packItems = aSlivers + bSlivers, packChunks = Math.Min(packItems, 4 * _threads);
        var opts = new ParallelOptions { MaxDegreeOfParallelism = _threads };
        Parallel.For(0, packChunks, opts, t =>
            PackRange((int)((long)packItems * t / packChunks), (int)((long)packItems * (t + 1) / packChunks)));
        _jrChunks = Math.Clamp((4 * _threads + icBlocks - 1) / icBlocks, 1, bSlivers);
        Parallel.For(0, icBlocks * _jrChunks, opts, Compute);
    }

    /// <summary>Packs slivers [from, to): first all A slivers, then all B slivers.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void PackRange(int from, int to)
    {
        int aSlivers = (_mc + TK.MR - 1) / TK.MR;
        for (int s = from; s < to; s++)
        {
            if (s < aSlivers)
            {
                int r0 = s * TK.MR;
                GemmPack.PackA(_transA, _a, _lda, _i0 + r0, Math.Min(TK.MR, _mc - r0), _p0, _kc, TK.MR, _packA + (nint)r0 * _kc);
            }
            else
            {
                int c0 = (s - aSlivers) * TK.NR;
                GemmPack.PackB(_transB, _b, _ldb, _p0, _kc, _j0 + c0, Math.Min(TK.NR, _nc - c0), TK.NR, _packB + (nint)c0 * _kc);
            }
        }
    }

    /// <summary>Computes one (MC row block, jr chunk) item of the current step.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void Compute(int item)
    {
        int nr = TK.NR;
        int ic = item / _jrChunks, chunk = item % _jrChunks;
        int bSlivers = (_nc + nr - 1) / nr;
        int jrFrom = (int)((long)bSlivers * chunk / _jrChunks), jrTo = (int)((long)bSlivers * (chunk + 1) / _jrChunks);
        int rowFrom = ic * Mc, rowTo = Math.Min(_mc, rowFrom + Mc);
        float* tile = stackalloc float[TK.MR * nr];
        // jr outer, ir inner: the kc x NR B sliver stays in L1 while A slivers stream from L2.
        for (int jr = jrFrom; jr < jrTo; jr++)
            for (int row = rowFrom; row < rowTo; row += TK.MR)
                Tile(row, jr, tile);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void Tile(int row, int jr, float* tile)
    {
        int mr = TK.MR, nr = TK.NR;
        int col = jr * nr, cols = Math.Min(nr, _nc - col);
        float* pb = _packB + (nint)col * _kc;
        int rows = Math.Min(mr, _mc - row);
        float* pa = _packA + (nint)row * _kc;
        float* c = _c + (_i0 + row) * _ldc + _j0 + col;
        if (rows == mr && cols == nr)
        {
            TK.Run(_kc, pa, pb, c, _ldc, _alpha, _betaStep);
            return;
        }
        TK.Run(_kc, pa, pb, tile, nr, 1f, 0f);
        for (int r = 0; r < rows; r++)
        {
            float* cr = c + r * _ldc, tr = tile + r * nr;
            if (_betaStep == 0f) for (int j = 0; j < cols; j++) cr[j] = _alpha * tr[j];
            else for (int j = 0; j < cols; j++) cr[j] = _alpha * tr[j] + _betaStep * cr[j];
        }
    }
}
