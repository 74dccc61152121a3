using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace DeepShrink.Core.Kernels;

/// <summary>
/// Bit packing of {-1, +1} rows for the binary kernels (BNN / XNOR-Net): bit b of word w of a row is
/// 1 when x[64w + b] &gt;= 0 (sign +1) and 0 otherwise (negative or NaN, sign -1). Bits past k are 0.
/// </summary>
public static class BinaryPack
{
    /// <summary>Words of 64 bits per packed row of length k.</summary>
    public static int WordsFor(int k) => k < 0 ? throw new ArgumentOutOfRangeException(nameof(k)) : (k + 63) / 64;

    /// <summary>Mask of the valid bits of word <paramref name="word"/> of a row of length k (all ones except in the last word).</summary>
    public static ulong ValidMask(int k, int word)
    {
        int bits = k - 64 * word;
        return bits >= 64 ? ulong.MaxValue : bits <= 0 ? 0UL : (1UL << bits) - 1;
    }

    /// <summary>Mask of the valid bits of the last, partial word of a row (0 when k is a multiple of 64).</summary>
    internal static ulong TailMask(int k) => k % 64 == 0 ? 0UL : ValidMask(k, k / 64);

    /// <summary>
    /// Sign bits of up to 64 binary activations in {-1, 0, +1} (bit b for x[b]): <see cref="TernaryBits.Geq"/> has
    /// x &gt;= 0, <see cref="TernaryBits.Gt"/> x &gt; 0, so a 0 sets only the first; <see cref="TernaryBits.Zeros"/> says
    /// a 0 occurred and <see cref="TernaryBits.Bad"/> that some value is none of -1, 0, +1 (the caller reports it).
    /// </summary>
    public static TernaryBits Ternary(ReadOnlySpan<float> x)
    {
        if (x.Length > 64) throw new ArgumentException($"at most 64 values per word, got {x.Length}", nameof(x));
        bool zeros = false, bad = false;
        ulong ge = 0, gt = 0;
        int b = 0;
        if (Vector256.IsHardwareAccelerated)
            for (; b + 8 <= x.Length; b += 8)
            {
                var v = Vector256.LoadUnsafe(ref MemoryMarshal.GetReference(x), (nuint)b);
                var zero = Vector256.Equals(v, Vector256<float>.Zero);
                bad |= (~(zero | Vector256.Equals(Vector256.Abs(v), Vector256<float>.One))).ExtractMostSignificantBits() != 0;
                zeros |= zero.ExtractMostSignificantBits() != 0;
                ge |= (ulong)Vector256.GreaterThanOrEqual(v, Vector256<float>.Zero).ExtractMostSignificantBits() << b;
                gt |= (ulong)Vector256.GreaterThan(v, Vector256<float>.Zero).ExtractMostSignificantBits() << b;
            }
        for (; b < x.Length; b++)
        {
            float v = x[b];
            bad |= v != 0f && MathF.Abs(v) != 1f;
            zeros |= v == 0f;
            if (v >= 0f) ge |= 1UL << b;
            if (v > 0f) gt |= 1UL << b;
        }
        return new TernaryBits(ge, gt, zeros, bad);
    }

    /// <summary>Packs the signs of x[rows, k] (row stride ldx) into destination[rows, WordsFor(k)].</summary>
    public static void PackRows(int rows, int k, ReadOnlySpan<float> x, int ldx, // [rows, k]
        Span<ulong> destination)                                                   // [rows, WordsFor(k)]
    {
        if (rows < 0 || k < 0) throw new ArgumentException($"negative size rows={rows} k={k}");
        if (ldx < Math.Max(1, k)) throw new ArgumentException($"ldx={ldx} < k={k}", nameof(ldx));
        if (rows > 0 && k > 0 && x.Length < (long)(rows - 1) * ldx + k) throw new ArgumentException("x buffer too small", nameof(x));
        int words = WordsFor(k);
        if (destination.Length < (long)rows * words) throw new ArgumentException("destination too short", nameof(destination));
        for (int r = 0; r < rows; r++)
        {
            var row = x.Slice(r * ldx, k);
            var dst = destination.Slice(r * words, words);
            for (int w = 0; w < words; w++)
            {
                int start = 64 * w, count = Math.Min(64, k - start);
                ulong bits = 0;
                int b = 0;
                if (Vector256.IsHardwareAccelerated)
                    for (; b + 8 <= count; b += 8)
                    {
                        var v = Vector256.LoadUnsafe(ref MemoryMarshal.GetReference(row), (nuint)(start + b));
                        bits |= (ulong)Vector256.GreaterThanOrEqual(v, Vector256<float>.Zero).ExtractMostSignificantBits() << b;
                    }
                for (; b < count; b++)
                    if (row[start + b] >= 0f) bits |= 1UL << b;
                dst[w] = bits;
            }
        }
    }

    /// <summary>Expands packed rows back to +1 / -1 floats (padding bits ignored).</summary>
    public static void UnpackRows(int rows, int k, ReadOnlySpan<ulong> bits, // [rows, WordsFor(k)]
        Span<float> destination)                                           // [rows, k]
    {
        int words = WordsFor(k);
        if (bits.Length < (long)rows * words) throw new ArgumentException("bits too short", nameof(bits));
        if (destination.Length < (long)rows * k) throw new ArgumentException("destination too short", nameof(destination));
        for (int r = 0; r < rows; r++)
            for (int p = 0; p < k; p++)
                destination[r * k + p] = (bits[r * words + (p >> 6)] >> (p & 63) & 1) != 0 ? 1f : -1f;
    }
}

/// <summary>Result of <see cref="BinaryPack.Ternary"/>: the x &gt;= 0 and x &gt; 0 bits of up to 64 values, and whether a 0 or an invalid value occurred.</summary>
public readonly record struct TernaryBits(ulong Geq, ulong Gt, bool Zeros, bool Bad);
