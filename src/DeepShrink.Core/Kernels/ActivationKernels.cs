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
    {
        Check(x.Length, x.Length, y.Length);
        fixed (float* px = x, py = y)
        {
            float* xp = px, yp = py;
            int n = x.Length;
            ConvParallel.ForBlocks(n, BlockElements, threads, (s, e) => TensorPrimitives.Max(new ReadOnlySpan<float>(xp + s, e - s), 0f, new Span<float>(yp + s, e - s)));
        }
    }

    /// <summary>y = x where x &gt; 0, else slope * x (a NaN x gives slope * x, i.e. NaN).</summary>
    public static void LeakyReluForward(float slope,
        ReadOnlySpan<float> x,   // [n]
        Span<float> y,           // [n]
        int threads = 0)
    {
        Check(x.Length, x.Length, y.Length);
        fixed (float* px = x, py = y)
        {
            float* xp = px, yp = py;
            ConvParallel.ForBlocks(x.Length, BlockElements, threads, (s, e) => Run(slope, xp + s, xp + s, yp + s, e - s));
        }
    }

    /// <summary>dx = dy where x &gt; 0, else slope * dy.</summary>
    public static void LeakyReluBackward(float slope,
        ReadOnlySpan<float> x,   // [n] the forward input (or output: the sign test is the same for slope &gt;= 0)
        ReadOnlySpan<float> dy,  // [n]
        Span<float> dx,          // [n]
        int threads = 0)
    {
        Check(x.Length, dy.Length, dx.Length);
        fixed (float* px = x, pdy = dy, pdx = dx)
        {
            float* xp = px, dyp = pdy, dxp = pdx;
            ConvParallel.ForBlocks(x.Length, BlockElements, threads, (s, e) => Run(slope, xp + s, dyp + s, dxp + s, e - s));
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
