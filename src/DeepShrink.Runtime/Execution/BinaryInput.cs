using System.Buffers;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using DeepShrink.Core.Kernels;

namespace DeepShrink.Runtime.Execution;

/// <summary>
/// Binary inputs (BNN; XNOR-Net with <c>xnor</c>): the input is standardised per channel with stored
/// statistics, <c>xh = (x - mean) / sqrt(var + eps)</c>, and replaced by <c>sign(xh)</c> (sign(0) = +1).
/// With XNOR the output is rescaled by K: the mean of |xh| over a sample's features (linear) or, for a
/// convolution, the channel mean of |xh| box-filtered over each output's window.
/// </summary>
/// <remarks>
/// Hubara et al., "Binarized Neural Networks" (NeurIPS 2016); Rastegari et al., "XNOR-Net" (ECCV 2016),
/// sec. 3.2: <c>I * W ~ (sign(I) (*) sign(W)) . K alpha</c>. Same float32/float64 arithmetic as the
/// training engine's binary input hook, so outputs agree with the decoded model.
/// </remarks>
internal sealed class BinaryInput : InputTransform
{
    private readonly float[] _shift, _mul; // per channel: -mean, 1 / sqrt(var + eps)
    private readonly int _inner;
    private readonly ConvGeometry? _conv;  // XNOR on a convolution
    private readonly bool _xnor;

    public BinaryInput(float[] mean, float[] variance, float eps, int inner, ConvGeometry? conv, bool xnor)
    {
        _shift = new float[mean.Length]; _mul = new float[mean.Length];
        for (int c = 0; c < mean.Length; c++) { _mul[c] = 1f / MathF.Sqrt(variance[c] + eps); _shift[c] = -mean[c]; }
        _inner = inner; _conv = conv; _xnor = xnor;
    }

    public override int ScaleSize(int batch) => !_xnor ? 0 : _conv is { } g ? batch * g.OutPlane : batch;

    public override void Apply(ReadOnlySpan<float> x, Span<float> dst, Span<float> scale, int batch)
    {
        int c = _shift.Length, sample = c * _inner;
        for (int n = 0; n < batch; n++)
        {
            var xs = x.Slice(n * sample, sample);
            var ds = dst.Slice(n * sample, sample);
            for (int ch = 0; ch < c; ch++) // xh = (x - mean) * (1 / sqrt(var + eps)): an add, then a multiply, as in the training hook
                Standardize(xs.Slice(ch * _inner, _inner), _shift[ch], _mul[ch], ds.Slice(ch * _inner, _inner));
            if (_xnor)
            {
                if (_conv is { } g) ConvScale(ds, g, scale.Slice(n * g.OutPlane, g.OutPlane));
                else
                {
                    double acc = 0;
                    foreach (float v in ds) acc += MathF.Abs(v);
                    scale[n] = (float)(acc / sample);
                }
            }
            Sign(ds);
        }
    }

    public override void Rescale(Span<float> y, ReadOnlySpan<float> bias, ReadOnlySpan<float> scale, int batch)
    {
        if (!_xnor) return;
        int positions = _conv?.OutPlane ?? 1, outputs = y.Length / batch / positions;
        for (int n = 0; n < batch; n++)
            for (int o = 0; o < outputs; o++)
            {
                var yo = y.Slice((n * outputs + o) * positions, positions);
                var k = scale.Slice(n * positions, positions);
                if (bias.IsEmpty) for (int p = 0; p < positions; p++) yo[p] *= k[p];
                else for (int p = 0; p < positions; p++) yo[p] = (yo[p] - bias[o]) * k[p] + bias[o];
            }
    }

    /// <summary>d = (x + shift) * mul, rounded after the add and after the multiply (no fused multiply-add).</summary>
    private static void Standardize(ReadOnlySpan<float> x, float shift, float mul, Span<float> d)
    {
        int i = 0;
        if (Vector256.IsHardwareAccelerated)
        {
            var vs = Vector256.Create(shift);
            var vm = Vector256.Create(mul);
            for (; i + 8 <= x.Length; i += 8)
                ((Vector256.LoadUnsafe(ref MemoryMarshal.GetReference(x), (nuint)i) + vs) * vm).StoreUnsafe(ref MemoryMarshal.GetReference(d), (nuint)i);
        }
        for (; i < x.Length; i++) d[i] = (x[i] + shift) * mul;
    }

    /// <summary>v = v &lt; 0 ? -1 : +1 (sign(0) = +1, -0 included).</summary>
    private static void Sign(Span<float> v)
    {
        int i = 0;
        if (Vector256.IsHardwareAccelerated)
            for (; i + 8 <= v.Length; i += 8)
            {
                ref float r = ref MemoryMarshal.GetReference(v);
                var x = Vector256.LoadUnsafe(ref r, (nuint)i);
                Vector256.ConditionalSelect(Vector256.LessThan(x, Vector256<float>.Zero), Vector256.Create(-1f), Vector256<float>.One).StoreUnsafe(ref r, (nuint)i);
            }
        for (; i < v.Length; i++) v[i] = v[i] < 0f ? -1f : 1f;
    }

    /// <summary>K[oy, ox] = (1 / (kh kw)) * sum over the window of mean_c |xh| (padding counts 0).</summary>
    private static void ConvScale(ReadOnlySpan<float> xh, ConvGeometry g, Span<float> k) // xh: [C, H, W], k: [OH, OW]
    {
        int plane = g.H * g.W;
        double[] rented = ArrayPool<double>.Shared.Rent(plane);
        try
        {
            var a = rented.AsSpan(0, plane);
            a.Clear();
            for (int c = 0; c < g.C; c++) // per pixel, channels in order, in double: the same sums as the training hook
            {
                var p = xh.Slice(c * plane, plane);
                int i = 0;
                if (Vector256.IsHardwareAccelerated)
                    for (; i + 4 <= plane; i += 4)
                    {
                        var v = Vector256.Abs(Vector256.WidenLower(Vector128.LoadUnsafe(ref MemoryMarshal.GetReference(p), (nuint)i).ToVector256Unsafe()));
                        (Vector256.LoadUnsafe(ref MemoryMarshal.GetReference(a), (nuint)i) + v).StoreUnsafe(ref MemoryMarshal.GetReference(a), (nuint)i);
                    }
                for (; i < plane; i++) a[i] += MathF.Abs(p[i]);
            }
            for (int i = 0; i < plane; i++) a[i] /= g.C;
            Window(a, g, k);
        }
        finally { ArrayPool<double>.Shared.Return(rented); }
    }

    private static void Window(ReadOnlySpan<double> a, ConvGeometry g, Span<float> k)
    {
        float inv = 1f / (g.KH * g.KW);
        for (int oy = 0; oy < g.OH; oy++)
            for (int ox = 0; ox < g.OW; ox++)
            {
                double acc = 0;
                for (int dy = 0; dy < g.KH; dy++)
                {
                    int iy = oy * g.SH - g.PH + dy;
                    if ((uint)iy >= (uint)g.H) continue;
                    for (int dx = 0; dx < g.KW; dx++)
                    {
                        int ix = ox * g.SW - g.PW + dx;
                        if ((uint)ix < (uint)g.W) acc += a[iy * g.W + ix];
                    }
                }
                k[oy * g.OW + ox] = (float)acc * inv;
            }
    }
}
