using System.Diagnostics.CodeAnalysis;
using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace DeepShrink.Core.Kernels;

/// <summary>Micro-kernels behind <see cref="XnorGemm"/>.</summary>
internal static unsafe class XnorGemmKernels
{
    /// <summary>Rows [0, Rows) of A and C; W is the interleaved panel layout of <see cref="XnorPackedWeights"/>.</summary>
    internal readonly struct Block(ulong* a, int lda, ulong* w, int* c, int ldc, int rows, int n, int k)
    {
        public readonly ulong* A = a;  // [rows, words], row stride Lda
        public readonly int Lda = lda;
        public readonly ulong* W = w;  // [panels][words][8]
        public readonly int* C = c;    // [rows, n], row stride Ldc
        public readonly int Ldc = ldc;
        public readonly int Rows = rows, N = n, K = k;
    }

    private const int Lanes = XnorPackedWeights.PanelWidth;

    /// <summary>AVX-512 path: for each panel of 8 columns, rows two at a time (sharing the panel loads).</summary>
    public static void Avx512Block(in Block job, int p0, int p1)
    {
        int words = BinaryPack.WordsFor(job.K), fullWords = job.K / 64;
        ulong tailMask = BinaryPack.TailMask(job.K);
        for (int p = p0; p < p1; p++)
        {
            ulong* bp = job.W + (long)p * words * Lanes;
            int cols = Math.Min(Lanes, job.N - p * Lanes);
            for (int i = 0; i < job.Rows; i += 2)
            {
                ulong* a0 = job.A + (long)i * job.Lda;
                int* c0 = job.C + (long)i * job.Ldc + p * Lanes;
                if (i + 1 < job.Rows) RowTile<TwoRows>(a0, a0 + job.Lda, bp, fullWords, tailMask, job.K, c0, c0 + job.Ldc, cols);
                else RowTile<OneRow>(a0, a0, bp, fullWords, tailMask, job.K, c0, c0, cols);
            }
        }
    }

    /// <summary>
    /// VPOPCNTDQ path: groups of 4 full panels (32 columns) and 4 rows go through the generated tile
    /// (<see cref="Jit.JitKernels.XnorTile4x4"/>); leftover rows and panels take the AVX-512 tiles above.
    /// </summary>
    public static void JitBlock(in Block job, int p0, int p1)
    {
        int words = BinaryPack.WordsFor(job.K), fullWords = job.K / 64;
        ulong tailMask = BinaryPack.TailMask(job.K);
        long panelStride = (long)words * Lanes;
        int p = p0;
        for (; p + 4 <= p1 && (p + 4) * Lanes <= job.N; p += 4)
        {
            ulong* bp = job.W + p * panelStride;
            var args = new Jit.XnorTileArgs
            {
                B0 = bp, B1 = bp + panelStride, B2 = bp + 2 * panelStride, B3 = bp + 3 * panelStride,
                FullWords = fullWords, HasTail = tailMask != 0 ? 1 : 0, TailMask = tailMask, K = job.K,
                LdcBytes = (long)job.Ldc * sizeof(int),
            };
            int i = 0;
            for (; i + 4 <= job.Rows; i += 4)
            {
                ulong* a0 = job.A + (long)i * job.Lda;
                args.A0 = a0; args.A1 = a0 + job.Lda; args.A2 = a0 + 2L * job.Lda; args.A3 = a0 + 3L * job.Lda;
                args.C = job.C + (long)i * job.Ldc + p * Lanes;
                Jit.JitKernels.XnorTile4x4(&args);
            }
            if (i < job.Rows)
            {
                var rest = new Block(job.A + (long)i * job.Lda, job.Lda, job.W, job.C + (long)i * job.Ldc, job.Ldc, job.Rows - i, job.N, job.K);
                Avx512Block(rest, p, p + 4);
            }
        }
        if (p < p1) Avx512Block(job, p, p1);
    }

    private struct OneRow;

    private struct TwoRows;

    /// <summary>
    /// dot = k - 2 popcount(a XOR w) for one or two rows (<typeparamref name="TRows"/>, folded by the JIT) and the
    /// 8 columns of a panel. Full blocks of 16 words go through a Harley-Seal carry-save tree (ones/twos/fours/eights
    /// carried across blocks, sixteens counted); leftover words are counted directly.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void RowTile<TRows>(ulong* a0, ulong* a1, ulong* b, int fullWords, ulong tailMask, int k, int* c0, int* c1, int cols)
        where TRows : struct
    {
        bool two = typeof(TRows) == typeof(TwoRows);
        Vector512<ulong> ones0 = default, twos0 = default, fours0 = default, eights0 = default, total0 = default;
        Vector512<ulong> ones1 = default, twos1 = default, fours1 = default, eights1 = default, total1 = default;
        int w = 0;
        for (; w + 16 <= fullWords; w += 16, a0 += 16, a1 += 16, b += 16 * Lanes)
        {
            Words(two, b, a0, a1, 0, ref ones0, ref ones1, out var twosA0, out var twosA1);
            Words(two, b, a0, a1, 2, ref ones0, ref ones1, out var twosB0, out var twosB1);
            Csa(two, ref twos0, ref twos1, twosA0, twosB0, twosA1, twosB1, out var foursA0, out var foursA1);
            Words(two, b, a0, a1, 4, ref ones0, ref ones1, out twosA0, out twosA1);
            Words(two, b, a0, a1, 6, ref ones0, ref ones1, out twosB0, out twosB1);
            Csa(two, ref twos0, ref twos1, twosA0, twosB0, twosA1, twosB1, out var foursB0, out var foursB1);
            Csa(two, ref fours0, ref fours1, foursA0, foursB0, foursA1, foursB1, out var eightsA0, out var eightsA1);
            Words(two, b, a0, a1, 8, ref ones0, ref ones1, out twosA0, out twosA1);
            Words(two, b, a0, a1, 10, ref ones0, ref ones1, out twosB0, out twosB1);
            Csa(two, ref twos0, ref twos1, twosA0, twosB0, twosA1, twosB1, out foursA0, out foursA1);
            Words(two, b, a0, a1, 12, ref ones0, ref ones1, out twosA0, out twosA1);
            Words(two, b, a0, a1, 14, ref ones0, ref ones1, out twosB0, out twosB1);
            Csa(two, ref twos0, ref twos1, twosA0, twosB0, twosA1, twosB1, out foursB0, out foursB1);
            Csa(two, ref fours0, ref fours1, foursA0, foursB0, foursA1, foursB1, out var eightsB0, out var eightsB1);
            Csa(two, ref eights0, ref eights1, eightsA0, eightsB0, eightsA1, eightsB1, out var sixteens0, out var sixteens1);
            total0 += SumBytes(PopBytes(sixteens0));
            if (two) total1 += SumBytes(PopBytes(sixteens1));
        }
        // Per-byte counts: 8 * (8 + 4 + 2 + 1) from the tree plus at most 16 words * 8 bits counted directly: <= 248.
        Vector512<byte> rest0 = default, rest1 = default;
        for (; w < fullWords; w++, a0++, a1++, b += Lanes)
        {
            var bw = Vector512.Load(b);
            rest0 += PopBytes(bw ^ Vector512.Create(*a0));
            if (two) rest1 += PopBytes(bw ^ Vector512.Create(*a1));
        }
        if (tailMask != 0)
        {
            var bw = Vector512.Load(b);
            rest0 += PopBytes(bw ^ Vector512.Create(*a0 & tailMask));
            if (two) rest1 += PopBytes(bw ^ Vector512.Create(*a1 & tailMask));
        }
        var kVec = Vector512.Create((long)k);
        var d0 = Avx512F.ConvertToVector256Int32(kVec - (Finish(total0, ones0, twos0, fours0, eights0, rest0).AsInt64() << 1));
        var d1 = two ? Avx512F.ConvertToVector256Int32(kVec - (Finish(total1, ones1, twos1, fours1, eights1, rest1).AsInt64() << 1)) : default;
        if (cols == Lanes)
        {
            Avx.Store(c0, d0);
            if (two) Avx.Store(c1, d1);
            return;
        }
        for (int j = 0; j < cols; j++)
        {
            c0[j] = d0.GetElement(j);
            if (two) c1[j] = d1.GetElement(j);
        }
    }

    /// <summary>Words t and t+1 of each row XOR the panel, folded into that row's ones.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Words(bool two, ulong* b, ulong* a0, ulong* a1, int t, ref Vector512<ulong> ones0, ref Vector512<ulong> ones1,
        out Vector512<ulong> twos0, out Vector512<ulong> twos1)
    {
        var bx = Vector512.Load(b + t * Lanes);
        var by = Vector512.Load(b + (t + 1) * Lanes);
        twos0 = Csa(ref ones0, bx ^ Vector512.Create(a0[t]), by ^ Vector512.Create(a0[t + 1]));
        twos1 = two ? Csa(ref ones1, bx ^ Vector512.Create(a1[t]), by ^ Vector512.Create(a1[t + 1])) : default;
    }

    /// <summary>One carry-save step for each row: (carry, sum) of sum + x + y.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Csa(bool two, ref Vector512<ulong> sum0, ref Vector512<ulong> sum1, Vector512<ulong> x0, Vector512<ulong> y0,
        Vector512<ulong> x1, Vector512<ulong> y1, out Vector512<ulong> carry0, out Vector512<ulong> carry1)
    {
        carry0 = Csa(ref sum0, x0, y0);
        carry1 = two ? Csa(ref sum1, x1, y1) : default;
    }

    /// <summary>16 sum(popcount(sixteens)) + 8 pc(eights) + 4 pc(fours) + 2 pc(twos) + pc(ones) + rest, per lane.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<ulong> Finish(Vector512<ulong> total, Vector512<ulong> ones, Vector512<ulong> twos,
        Vector512<ulong> fours, Vector512<ulong> eights, Vector512<byte> rest)
        => (total << 4) + SumBytes(WeightedPopBytes(ones, twos, fours, eights) + rest);

    /// <summary>
    /// Per byte: pc(ones) + 2 pc(twos) + 4 pc(fours) + 8 pc(eights) (at most 120). With VBMI the low 6 bits of
    /// each plane go through scaled 64-entry vpermb tables and the top 2 bits of ones, twos and fours are
    /// merged into one 6-bit index (one more lookup), which saves a third of the work of four plain counts.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<byte> WeightedPopBytes(Vector512<ulong> ones, Vector512<ulong> twos, Vector512<ulong> fours, Vector512<ulong> eights)
    {
        if (!Avx512Vbmi.IsSupported)
        {
            var s = PopBytes(eights);
            s = s + s + PopBytes(fours);
            s = s + s + PopBytes(twos);
            return s + s + PopBytes(ones);
        }
        var low6 = Low6Table();
        var low6x2 = low6 + low6;
        var low6x4 = low6x2 + low6x2;
        var low6x8 = low6x4 + low6x4;
        // index bits 0-1: ones[6..7], bits 2-3: twos[6..7], bits 4-5: fours[6..7] (16-bit shifts; the bits pulled in
        // from the neighbouring byte are masked out or sit in bits 6-7, which vpermb ignores)
        var top = Vector512.ConditionalSelect(Vector512.Create((byte)0x0F),
            Vector512.ConditionalSelect(Vector512.Create((byte)0x03), Shr(ones, 6), Shr(twos, 4)), Shr(fours, 2));
        var topTable = Vector512.Create((byte)0, 1, 1, 2, 2, 3, 3, 4, 2, 3, 3, 4, 4, 5, 5, 6, 4, 5, 5, 6, 6, 7, 7, 8, 6, 7, 7, 8, 8, 9, 9, 10,
            4, 5, 5, 6, 6, 7, 7, 8, 6, 7, 7, 8, 8, 9, 9, 10, 8, 9, 9, 10, 10, 11, 11, 12, 10, 11, 11, 12, 12, 13, 13, 14);
        var top2x8 = Vector512.Create(0x10_08_08_00u).AsByte(); // 8 * popcount of 2 bits, repeated
        return Avx512Vbmi.PermuteVar64x8(low6, ones.AsByte()) + Avx512Vbmi.PermuteVar64x8(low6x2, twos.AsByte())
            + (Avx512Vbmi.PermuteVar64x8(low6x4, fours.AsByte()) + Avx512Vbmi.PermuteVar64x8(low6x8, eights.AsByte()))
            + (Avx512Vbmi.PermuteVar64x8(topTable, top) + Avx512Vbmi.PermuteVar64x8(top2x8, Shr(eights, 6)));
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<byte> Shr(Vector512<ulong> v, [ConstantExpected] byte bits) => Avx512BW.ShiftRightLogical(v.AsUInt16(), bits).AsByte();

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<byte> Low6Table() =>
        Vector512.Create((byte)0, 1, 1, 2, 1, 2, 2, 3, 1, 2, 2, 3, 2, 3, 3, 4, 1, 2, 2, 3, 2, 3, 3, 4, 2, 3, 3, 4, 3, 4, 4, 5,
            1, 2, 2, 3, 2, 3, 3, 4, 2, 3, 3, 4, 3, 4, 4, 5, 2, 3, 3, 4, 3, 4, 4, 5, 3, 4, 4, 5, 4, 5, 5, 6);

    /// <summary>
    /// Carry-save adder: returns the carry of the bitwise 3-input addition sum + x + y and leaves the parity in sum.
    /// The majority is rebuilt from (x, y, parity) as x == y ? x : ~parity (imm 0xD4), so neither vpternlogq needs
    /// a register copy of the operand it overwrites.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<ulong> Csa(ref Vector512<ulong> sum, Vector512<ulong> x, Vector512<ulong> y)
    {
        sum = Avx512F.TernaryLogic(sum, x, y, 0x96);
        return Avx512F.TernaryLogic(x, y, sum, 0xD4);
    }

    /// <summary>
    /// Per-byte popcount. With VBMI: two 64-entry vpermb lookups (low 6 bits; bits 6-7 after a 16-bit shift,
    /// where the table ignores the bits shifted in). Otherwise: the 16-entry nibble table (vpshufb).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<byte> PopBytes(Vector512<ulong> v)
    {
        if (Avx512Vbmi.IsSupported)
        {
            var top2 = Vector512.Create(0x02_01_01_00u).AsByte(); // popcount of 2 bits, repeated
            return Avx512Vbmi.PermuteVar64x8(Low6Table(), v.AsByte()) + Avx512Vbmi.PermuteVar64x8(top2, Shr(v, 6));
        }
        var table = Vector512.Create((byte)0, 1, 1, 2, 1, 2, 2, 3, 1, 2, 2, 3, 2, 3, 3, 4, 0, 1, 1, 2, 1, 2, 2, 3, 1, 2, 2, 3, 2, 3, 3, 4,
            0, 1, 1, 2, 1, 2, 2, 3, 1, 2, 2, 3, 2, 3, 3, 4, 0, 1, 1, 2, 1, 2, 2, 3, 1, 2, 2, 3, 2, 3, 3, 4);
        var nibble = Vector512.Create((byte)0x0F);
        var lo = v.AsByte() & nibble;
        var hi = Avx512BW.ShiftRightLogical(v.AsUInt16(), 4).AsByte() & nibble;
        return Avx512BW.Shuffle(table, lo) + Avx512BW.Shuffle(table, hi);
    }

    /// <summary>Sums the 8 bytes of each qword lane (vpsadbw against zero).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<ulong> SumBytes(Vector512<byte> v) => Avx512BW.SumAbsoluteDifferences(v, Vector512<byte>.Zero).AsUInt64();

    /// <summary>Portable path: 2 rows x 4 columns of 64-bit XOR + popcount per step.</summary>
    public static void PopcountBlock(in Block job, int p0, int p1)
    {
        int words = BinaryPack.WordsFor(job.K), fullWords = job.K / 64;
        ulong tailMask = BinaryPack.TailMask(job.K);
        for (int p = p0; p < p1; p++)
        {
            ulong* bp = job.W + (long)p * words * Lanes;
            int cols = Math.Min(Lanes, job.N - p * Lanes);
            for (int i = 0; i < job.Rows; i += 2)
            {
                int rows = Math.Min(2, job.Rows - i);
                ulong* a0 = job.A + (long)i * job.Lda, a1 = rows == 2 ? a0 + job.Lda : a0;
                for (int cg = 0; cg < cols; cg += 4)
                {
                    int s00 = 0, s01 = 0, s02 = 0, s03 = 0, s10 = 0, s11 = 0, s12 = 0, s13 = 0;
                    for (int w = 0; w < words; w++)
                    {
                        ulong mask = w < fullWords ? ulong.MaxValue : tailMask;
                        ulong x0 = a0[w] & mask, x1 = a1[w] & mask;
                        ulong* b = bp + (long)w * Lanes + cg;
                        ulong b0 = b[0], b1 = b[1], b2 = b[2], b3 = b[3];
                        s00 += BitOperations.PopCount(x0 ^ b0); s01 += BitOperations.PopCount(x0 ^ b1);
                        s02 += BitOperations.PopCount(x0 ^ b2); s03 += BitOperations.PopCount(x0 ^ b3);
                        s10 += BitOperations.PopCount(x1 ^ b0); s11 += BitOperations.PopCount(x1 ^ b1);
                        s12 += BitOperations.PopCount(x1 ^ b2); s13 += BitOperations.PopCount(x1 ^ b3);
                    }
                    int* c0 = job.C + (long)i * job.Ldc + p * Lanes + cg;
                    int valid = Math.Min(4, cols - cg);
                    Store(c0, valid, job.K, s00, s01, s02, s03);
                    if (rows == 2) Store(c0 + job.Ldc, valid, job.K, s10, s11, s12, s13);
                }
            }
        }
    }

    private static void Store(int* c, int valid, int k, int d0, int d1, int d2, int d3)
    {
        c[0] = k - 2 * d0;
        if (valid > 1) c[1] = k - 2 * d1;
        if (valid > 2) c[2] = k - 2 * d2;
        if (valid > 3) c[3] = k - 2 * d3;
    }
}
