using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace DeepShrink.Core.Kernels;

/// <summary>
/// Span helpers for affine 8-bit quantization: quantize / dequantize, per tensor and per channel,
/// symmetric (zeroPoint = 0) or asymmetric. Bit-identical to <see cref="QuantReference"/>.
/// </summary>
/// <remarks>
/// r ~ scale * (q - zeroPoint) (Jacob et al. 2018). Quantize rounds half to even and saturates to the
/// type's range; NaN maps to zeroPoint. Per-channel buffers are viewed as [outer, channels, inner] with
/// one (scale, zeroPoint) per channel, e.g. a Linear weight [out, in] per output: channels = out,
/// inner = in; a conv weight [outC, inC, kh, kw]: channels = outC, inner = inC * kh * kw.
/// </remarks>
public static class QuantKernels
{
    /// <summary>q = clamp(round(x / scale) + zeroPoint, -128, 127).</summary>
    public static void QuantizeInt8(ReadOnlySpan<float> x, float scale, int zeroPoint, Span<sbyte> destination)
        => QuantizeCore(x, scale, zeroPoint, destination);

    /// <summary>q = clamp(round(x / scale) + zeroPoint, 0, 255).</summary>
    public static void QuantizeUInt8(ReadOnlySpan<float> x, float scale, int zeroPoint, Span<byte> destination)
        => QuantizeCore(x, scale, zeroPoint, destination);

    /// <summary>x = scale * (q - zeroPoint).</summary>
    public static void DequantizeInt8(ReadOnlySpan<sbyte> q, float scale, int zeroPoint, Span<float> destination)
        => DequantizeCore(q, scale, zeroPoint, destination);

    /// <summary>x = scale * (q - zeroPoint).</summary>
    public static void DequantizeUInt8(ReadOnlySpan<byte> q, float scale, int zeroPoint, Span<float> destination)
        => DequantizeCore(q, scale, zeroPoint, destination);

    /// <summary>Per-channel int8 quantization of x viewed as [outer, channels, inner]; <paramref name="zeroPoints"/> may be empty (symmetric).</summary>
    public static void QuantizeInt8PerChannel(ReadOnlySpan<float> x, int channels, int inner, // [outer, channels, inner]
        ReadOnlySpan<float> scales, ReadOnlySpan<int> zeroPoints,                            // [channels]
        Span<sbyte> destination)                                                              // [outer, channels, inner]
        => PerChannel(x, channels, inner, scales, zeroPoints, destination, QuantizeCore);

    /// <summary>Per-channel uint8 quantization of x viewed as [outer, channels, inner].</summary>
    public static void QuantizeUInt8PerChannel(ReadOnlySpan<float> x, int channels, int inner, // [outer, channels, inner]
        ReadOnlySpan<float> scales, ReadOnlySpan<int> zeroPoints,                             // [channels]
        Span<byte> destination)                                                                // [outer, channels, inner]
        => PerChannel(x, channels, inner, scales, zeroPoints, destination, QuantizeCore);

    /// <summary>Per-channel int8 dequantization of q viewed as [outer, channels, inner].</summary>
    public static void DequantizeInt8PerChannel(ReadOnlySpan<sbyte> q, int channels, int inner, // [outer, channels, inner]
        ReadOnlySpan<float> scales, ReadOnlySpan<int> zeroPoints,                               // [channels]
        Span<float> destination)                                                                 // [outer, channels, inner]
        => PerChannel(q, channels, inner, scales, zeroPoints, destination, DequantizeCore);

    private delegate void SliceOp<TIn, TOut>(ReadOnlySpan<TIn> source, float scale, int zeroPoint, Span<TOut> destination);

    /// <summary>Applies a per-tensor operation to each [inner] slice with its channel's scale and zero point.</summary>
    private static void PerChannel<TIn, TOut>(ReadOnlySpan<TIn> source, int channels, int inner, ReadOnlySpan<float> scales,
        ReadOnlySpan<int> zeroPoints, Span<TOut> destination, SliceOp<TIn, TOut> op)
    {
        int outer = ValidatePerChannel(source.Length, destination.Length, channels, inner, scales, zeroPoints);
        for (int o = 0; o < outer; o++)
            for (int ch = 0; ch < channels; ch++)
            {
                int off = (o * channels + ch) * inner;
                op(source.Slice(off, inner), scales[ch], zeroPoints.IsEmpty ? 0 : zeroPoints[ch], destination.Slice(off, inner));
            }
    }

    /// <summary>
    /// u = q + 128 as bytes: feeds s8 activations to the u8 x s8 <see cref="Int8Gemm"/>; use activation
    /// zero point + 128 in the correction (<see cref="Int8Requantize.ZeroPointCorrection"/>).
    /// </summary>
    public static void ShiftToUnsigned(ReadOnlySpan<sbyte> q, Span<byte> destination)
        => TensorPrimitives.Xor(MemoryMarshal.Cast<sbyte, byte>(q), (byte)0x80, destination);

    private static int ValidatePerChannel(int length, int destLength, int channels, int inner, ReadOnlySpan<float> scales, ReadOnlySpan<int> zeroPoints)
    {
        if (channels <= 0 || inner <= 0) throw new ArgumentException($"channels={channels} and inner={inner} must be positive");
        if (length % ((long)channels * inner) != 0) throw new ArgumentException($"length {length} is not a multiple of channels*inner={(long)channels * inner}");
        if (destLength < length) throw new ArgumentException("destination too short", "destination");
        if (scales.Length != channels) throw new ArgumentException($"scales has {scales.Length} entries, expected {channels}", nameof(scales));
        if (!zeroPoints.IsEmpty && zeroPoints.Length != channels) throw new ArgumentException($"zeroPoints has {zeroPoints.Length} entries, expected {channels} or 0", nameof(zeroPoints));
        return (int)(length / ((long)channels * inner));
    }

    private static (int Lo, int Hi) RangeOf<T>() => typeof(T) == typeof(sbyte) ? (-128, 127) : (0, 255);

    private static void ValidateScale(float scale, int zeroPoint, int lo, int hi)
    {
        if (!(scale > 0f) || float.IsInfinity(scale)) throw new ArgumentOutOfRangeException(nameof(scale), $"scale must be positive and finite, got {scale}");
        if (zeroPoint < lo || zeroPoint > hi) throw new ArgumentOutOfRangeException(nameof(zeroPoint), $"zero point {zeroPoint} outside [{lo}, {hi}]");
    }

    private static unsafe void QuantizeCore<T>(ReadOnlySpan<float> x, float scale, int zeroPoint, Span<T> destination) where T : unmanaged
    {
        var (lo, hi) = RangeOf<T>();
        ValidateScale(scale, zeroPoint, lo, hi);
        if (destination.Length < x.Length) throw new ArgumentException("destination too short", nameof(destination));
        var dst = MemoryMarshal.Cast<T, sbyte>(destination);
        int i = 0;
        if (Vector256.IsHardwareAccelerated)
        {
            var s = Vector256.Create(scale);
            var z = Vector256.Create((float)zeroPoint);
            var l = Vector256.Create((float)lo);
            var h = Vector256.Create((float)hi);
            ref float xr = ref MemoryMarshal.GetReference(x);
            for (; i <= x.Length - 32; i += 32)
            {
                var q0 = RoundClamp(Vector256.LoadUnsafe(ref xr, (nuint)i) / s, z, l, h);
                var q1 = RoundClamp(Vector256.LoadUnsafe(ref xr, (nuint)(i + 8)) / s, z, l, h);
                var q2 = RoundClamp(Vector256.LoadUnsafe(ref xr, (nuint)(i + 16)) / s, z, l, h);
                var q3 = RoundClamp(Vector256.LoadUnsafe(ref xr, (nuint)(i + 24)) / s, z, l, h);
                Vector256.Narrow(Vector256.Narrow(q0, q1), Vector256.Narrow(q2, q3)).StoreUnsafe(ref dst[i]);
            }
        }
        for (; i < x.Length; i++) dst[i] = (sbyte)QuantReference.QuantizeValue(x[i], scale, zeroPoint, lo, hi);
    }

    /// <summary>Vector form of <see cref="QuantReference.RoundClamp"/>: NaN gives the zero point.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static Vector256<int> RoundClamp(Vector256<float> y, Vector256<float> zeroPoint, Vector256<float> lo, Vector256<float> hi)
    {
        var v = Vector256.Round(y) + zeroPoint;
        var isNumber = Vector256.Equals(v, v);
        v = Vector256.MinNative(Vector256.MaxNative(v, lo), hi);
        return Vector256.ConvertToInt32Native(Vector256.ConditionalSelect(isNumber, v, zeroPoint));
    }

    private static unsafe void DequantizeCore<T>(ReadOnlySpan<T> q, float scale, int zeroPoint, Span<float> destination) where T : unmanaged
    {
        var (lo, hi) = RangeOf<T>();
        if (!float.IsFinite(scale)) throw new ArgumentOutOfRangeException(nameof(scale), $"scale must be finite, got {scale}");
        if (zeroPoint < lo || zeroPoint > hi) throw new ArgumentOutOfRangeException(nameof(zeroPoint), $"zero point {zeroPoint} outside [{lo}, {hi}]");
        if (destination.Length < q.Length) throw new ArgumentException("destination too short", nameof(destination));
        int i = 0;
        fixed (T* pq = q)
        fixed (float* pd = destination)
        {
            if (Avx2.IsSupported)
            {
                var s = Vector256.Create(scale);
                var z = Vector256.Create(zeroPoint);
                for (; i <= q.Length - 8; i += 8)
                {
                    var wide = typeof(T) == typeof(sbyte) ? Avx2.ConvertToVector256Int32((sbyte*)pq + i) : Avx2.ConvertToVector256Int32((byte*)pq + i);
                    Avx.Store(pd + i, Vector256.ConvertToSingle(wide - z) * s);
                }
            }
            for (; i < q.Length; i++)
            {
                int v = typeof(T) == typeof(sbyte) ? ((sbyte*)pq)[i] : ((byte*)pq)[i];
                pd[i] = QuantReference.DequantizeValue(v, scale, zeroPoint);
            }
        }
    }
}
