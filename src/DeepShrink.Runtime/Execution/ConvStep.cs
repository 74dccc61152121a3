using System.Buffers;
using DeepShrink.Core.Kernels;
using DeepShrink.Runtime.Kernels;

namespace DeepShrink.Runtime.Execution;

/// <summary>
/// 2-D convolution (+ bias, + ReLU when fused). Dense weights run <see cref="ConvKernels.Forward"/>
/// (im2col + SGEMM over chunks of images); compressed weights unfold one image at a time
/// (<see cref="Im2Col.Pack"/>, skipped for pointwise convolutions) and multiply each group's column
/// matrix by that group's compressed matrix, writing straight into the image's output planes.
/// </summary>
internal sealed class ConvStep : Step
{
    private readonly ConvGeometry _g;      // N = 1; the batch comes from the frame
    private readonly IWeightMatrix[] _groups;
    private readonly float[]? _dense;      // [O, C/groups, KH, KW] when every group is dense
    private readonly float[] _bias;

    public ConvStep(string name, int input, ConvGeometry g, IWeightMatrix[] groups, float[] bias)
        : base(name, "conv2d", [input], [g.C * g.H * g.W], -1, g.O * g.OutPlane)
    {
        _g = g; _groups = groups; _bias = bias;
        if (groups.All(m => m is DenseMatrix)) _dense = groups.SelectMany(m => ((DenseMatrix)m).Weights.ToArray()).ToArray();
    }

    /// <inheritdoc/>
    public override void Run(Frame f)
    {
        var x = In(f, 0);
        var y = Out(f);
        var g = _g with { N = f.Batch };
        if (_dense is not null) ConvKernels.Forward(g, x, _dense, _bias, y, f.Threads);
        else Compressed(g, x, y, f.Threads);
        Finish(y);
    }

    private unsafe void Compressed(ConvGeometry g, ReadOnlySpan<float> x, Span<float> y, int threads) // x: [N, C, H, W], y: [N, O, OH, OW]
    {
        int images = g.N, plane = g.OutPlane;
        long work = _groups.Sum(m => m.MacsPerColumn) * plane * images;
        int outer = images > 1 ? RuntimeParallel.Useful(work, images, threads) : 1;
        fixed (float* px = x, py = y)
        {
            float* xp = px, yp = py;
            var geo = g;
            if (outer == 1) Images(geo, xp, yp, 0, images, threads);
            else RuntimeParallel.For(images, outer, (i0, i1) => Images(geo, xp, yp, i0, i1, 1));
        }
    }

    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)]
    private unsafe void Images(ConvGeometry g, float* x, float* y, int i0, int i1, int threads)
    {
        int plane = g.OutPlane, kRows = Im2Col.Rows(g), inSize = g.C * g.H * g.W, outSize = g.O * plane;
        int og = g.OPerGroup, kg = g.GroupK;
        float[]? cols = g.IsPointwise ? null : ArrayPool<float>.Shared.Rent(kRows * plane);
        try
        {
            var all = new ReadOnlySpan<float>(x, g.N * inSize);
            for (int i = i0; i < i1; i++)
            {
                ReadOnlySpan<float> c = cols is null ? all.Slice(i * inSize, inSize) : cols.AsSpan(0, kRows * plane);
                if (cols is not null) Im2Col.Pack(g, all, i, 1, cols.AsSpan(0, kRows * plane), 1);
                var yi = new Span<float>(y + (long)i * outSize, outSize);
                for (int gr = 0; gr < _groups.Length; gr++)
                    _groups[gr].MultiplyColumns(c.Slice(gr * kg * plane, kg * plane), plane, yi.Slice(gr * og * plane, og * plane), threads);
                AddChannelBias(yi, _bias, 1, g.O, plane);
            }
        }
        finally
        {
            if (cols is not null) ArrayPool<float>.Shared.Return(cols);
        }
    }
}
