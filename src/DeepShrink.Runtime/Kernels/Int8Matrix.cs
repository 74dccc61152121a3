using System.Buffers;
using System.Numerics.Tensors;
using DeepShrink.Core.Kernels;
using DeepShrink.Format.Codecs;

namespace DeepShrink.Runtime.Kernels;

/// <summary>
/// int8 weights with their layer's input quantisation, run in integers: the float input is quantised
/// to u8 codes, multiplied with <see cref="Int8Gemm"/> (AVX-VNNI <c>vpdpbusd</c>, AVX2 or scalar) into
/// int32 accumulators, corrected for the zero points and scaled back to float.
/// </summary>
/// <remarks>
/// <para>Jacob et al. 2018, eq. 7-8. The graph's input codes q in [min, max] (signed, zero point z) are fed
/// as u = q + 128 with zero point z_u = z + 128, which is exactly the same quantiser (same scale, range
/// shifted by 128). With weights w[j] = s_w[j] (q_w - z_w):
/// <c>y[i, j] = s_x s_w[j] (acc[i, j] - z_u colsum[j] + k z_u z_w - z_w rowsum_u[i])</c>, acc = sum_p u q_w
/// in int32 (exact), the bracket in int32 (exact), then one float multiply. Because this matrix quantises
/// its own input, the step must not apply the node's quantising input transform as well.</para>
/// <para>Weight zero points must be equal for every channel (symmetric schemes have all 0); per-channel
/// asymmetric weights are left to the float path (<see cref="TryCreate"/> says why).</para>
/// </remarks>
public sealed class Int8Matrix : IWeightMatrix
{
    private readonly Int8PackedWeights _w;   // [Rows, Cols]
    private readonly float[] _multiplier;    // [Rows] or [1]: s_x s_w[j]
    private readonly int[] _colCorrection;   // [Rows]: z_u colsum[j] - k z_u z_w
    private readonly int _weightZero;        // z_w (same for every row)
    private readonly float _inputScale;
    private readonly byte _lo, _hi;          // u8 code range, [min + 128, max + 128]
    private Int8RowPanels? _rowPanels;       // the weights for Int8ConvGemm, built on first use

    private Int8Matrix(Int8PackedWeights w, float[] multiplier, int[] colCorrection, int weightZero, float inputScale, byte zero, byte lo, byte hi)
    {
        _w = w; _multiplier = multiplier; _colCorrection = colCorrection; _weightZero = weightZero;
        _inputScale = inputScale; InputZeroPoint = zero; _lo = lo; _hi = hi;
    }

    /// <summary>
    /// Builds the integer form of <paramref name="t"/> viewed as [rows, cols] for inputs quantised with
    /// (scale, zeroPoint, [min, max]) signed codes; null with a reason when the integer path cannot run it.
    /// </summary>
    public static Int8Matrix? TryCreate(Int8Tensor t, int rows, int cols, float scale, int zeroPoint, int min, int max, out string? reason)
    {
        ArgumentNullException.ThrowIfNull(t);
        reason = null;
        if ((long)rows * cols != t.Q.Length) throw new ArgumentException($"int8 tensor has {t.Q.Length} elements, [{rows}, {cols}] needs {(long)rows * cols}");
        if (!(scale > 0f) || !float.IsFinite(scale) || min < -128 || max > 127 || min >= max || zeroPoint < min || zeroPoint > max)
            throw new ArgumentException($"input quantisation (scale {scale}, zero point {zeroPoint}, codes {min}..{max}) is not an int8 quantiser");
        if (t.Axis is not (null or 0)) { reason = $"weight scales along axis {t.Axis} (the integer path needs per-tensor or per-output-channel)"; return null; }
        var zps = t.ZeroPoints;
        foreach (sbyte z in zps)
            if (z != zps[0]) { reason = "per-channel weight zero points differ (asymmetric per-channel weights)"; return null; }
        if (cols > Int8Gemm.MaxK) { reason = $"reduction length {cols} exceeds {Int8Gemm.MaxK}"; return null; }
        var packed = Int8PackedWeights.Pack(rows, cols, t.Q, Math.Max(1, cols));
        int zu = zeroPoint + 128, zw = zps.IsEmpty ? 0 : zps[0];
        var multiplier = new float[t.Scales.Length];
        Int8Requantize.OutputMultipliers(scale, t.Scales, 1f, multiplier);
        var corr = new int[rows];
        Int8Requantize.ZeroPointCorrection(zu, packed.ColumnSums, corr);
        for (int j = 0; j < rows; j++) corr[j] -= cols * zu * zw;
        return new Int8Matrix(packed, multiplier, corr, zw, scale, (byte)zu, (byte)(min + 128), (byte)(max + 128));
    }

    /// <inheritdoc/>
    public int Rows => _w.N;
    /// <inheritdoc/>
    public int Cols => _w.K;
    /// <inheritdoc/>
    public string Kind => "int8";
    /// <inheritdoc/>
    public long StorageBytes => _w.Data.Length + 4L * (_multiplier.Length + _colCorrection.Length + _w.ColumnSums.Length);
    /// <inheritdoc/>
    public long MacsPerColumn => (long)Rows * Cols;

    /// <summary>The weights' zero point (the same for every row; 0 for symmetric weights).</summary>
    public int WeightZeroPoint => _weightZero;

    /// <summary>Per-row (or one) float multipliers s_x s_w[j].</summary>
    public ReadOnlySpan<float> Multipliers => _multiplier;

    /// <summary>Per-row integer corrections z_u colsum[j] - k z_u z_w, subtracted from the int32 sums.</summary>
    public ReadOnlySpan<int> RowCorrections => _colCorrection;

    /// <summary>The weights as <see cref="Int8RowPanels"/> for the channel-major convolution kernel (built once, on first use).</summary>
    public Int8RowPanels RowPanels => LazyInitializer.EnsureInitialized(ref _rowPanels, () => Int8RowPanels.Pack(Rows, Cols, _w.Unpack(), Math.Max(1, Cols)));

    /// <summary>The u8 code of real 0 (the padding value of a quantised convolution).</summary>
    public byte InputZeroPoint { get; }

    /// <summary>u = clamp(round_half_even(x / s) + z_u, lo, hi): the node's input quantiser on the u8 scale.</summary>
    public void QuantizeInput(ReadOnlySpan<float> x, Span<byte> codes)
    {
        QuantKernels.QuantizeUInt8(x, _inputScale, InputZeroPoint, codes);
        var c = codes[..x.Length];
        if (_lo > 0) TensorPrimitives.Max(c, _lo, c);
        if (_hi < 255) TensorPrimitives.Min(c, _hi, c);
    }

    /// <summary>y[i, :] = the dequantised product of code row i (u8, length Cols) with W^T; y [m, Rows] overwritten.</summary>
    public void MultiplyCodes(ReadOnlySpan<byte> codes, int m, Span<float> y, int threads) // codes: [m, Cols]
    {
        if (m == 0 || Rows == 0) return;
        int[] acc = ArrayPool<int>.Shared.Rent(m * Rows);
        int[]? rowCorr = null;
        try
        {
            Int8Gemm.Multiply(m, codes, Math.Max(1, Cols), _w, acc, Rows, threads);
            if (_weightZero != 0)
            {
                rowCorr = ArrayPool<int>.Shared.Rent(m);
                for (int i = 0; i < m; i++)
                {
                    int s = 0;
                    foreach (byte u in codes.Slice(i * Cols, Cols)) s += u;
                    rowCorr[i] = _weightZero * s;
                }
            }
            Int8Requantize.ToFloat(m, Rows, acc, _colCorrection, rowCorr is null ? default : rowCorr.AsSpan(0, m), _multiplier, default, y);
        }
        finally
        {
            ArrayPool<int>.Shared.Return(acc);
            if (rowCorr is not null) ArrayPool<int>.Shared.Return(rowCorr);
        }
    }

    /// <inheritdoc/>
    public void MultiplyRows(ReadOnlySpan<float> x, int batch, Span<float> y, int threads)
    {
        MatrixChecks.Rows(this, x.Length, batch, y.Length, threads);
        byte[] codes = ArrayPool<byte>.Shared.Rent(Math.Max(1, batch * Cols));
        try
        {
            QuantizeInput(x[..(batch * Cols)], codes);
            MultiplyCodes(codes, batch, y, threads);
        }
        finally { ArrayPool<byte>.Shared.Return(codes); }
    }

    /// <inheritdoc/>
    public void MultiplyColumns(ReadOnlySpan<float> x, int n, Span<float> y, int threads) => Transpose.ColumnsViaRows(this, x, n, y, threads);
}
