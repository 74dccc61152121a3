using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace DeepShrink.Core.Kernels;

/// <summary>
/// Turns the int32 accumulators of <see cref="Int8Gemm"/> into float outputs or 8-bit inputs for the next layer.
/// Bit-identical to <see cref="QuantReference"/>.
/// </summary>
/// <remarks>
/// With x ~ s_x (q_x - z_x) and w[j] ~ s_w[j] (q_w - z_w) (Jacob et al. 2018, eq. 7-8):
/// y[i, j] = s_x s_w[j] (acc[i, j] - z_x colsum_w[j] - z_w rowsum_x[i] + k z_x z_w) + bias[j].
/// Here colCorrection[j] = z_x colsum_w[j] (<see cref="ZeroPointCorrection"/>) and, only for asymmetric
/// per-tensor weights, rowCorrection[i] = z_w rowsum_x[i] - k z_x z_w; multiplier[j] = s_x s_w[j]
/// (length 1 for per-tensor). For an 8-bit output with (s_out, z_out) pass multiplier / s_out and
/// bias / s_out (<see cref="OutputMultipliers"/>); q = clamp(roundHalfEven(y) + z_out, lo, hi).
/// </remarks>
public static class Int8Requantize
{
    /// <summary>y[i, j] = multiplier * (acc[i, j] - colCorrection[j] - rowCorrection[i]) + bias[j]; empty spans count as 0.</summary>
    public static void ToFloat(int m, int n,
        ReadOnlySpan<int> acc,           // [m, n]
        ReadOnlySpan<int> colCorrection, // [n] or empty
        ReadOnlySpan<int> rowCorrection, // [m] or empty
        ReadOnlySpan<float> multiplier,  // [n] or [1]
        ReadOnlySpan<float> bias,        // [n] or empty
        Span<float> destination)         // [m, n]
    {
        Validate(m, n, acc.Length, colCorrection.Length, rowCorrection.Length, multiplier.Length, bias.Length, destination.Length);
        for (int i = 0; i < m; i++)
        {
            int rowCorr = rowCorrection.IsEmpty ? 0 : rowCorrection[i];
            var a = acc.Slice(i * n, n);
            var d = destination.Slice(i * n, n);
            int j = 0;
            if (Vector256.IsHardwareAccelerated)
                for (; j <= n - 8; j += 8)
                    Row(a, colCorrection, rowCorr, multiplier, bias, j).StoreUnsafe(ref MemoryMarshal.GetReference(d), (nuint)j);
            for (; j < n; j++) d[j] = Element(a, colCorrection, rowCorr, multiplier, bias, j);
        }
    }

    /// <summary>
    /// One output row with a single correction, multiplier and bias: y[j] = (acc[j] - correction) * multiplier + bias
    /// (the same arithmetic as <see cref="ToFloat"/>: the bracket in int32, then one multiply and one add in float).
    /// </summary>
    public static void RowToFloat(ReadOnlySpan<int> acc, int correction, float multiplier, float bias, Span<float> destination)
    {
        if (destination.Length < acc.Length) throw new ArgumentException("destination too short", nameof(destination));
        int j = 0;
        if (Vector256.IsHardwareAccelerated)
        {
            var corr = Vector256.Create(correction);
            var mult = Vector256.Create(multiplier);
            var b = Vector256.Create(bias);
            for (; j <= acc.Length - 8; j += 8)
                (Vector256.ConvertToSingle(Vector256.Create(acc.Slice(j, 8)) - corr) * mult + b).StoreUnsafe(ref MemoryMarshal.GetReference(destination), (nuint)j);
        }
        for (; j < acc.Length; j++) destination[j] = QuantReference.RequantizeValue(acc[j], correction, multiplier, bias);
    }

    /// <summary>As <see cref="ToFloat"/>, then q = clamp(roundHalfEven(y) + zeroPointOut, -128, 127).</summary>
    public static void ToInt8(int m, int n, ReadOnlySpan<int> acc, ReadOnlySpan<int> colCorrection, ReadOnlySpan<int> rowCorrection,
        ReadOnlySpan<float> multiplier, ReadOnlySpan<float> bias, int zeroPointOut,
        Span<sbyte> destination) // [m, n]
        => ToInteger(m, n, acc, colCorrection, rowCorrection, multiplier, bias, zeroPointOut, -128, 127, destination);

    /// <summary>As <see cref="ToFloat"/>, then q = clamp(roundHalfEven(y) + zeroPointOut, 0, 255).</summary>
    public static void ToUInt8(int m, int n, ReadOnlySpan<int> acc, ReadOnlySpan<int> colCorrection, ReadOnlySpan<int> rowCorrection,
        ReadOnlySpan<float> multiplier, ReadOnlySpan<float> bias, int zeroPointOut,
        Span<byte> destination) // [m, n]
        => ToInteger(m, n, acc, colCorrection, rowCorrection, multiplier, bias, zeroPointOut, 0, 255, destination);

    /// <summary>correction[j] = zeroPointA * colSums[j] (see <see cref="Int8PackedWeights.ColumnSums"/>).</summary>
    public static void ZeroPointCorrection(int zeroPointA, ReadOnlySpan<int> colSums, Span<int> destination)
    {
        if (destination.Length < colSums.Length) throw new ArgumentException("destination too short", nameof(destination));
        for (int j = 0; j < colSums.Length; j++) destination[j] = unchecked(zeroPointA * colSums[j]);
    }

    /// <summary>multiplier[j] = scaleA * scaleW[j] / scaleOut (scaleOut = 1 for float outputs); scaleW of length 1 gives one multiplier.</summary>
    public static void OutputMultipliers(float scaleA, ReadOnlySpan<float> scaleW, float scaleOut, Span<float> destination)
    {
        if (destination.Length < scaleW.Length) throw new ArgumentException("destination too short", nameof(destination));
        for (int j = 0; j < scaleW.Length; j++) destination[j] = scaleA * scaleW[j] / scaleOut;
    }

    private static void ToInteger<T>(int m, int n, ReadOnlySpan<int> acc, ReadOnlySpan<int> colCorrection, ReadOnlySpan<int> rowCorrection,
        ReadOnlySpan<float> multiplier, ReadOnlySpan<float> bias, int zeroPointOut, int lo, int hi, Span<T> destination) where T : unmanaged
    {
        Validate(m, n, acc.Length, colCorrection.Length, rowCorrection.Length, multiplier.Length, bias.Length, destination.Length);
        if (zeroPointOut < lo || zeroPointOut > hi) throw new ArgumentOutOfRangeException(nameof(zeroPointOut), $"zero point {zeroPointOut} outside [{lo}, {hi}]");
        var dst = MemoryMarshal.Cast<T, sbyte>(destination);
        var z = Vector256.Create((float)zeroPointOut);
        var l = Vector256.Create((float)lo);
        var h = Vector256.Create((float)hi);
        for (int i = 0; i < m; i++)
        {
            int rowCorr = rowCorrection.IsEmpty ? 0 : rowCorrection[i];
            var a = acc.Slice(i * n, n);
            var d = dst.Slice(i * n, n);
            int j = 0;
            if (Vector256.IsHardwareAccelerated)
                for (; j <= n - 32; j += 32)
                {
                    var q0 = QuantKernels.RoundClamp(Row(a, colCorrection, rowCorr, multiplier, bias, j), z, l, h);
                    var q1 = QuantKernels.RoundClamp(Row(a, colCorrection, rowCorr, multiplier, bias, j + 8), z, l, h);
                    var q2 = QuantKernels.RoundClamp(Row(a, colCorrection, rowCorr, multiplier, bias, j + 16), z, l, h);
                    var q3 = QuantKernels.RoundClamp(Row(a, colCorrection, rowCorr, multiplier, bias, j + 24), z, l, h);
                    Vector256.Narrow(Vector256.Narrow(q0, q1), Vector256.Narrow(q2, q3)).StoreUnsafe(ref d[j]);
                }
            for (; j < n; j++)
                d[j] = (sbyte)QuantReference.RoundClamp(Element(a, colCorrection, rowCorr, multiplier, bias, j), zeroPointOut, lo, hi);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> Row(ReadOnlySpan<int> acc, ReadOnlySpan<int> colCorrection, int rowCorr,
        ReadOnlySpan<float> multiplier, ReadOnlySpan<float> bias, int j)
    {
        var corr = (colCorrection.IsEmpty ? Vector256<int>.Zero : Vector256.Create(colCorrection.Slice(j, 8))) + Vector256.Create(rowCorr);
        var diff = Vector256.ConvertToSingle(Vector256.Create(acc.Slice(j, 8)) - corr);
        var mult = multiplier.Length == 1 ? Vector256.Create(multiplier[0]) : Vector256.Create(multiplier.Slice(j, 8));
        return diff * mult + (bias.IsEmpty ? Vector256<float>.Zero : Vector256.Create(bias.Slice(j, 8)));
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float Element(ReadOnlySpan<int> acc, ReadOnlySpan<int> colCorrection, int rowCorr,
        ReadOnlySpan<float> multiplier, ReadOnlySpan<float> bias, int j)
    {
        int corr = unchecked((colCorrection.IsEmpty ? 0 : colCorrection[j]) + rowCorr);
        return QuantReference.RequantizeValue(acc[j], corr, multiplier.Length == 1 ? multiplier[0] : multiplier[j], bias.IsEmpty ? 0f : bias[j]);
    }

    private static void Validate(int m, int n, int accLen, int colLen, int rowLen, int multLen, int biasLen, int dstLen)
    {
        if (m < 0 || n < 0) throw new ArgumentException($"negative size m={m} n={n}");
        long mn = (long)m * n;
        if (accLen < mn) throw new ArgumentException($"acc has {accLen} elements, need {mn}", "acc");
        if (dstLen < mn) throw new ArgumentException($"destination has {dstLen} elements, need {mn}", "destination");
        if (colLen != 0 && colLen != n) throw new ArgumentException($"colCorrection length {colLen}, expected {n} or 0", "colCorrection");
        if (rowLen != 0 && rowLen != m) throw new ArgumentException($"rowCorrection length {rowLen}, expected {m} or 0", "rowCorrection");
        if (multLen != 1 && multLen != n) throw new ArgumentException($"multiplier length {multLen}, expected {n} or 1", "multiplier");
        if (biasLen != 0 && biasLen != n) throw new ArgumentException($"bias length {biasLen}, expected {n} or 0", "bias");
    }
}
