using System.Numerics.Tensors;
using System.Runtime.Intrinsics;

namespace DeepShrink.Core.Kernels;

/// <summary>
/// Leaky ReLU (plain ReLU at slope 0) forward and backward over flat buffers, vectorised with
/// <see cref="Vector512"/> / <see cref="Vector256"/> where the hardware has them. <see cref="ActivationReference"/>
/// is the specification; results are bit-identical to it (the same select and multiply per element).
/// Long buffers are cut into fixed blocks shared out over threads (element-wise, so the thread count
/// never changes a result).
/// </summary>
public static unsafe class ActivationKernels
{
    /// <summary>Elements per block handed to a thread.</summary>
    private const int BlockElements = 1 << 14;

    /// <summary>y = max(x, 0) with <c>TensorPrimitives.Max(x, 0f, y)</c> semantics (NaN stays NaN, -0 gives +0).</summary>
    public static void ReluForward(
        ReadOnlySpan<float> x,   // [n]
        Span<float> y,           // [n]
        int threads = 0)
        => Blockwise(null, x, x, y, threads);

    /// <summary>y = x where x &gt; 0, else slope * x (a NaN x gives slope * x, i.e. NaN).</summary>
    public static void LeakyReluForward(float slope,
        ReadOnlySpan<float> x,   // [n]
        Span<float> y,           // [n]
        int threads = 0)
        => Blockwise(slope, x, x, y, threads);

    /// <summary>dx = dy where x &gt; 0, else slope * dy.</summary>
    public static void LeakyReluBackward(float slope,
        ReadOnlySpan<float> x,   // [n] the forward input (or output: the sign test is the same for slope &gt;= 0)
        ReadOnlySpan<float> dy,  // [n]
        Span<float> dx,          // [n]
        int threads = 0)
        => Blockwise(slope, x, dy, dx, threads);

    /// <summary>d = s &gt; 0 ? v : slope * v block by block (ReLU forward when <paramref name="slope"/> is null).</summary>
    private static void Blockwise(float? slope, ReadOnlySpan<float> s, ReadOnlySpan<float> v, Span<float> d, int threads)
    {
        Check(s.Length, v.Length, d.Length);
        fixed (float* ps = s, pv = v, pd = d)
        {
            float* sp = ps, vp = pv, dp = pd;
            ConvParallel.ForBlocks(s.Length, BlockElements, threads, (b, e) =>
            {
                if (slope is { } k) Run(k, sp + b, vp + b, dp + b, e - b);
                else TensorPrimitives.Max(new ReadOnlySpan<float>(sp + b, e - b), 0f, new Span<float>(dp + b, e - b));
            });
        }
    }

    private static void Check(int x, int v, int d)
    {
        if (v != x || d != x) throw new ArgumentException($"activation: buffers have {x}, {v} and {d} elements, expected equal lengths");
    }

    /// <summary>d[i] = s[i] &gt; 0 ? v[i] : slope * v[i] (forward: v = s).</summary>
    private static void Run(float slope, float* s, float* v, float* d, int n)
    {
        int i = 0;
        if (Vector512.IsHardwareAccelerated)
        {
            var k = Vector512.Create(slope);
            for (; i <= n - 16; i += 16)
            {
                var vi = Vector512.Load(v + i);
                Vector512.ConditionalSelect(Vector512.GreaterThan(Vector512.Load(s + i), Vector512<float>.Zero), vi, vi * k).Store(d + i);
            }
        }
        if (Vector256.IsHardwareAccelerated)
        {
            var k = Vector256.Create(slope);
            for (; i <= n - 8; i += 8)
            {
                var vi = Vector256.Load(v + i);
                Vector256.ConditionalSelect(Vector256.GreaterThan(Vector256.Load(s + i), Vector256<float>.Zero), vi, vi * k).Store(d + i);
            }
        }
        for (; i < n; i++) d[i] = s[i] > 0f ? v[i] : slope * v[i];
    }
}
