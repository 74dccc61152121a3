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

    /// <summary>AVX-512 path: for each panel of 8 columns and each row, counts popcount(a XOR w) in 8 qword lanes.</summary>
    public static void Avx512Block(in Block job, int p0, int p1)
    {
        int words = BinaryPack.WordsFor(job.K), fullWords = job.K / 64;
        ulong tailMask = job.K % 64 == 0 ? 0UL : BinaryPack.ValidMask(job.K, fullWords);
        var kVec = Vector512.Create((long)job.K);
        for (int p = p0; p < p1; p++)
        {
            ulong* bp = job.W + (long)p * words * Lanes;
            int cols = Math.Min(Lanes, job.N - p * Lanes);
            for (int i = 0; i < job.Rows; i++)
            {
                var count = CountRow(job.A + (long)i * job.Lda, bp, fullWords, tailMask);
                var dots = Avx512F.ConvertToVector256Int32(kVec - (count.AsInt64() << 1));
                int* cp = job.C + (long)i * job.Ldc + p * Lanes;
                if (cols == Lanes) Avx.Store(cp, dots);
                else for (int j = 0; j < cols; j++) cp[j] = dots.GetElement(j);
            }
        }
    }

    /// <summary>
    /// popcount(a XOR w_col) for the 8 columns of a panel. Full blocks of 16 words go through a Harley-Seal
    /// carry-save tree (ones/twos/fours/eights kept across blocks, sixteens counted); the rest is counted directly.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static Vector512<ulong> CountRow(ulong* a, ulong* b, int fullWords, ulong tailMask)
    {
        Vector512<ulong> ones = default, twos = default, fours = default, eights = default, sixteens = default;
        Vector512<ulong> twosA, twosB, foursA, foursB, eightsA, eightsB;
        var total = Vector512<ulong>.Zero; // sum of popcount(sixteens), per lane
        int w = 0;
        for (; w + 16 <= fullWords; w += 16)
        {
            Csa(out twosA, ref ones, X(a, b, w), X(a, b, w + 1));
            Csa(out twosB, ref ones, X(a, b, w + 2), X(a, b, w + 3));
            Csa(out foursA, ref twos, twosA, twosB);
            Csa(out twosA, ref ones, X(a, b, w + 4), X(a, b, w + 5));
            Csa(out twosB, ref ones, X(a, b, w + 6), X(a, b, w + 7));
            Csa(out foursB, ref twos, twosA, twosB);
            Csa(out eightsA, ref fours, foursA, foursB);
            Csa(out twosA, ref ones, X(a, b, w + 8), X(a, b, w + 9));
            Csa(out twosB, ref ones, X(a, b, w + 10), X(a, b, w + 11));
            Csa(out foursA, ref twos, twosA, twosB);
            Csa(out twosA, ref ones, X(a, b, w + 12), X(a, b, w + 13));
            Csa(out twosB, ref ones, X(a, b, w + 14), X(a, b, w + 15));
            Csa(out foursB, ref twos, twosA, twosB);
            Csa(out eightsB, ref fours, foursA, foursB);
            Csa(out sixteens, ref eights, eightsA, eightsB);
            total += SumBytes(PopBytes(sixteens));
        }
        // Byte counts: 8 * (8 + 4 + 2 + 1) from the tree plus at most 16 words * 8 bits directly: <= 248.
        var rest = Vector512<byte>.Zero;
        for (; w < fullWords; w++) rest += PopBytes(X(a, b, w));
        if (tailMask != 0) rest += PopBytes(Vector512.Create(a[w] & tailMask) ^ Vector512.Load(b + (long)w * Lanes));
        var s = PopBytes(eights);
        s = s + s + PopBytes(fours);
        s = s + s + PopBytes(twos);
        s = s + s + PopBytes(ones);
        return (total << 4) + SumBytes(s + rest);
    }

    /// <summary>Word <paramref name="w"/> of row a broadcast to 8 lanes, XOR word w of the 8 panel columns.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<ulong> X(ulong* a, ulong* b, int w) => Vector512.Create(a[w]) ^ Vector512.Load(b + (long)w * Lanes);

    /// <summary>Carry-save adder: (carry, sum) of the bitwise 3-input addition sum + x + y (vpternlogq 0x96 / 0xE8).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Csa(out Vector512<ulong> carry, ref Vector512<ulong> sum, Vector512<ulong> x, Vector512<ulong> y)
    {
        carry = Avx512F.TernaryLogic(sum, x, y, 0xE8); // majority
        sum = Avx512F.TernaryLogic(sum, x, y, 0x96);   // parity
    }

    /// <summary>Per-byte popcount through a 16-entry nibble table (vpshufb).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<byte> PopBytes(Vector512<ulong> v)
    {
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
        ulong tailMask = job.K % 64 == 0 ? 0UL : BinaryPack.ValidMask(job.K, fullWords);
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
