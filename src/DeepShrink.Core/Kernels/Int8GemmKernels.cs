using System.Buffers;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace DeepShrink.Core.Kernels;

/// <summary>Blocked driver and register-tiled micro-kernels behind <see cref="Int8Gemm"/>.</summary>
internal static unsafe class Int8GemmKernels
{
    /// <summary>One row block of the product: rows [0, Rows) of A/C starting at the given pointers.</summary>
    internal readonly struct Block(byte* a, int lda, sbyte* w, int* c, int ldc, int rows, int n, int k)
    {
        public readonly byte* A = a;   // [rows, k], row stride Lda
        public readonly int Lda = lda;
        public readonly sbyte* W = w;  // packed panels [ceil(n/16)][ceil(k/4)][16][4]
        public readonly int* C = c;    // [rows, n], row stride Ldc
        public readonly int Ldc = ldc;
        public readonly int Rows = rows, N = n, K = k;
    }

    private const int VnniRows = 8, Avx2Rows = 4, GroupStride = 64;

    /// <summary>
    /// Packs A block by block along k and runs the SIMD micro-kernels over panels [p0, p1). With <paramref name="jit"/>,
    /// pairs of full panels go through the generated 512-bit 8x32 tile (<see cref="Jit.JitKernels.Int8Tile8x32"/>);
    /// the 256-bit VNNI tiles take the rest.
    /// </summary>
    public static void PackedBlock(in Block job, int p0, int p1, bool vnni, bool jit = false)
    {
        int kg = (job.K + 3) / 4;
        int mr = vnni ? VnniRows : Avx2Rows;
        int groupBytes = vnni ? mr * 4 : mr * 8; // AVX2 keeps A widened to s16
        int microPanels = (job.Rows + mr - 1) / mr;
        byte[] scratch = ArrayPool<byte>.Shared.Rent(microPanels * Int8Gemm.KcGroups * groupBytes);
        try
        {
            fixed (byte* ps = scratch)
            {
                for (int kb = 0; kb < kg; kb += Int8Gemm.KcGroups)
                {
                    int kgb = Math.Min(Int8Gemm.KcGroups, kg - kb);
                    PackA(job, kb, kgb, mr, !vnni, ps);
                    bool accumulate = kb > 0;
                    for (int p = p0; p < p1;)
                    {
                        int step = jit && p + 1 < p1 && (p + 2) * 16 <= job.N ? 2 : 1;
                        sbyte* bp = job.W + ((long)p * kg + kb) * GroupStride;
                        for (int mp = 0; mp < microPanels; mp++)
                        {
                            int r0 = mp * mr, rr = Math.Min(mr, job.Rows - r0);
                            byte* ap = ps + (long)mp * kgb * groupBytes;
                            int* cp = job.C + (long)r0 * job.Ldc + p * 16;
                            if (step == 2 && rr == VnniRows)
                            {
                                var args = new Jit.Int8TileArgs
                                {
                                    A = ap, B0 = bp, B1 = bp + (long)kg * GroupStride, Groups = kgb,
                                    C = cp, LdcBytes = (long)job.Ldc * sizeof(int), Accumulate = accumulate ? 1 : 0,
                                };
                                Jit.JitKernels.Int8Tile8x32(&args);
                            }
                            else if (jit && !AvxVnni.IsSupported) // AVX-512 VNNI without AVX-VNNI (e.g. Cascade Lake): edges via a scratch tile
                                GeneratedEdge(ap, bp, (long)kg * GroupStride, kgb, cp, job.Ldc, rr, Math.Min(16 * step, job.N - p * 16), step == 2, accumulate);
                            else
                            {
                                for (int s = 0; s < step; s++)
                                    ManagedTile(ap, bp + (long)s * kg * GroupStride, kgb, cp + 16 * s, job.Ldc, rr, Math.Min(16, job.N - (p + s) * 16), accumulate, vnni);
                            }
                        }
                        p += step;
                    }
                }
            }
        }
        finally { ArrayPool<byte>.Shared.Return(scratch); }
    }

    /// <summary>
    /// An edge tile (fewer than 8 rows, or a lone or partial panel) on the generated 8x32 kernel: the full tile goes to
    /// a scratch block (rows past the block are zero in packed A; a lone panel is paired with itself) and the valid
    /// rows x cols corner is copied or added into C.
    /// </summary>
    private static void GeneratedEdge(byte* ap, sbyte* bp, long panelStride, int kgb, int* cp, int ldc, int rows, int cols, bool twoPanels, bool accumulate)
    {
        int* t = stackalloc int[VnniRows * 32];
        var args = new Jit.Int8TileArgs
        {
            A = ap, B0 = bp, B1 = twoPanels ? bp + panelStride : bp, Groups = kgb, C = t, LdcBytes = 32 * sizeof(int), Accumulate = 0,
        };
        Jit.JitKernels.Int8Tile8x32(&args);
        WriteTile(t, 32, cp, ldc, rows, cols, accumulate);
    }

    /// <summary>One packed micro-panel (rr rows) times one 16-column panel on the managed SIMD tiles.</summary>
    private static void ManagedTile(byte* ap, sbyte* bp, int kgb, int* cp, int ldc, int rr, int cols, bool accumulate, bool vnni)
    {
        if (!vnni)
        {
            Avx2Tile4x8(ap, bp, kgb, cp, ldc, rr, Math.Min(8, cols), accumulate);
            if (cols > 8) Avx2Tile4x8(ap, bp + 32, kgb, cp + 8, ldc, rr, cols - 8, accumulate);
        }
        else if (rr == VnniRows)
            VnniTile8x16(ap, bp, kgb, cp, ldc, cols, accumulate);
        else
            for (int r = 0; r < rr; r++)
                VnniRow1x16(ap + r * 4, bp, kgb, cp + (long)r * ldc, cols, accumulate);
    }

    /// <summary>
    /// Packs rows of A, k groups [kb, kb + kgb), as [microPanel][group][mr][4] bytes (VNNI) or
    /// [microPanel][group][mr][4] u16 (AVX2, zero-extended); rows past the block and k past its end are 0.
    /// </summary>
    private static void PackA(in Block job, int kb, int kgb, int mr, bool wide, byte* dst)
    {
        int microPanels = (job.Rows + mr - 1) / mr;
        int kStart = kb * 4, kBytes = Math.Min(kgb * 4, job.K - kStart), fullGroups = kBytes / 4;
        for (int mp = 0; mp < microPanels; mp++)
        {
            for (int r = 0; r < mr; r++)
            {
                int row = mp * mr + r;
                long slot0 = (long)mp * kgb * mr + r; // slot of group q is slot0 + q * mr
                byte* src = job.A + (long)row * job.Lda + kStart;
                int q = 0;
                if (row < job.Rows)
                {
                    if (wide)
                        for (ulong* d = (ulong*)dst + slot0; q < fullGroups; q++, d += mr) *d = SpreadBytes(Unsafe.ReadUnaligned<uint>(src + 4 * q));
                    else
                        for (uint* d = (uint*)dst + slot0; q < fullGroups; q++, d += mr) *d = Unsafe.ReadUnaligned<uint>(src + 4 * q);
                }
                for (; q < kgb; q++) // the partial last group, or rows past the block: zero padded
                {
                    uint v = 0;
                    if (row < job.Rows) for (int t = 4 * q; t < kBytes; t++) v |= (uint)src[t] << (8 * (t - 4 * q));
                    if (wide) ((ulong*)dst)[slot0 + (long)q * mr] = SpreadBytes(v);
                    else ((uint*)dst)[slot0 + (long)q * mr] = v;
                }
            }
        }
    }

    /// <summary>Zero-extends four bytes into four 16-bit lanes.</summary>
    private static ulong SpreadBytes(uint v) =>
        (v & 0xFFUL) | ((v >> 8 & 0xFFUL) << 16) | ((v >> 16 & 0xFFUL) << 32) | ((ulong)(v >> 24) << 48);

    /// <summary>8 rows x 16 columns of C: 16 vpdpbusd accumulators, 2 B registers and 1 broadcast A register per k group.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void VnniTile8x16(byte* a, sbyte* b, int groups, int* c, int ldc, int cols, bool accumulate)
    {
        Vector256<int> c00 = default, c01 = default, c10 = default, c11 = default, c20 = default, c21 = default, c30 = default, c31 = default;
        Vector256<int> c40 = default, c41 = default, c50 = default, c51 = default, c60 = default, c61 = default, c70 = default, c71 = default;
        for (int q = 0; q < groups; q++)
        {
            var b0 = Avx.LoadVector256(b);
            var b1 = Avx.LoadVector256(b + 32);
            var av = Vector256.Create(*(int*)a).AsByte();
            c00 = AvxVnni.MultiplyWideningAndAdd(c00, av, b0); c01 = AvxVnni.MultiplyWideningAndAdd(c01, av, b1);
            av = Vector256.Create(*(int*)(a + 4)).AsByte();
            c10 = AvxVnni.MultiplyWideningAndAdd(c10, av, b0); c11 = AvxVnni.MultiplyWideningAndAdd(c11, av, b1);
            av = Vector256.Create(*(int*)(a + 8)).AsByte();
            c20 = AvxVnni.MultiplyWideningAndAdd(c20, av, b0); c21 = AvxVnni.MultiplyWideningAndAdd(c21, av, b1);
            av = Vector256.Create(*(int*)(a + 12)).AsByte();
            c30 = AvxVnni.MultiplyWideningAndAdd(c30, av, b0); c31 = AvxVnni.MultiplyWideningAndAdd(c31, av, b1);
            av = Vector256.Create(*(int*)(a + 16)).AsByte();
            c40 = AvxVnni.MultiplyWideningAndAdd(c40, av, b0); c41 = AvxVnni.MultiplyWideningAndAdd(c41, av, b1);
            av = Vector256.Create(*(int*)(a + 20)).AsByte();
            c50 = AvxVnni.MultiplyWideningAndAdd(c50, av, b0); c51 = AvxVnni.MultiplyWideningAndAdd(c51, av, b1);
            av = Vector256.Create(*(int*)(a + 24)).AsByte();
            c60 = AvxVnni.MultiplyWideningAndAdd(c60, av, b0); c61 = AvxVnni.MultiplyWideningAndAdd(c61, av, b1);
            av = Vector256.Create(*(int*)(a + 28)).AsByte();
            c70 = AvxVnni.MultiplyWideningAndAdd(c70, av, b0); c71 = AvxVnni.MultiplyWideningAndAdd(c71, av, b1);
            a += 32;
            b += GroupStride;
        }
        if (cols == 16)
        {
            Put(c, accumulate, c00); Put(c + 8, accumulate, c01);
            Put(c + ldc, accumulate, c10); Put(c + ldc + 8, accumulate, c11);
            Put(c + 2 * ldc, accumulate, c20); Put(c + 2 * ldc + 8, accumulate, c21);
            Put(c + 3 * ldc, accumulate, c30); Put(c + 3 * ldc + 8, accumulate, c31);
            Put(c + 4 * ldc, accumulate, c40); Put(c + 4 * ldc + 8, accumulate, c41);
            Put(c + 5 * ldc, accumulate, c50); Put(c + 5 * ldc + 8, accumulate, c51);
            Put(c + 6 * ldc, accumulate, c60); Put(c + 6 * ldc + 8, accumulate, c61);
            Put(c + 7 * ldc, accumulate, c70); Put(c + 7 * ldc + 8, accumulate, c71);
            return;
        }
        int* t = stackalloc int[VnniRows * 16];
        Avx.Store(t, c00); Avx.Store(t + 8, c01); Avx.Store(t + 16, c10); Avx.Store(t + 24, c11);
        Avx.Store(t + 32, c20); Avx.Store(t + 40, c21); Avx.Store(t + 48, c30); Avx.Store(t + 56, c31);
        Avx.Store(t + 64, c40); Avx.Store(t + 72, c41); Avx.Store(t + 80, c50); Avx.Store(t + 88, c51);
        Avx.Store(t + 96, c60); Avx.Store(t + 104, c61); Avx.Store(t + 112, c70); Avx.Store(t + 120, c71);
        WriteTile(t, 16, c, ldc, VnniRows, cols, accumulate);
    }

    /// <summary>One row x 16 columns (remainder rows); A is read from a packed 8-row micro-panel. Even/odd groups use separate chains.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void VnniRow1x16(byte* a, sbyte* b, int groups, int* c, int cols, bool accumulate)
    {
        Vector256<int> e0 = default, e1 = default, o0 = default, o1 = default;
        int q = 0;
        for (; q + 1 < groups; q += 2)
        {
            var av = Vector256.Create(*(int*)a).AsByte();
            e0 = AvxVnni.MultiplyWideningAndAdd(e0, av, Avx.LoadVector256(b));
            e1 = AvxVnni.MultiplyWideningAndAdd(e1, av, Avx.LoadVector256(b + 32));
            av = Vector256.Create(*(int*)(a + VnniRows * 4)).AsByte();
            o0 = AvxVnni.MultiplyWideningAndAdd(o0, av, Avx.LoadVector256(b + GroupStride));
            o1 = AvxVnni.MultiplyWideningAndAdd(o1, av, Avx.LoadVector256(b + GroupStride + 32));
            a += 2 * VnniRows * 4;
            b += 2 * GroupStride;
        }
        if (q < groups)
        {
            var av = Vector256.Create(*(int*)a).AsByte();
            e0 = AvxVnni.MultiplyWideningAndAdd(e0, av, Avx.LoadVector256(b));
            e1 = AvxVnni.MultiplyWideningAndAdd(e1, av, Avx.LoadVector256(b + 32));
        }
        e0 += o0;
        e1 += o1;
        if (cols == 16)
        {
            Put(c, accumulate, e0);
            Put(c + 8, accumulate, e1);
            return;
        }
        int* t = stackalloc int[16];
        Avx.Store(t, e0);
        Avx.Store(t + 8, e1);
        WriteTile(t, 16, c, 0, 1, cols, accumulate);
    }

    /// <summary>
    /// 4 rows x 8 columns with vpmaddwd: B's 4 columns x 4 k bytes are sign-extended to 16 lanes of s16,
    /// A's 4 k values (already u16) are broadcast; lanes hold two partial sums per column, folded at the end.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Avx2Tile4x8(byte* a, sbyte* b, int groups, int* c, int ldc, int rows, int cols, bool accumulate)
    {
        Vector256<int> c00 = default, c01 = default, c10 = default, c11 = default, c20 = default, c21 = default, c30 = default, c31 = default;
        for (int q = 0; q < groups; q++)
        {
            var b0 = Avx2.ConvertToVector256Int16(b);      // columns 0-3, k 0-3
            var b1 = Avx2.ConvertToVector256Int16(b + 16); // columns 4-7
            var av = Vector256.Create(*(long*)a).AsInt16();
            c00 += Avx2.MultiplyAddAdjacent(av, b0); c01 += Avx2.MultiplyAddAdjacent(av, b1);
            av = Vector256.Create(*(long*)(a + 8)).AsInt16();
            c10 += Avx2.MultiplyAddAdjacent(av, b0); c11 += Avx2.MultiplyAddAdjacent(av, b1);
            av = Vector256.Create(*(long*)(a + 16)).AsInt16();
            c20 += Avx2.MultiplyAddAdjacent(av, b0); c21 += Avx2.MultiplyAddAdjacent(av, b1);
            av = Vector256.Create(*(long*)(a + 24)).AsInt16();
            c30 += Avx2.MultiplyAddAdjacent(av, b0); c31 += Avx2.MultiplyAddAdjacent(av, b1);
            a += 32;
            b += GroupStride;
        }
        var r0 = FoldPairs(c00, c01); var r1 = FoldPairs(c10, c11);
        var r2 = FoldPairs(c20, c21); var r3 = FoldPairs(c30, c31);
        if (rows == Avx2Rows && cols == 8)
        {
            Put(c, accumulate, r0); Put(c + ldc, accumulate, r1);
            Put(c + 2 * ldc, accumulate, r2); Put(c + 3 * ldc, accumulate, r3);
            return;
        }
        int* t = stackalloc int[Avx2Rows * 8];
        Avx.Store(t, r0); Avx.Store(t + 8, r1); Avx.Store(t + 16, r2); Avx.Store(t + 24, r3);
        WriteTile(t, 8, c, ldc, rows, cols, accumulate);
    }

    /// <summary>[c0a c0b c1a c1b c2a c2b c3a c3b] and the same for c4..c7 -> [c0 .. c7].</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<int> FoldPairs(Vector256<int> lo, Vector256<int> hi) =>
        Avx2.Permute4x64(Avx2.HorizontalAdd(lo, hi).AsInt64(), 0b11_01_10_00).AsInt32();

    /// <summary>Stores (or adds) 8 accumulators; inlined so that no call keeps the tile's registers live.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Put(int* c, bool accumulate, Vector256<int> v)
    {
        if (accumulate) v += Avx.LoadVector256(c);
        Avx.Store(c, v);
    }

    /// <summary>Copies (or adds) the valid rows x cols corner of a spilled tile into C.</summary>
    private static void WriteTile(int* tile, int tileLd, int* c, int ldc, int rows, int cols, bool accumulate)
    {
        for (int r = 0; r < rows; r++)
            for (int j = 0; j < cols; j++)
                c[(long)r * ldc + j] = accumulate ? c[(long)r * ldc + j] + tile[r * tileLd + j] : tile[r * tileLd + j];
    }

    /// <summary>Portable path: plain loops over the packed weights (no SIMD).</summary>
    public static void ScalarBlock(in Block job, int p0, int p1)
    {
        int kg = (job.K + 3) / 4;
        for (int i = 0; i < job.Rows; i++)
        {
            byte* arow = job.A + (long)i * job.Lda;
            int* crow = job.C + (long)i * job.Ldc;
            for (int p = p0; p < p1; p++)
            {
                int cols = Math.Min(16, job.N - p * 16);
                for (int col = 0; col < cols; col++)
                {
                    sbyte* bcol = job.W + (long)p * kg * GroupStride + col * 4;
                    int s = 0;
                    for (int t = 0; t < job.K; t++) s += arow[t] * bcol[(t >> 2) * GroupStride + (t & 3)];
                    crow[p * 16 + col] = s;
                }
            }
        }
    }
}
