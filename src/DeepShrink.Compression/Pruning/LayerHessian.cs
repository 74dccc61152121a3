using System.Numerics.Tensors;
using DeepShrink.Core;
using DeepShrink.Core.Kernels;
using DeepShrink.Nn;
using Tensor = DeepShrink.Core.Tensor;

namespace DeepShrink.Compression.Pruning;

/// <summary>
/// Layer-wise Hessian of the reconstruction error of a linear map y = W x over calibration inputs:
/// H = 2 X X^T / n, accumulated in float64 (inputs of convolutions are unfolded by im2col, so a
/// convolution is the linear map of its weights viewed as [O, C KH KW]).
/// </summary>
/// <remarks>
/// For one output row w, E(w) = (1/n) sum_i (w . x_i - w0 . x_i)^2 = 1/2 (w - w0)^T H (w - w0), so H is
/// the exact Hessian of the layer-wise objective of L-OBS (Dong et al. 2017) and OBC (Frantar and
/// Alistarh 2022). Its diagonal 2 E[x_j^2] is the layer-wise Hessian diagonal used by Optimal Brain Damage.
/// </remarks>
public sealed class LayerHessian
{
    private readonly double[] _sum; // [Dim, Dim], lower triangle accumulated

    /// <summary>Creates an empty accumulator for inputs of <paramref name="dim"/> features.</summary>
    public LayerHessian(int dim)
    {
        if (dim <= 0) throw new ArgumentOutOfRangeException(nameof(dim), "dimension must be positive");
        Dim = dim;
        _sum = new double[(long)dim * dim];
    }

    /// <summary>Input features (columns of the weight matrix).</summary>
    public int Dim { get; }

    /// <summary>Input vectors accumulated so far (for a convolution: image positions).</summary>
    public long Samples { get; private set; }

    /// <summary>Adds input vectors stored as rows.</summary>
    public void AddRows(ReadOnlySpan<float> x, int n) // [n, Dim]
    {
        if (x.Length != (long)n * Dim) throw new ArgumentException($"expected {n} x {Dim} inputs, got {x.Length} values");
        var t = new double[(long)Dim * n]; // [Dim, n]
        for (int i = 0; i < n; i++)
            for (int j = 0; j < Dim; j++) t[(long)j * n + i] = x[i * Dim + j];
        AddTransposed(t, n);
    }

    /// <summary>Adds input vectors stored as columns (the im2col layout).</summary>
    public void AddColumns(ReadOnlySpan<float> cols, int n) // [Dim, n]
    {
        if (cols.Length != (long)n * Dim) throw new ArgumentException($"expected {Dim} x {n} columns, got {cols.Length} values");
        var t = new double[cols.Length];
        for (int i = 0; i < t.Length; i++) t[i] = cols[i];
        AddTransposed(t, n);
    }

    /// <summary>Adds a batch of inputs of a <see cref="Linear"/> ([N, in]) or <see cref="Conv2d"/> ([N, C, H, W]) layer.</summary>
    public void AddInput(Module layer, Tensor input)
    {
        var x = input.ContiguousData();
        switch (layer)
        {
            case Linear:
                if (x.Rank < 2 || x.Shape[^1] != Dim) throw new ArgumentException($"linear input {ShapeUtil.Format(x.Shape)} does not end in {Dim} features");
                AddRows(x.Span, x.Size / Dim);
                break;
            case Conv2d c:
                AddConvInput(c, x);
                break;
            default:
                throw new ArgumentException($"layer-wise Hessians need a Linear or Conv2d layer, got {layer.GetType().Name}");
        }
    }

    private void AddConvInput(Conv2d c, Tensor x)
    {
        if (c.Groups != 1) throw new ArgumentException($"layer-wise Hessians support ungrouped convolutions only (groups = {c.Groups})");
        if (x.Rank != 4) throw new ArgumentException($"conv input must be [N, C, H, W], got {ShapeUtil.Format(x.Shape)}");
        var a = c.Geometry;
        var g = new ConvGeometry(x.Shape[0], x.Shape[1], x.Shape[2], x.Shape[3], c.OutChannels, c.KernelH, c.KernelW,
            a.StrideH, a.StrideW, a.PadH, a.PadW, a.DilationH, a.DilationW);
        if (Im2Col.Rows(g) != Dim) throw new ArgumentException($"conv unfolds to {Im2Col.Rows(g)} features, Hessian has {Dim}");
        int chunk = Math.Max(1, (1 << 20) / Math.Max(1, Dim * g.OutPlane));
        for (int i0 = 0; i0 < g.N; i0 += chunk)
        {
            int imgs = Math.Min(chunk, g.N - i0);
            var cols = new float[(long)Dim * imgs * g.OutPlane];
            Im2Col.Pack(g, x.Span, i0, imgs, cols, threads: 1);
            AddColumns(cols, imgs * g.OutPlane);
        }
    }

    private void AddTransposed(double[] t, int n) // [Dim, n]
    {
        int d = Dim;
        Parallel.For(0, d, new ParallelOptions { MaxDegreeOfParallelism = Parallelism.Degree }, i =>
        {
            var xi = t.AsSpan(i * n, n);
            var row = _sum.AsSpan(i * d, d);
            for (int j = 0; j <= i; j++) row[j] += TensorPrimitives.Dot<double>(xi, t.AsSpan(j * n, n));
        });
        Samples += n;
    }

    /// <summary>H = 2 X X^T / n as a dense symmetric [Dim, Dim] matrix (zero when nothing was added).</summary>
    public double[] Matrix()
    {
        int d = Dim;
        var h = new double[(long)d * d];
        if (Samples == 0) return h;
        double s = 2.0 / Samples;
        for (int i = 0; i < d; i++)
            for (int j = 0; j <= i; j++) h[i * d + j] = h[j * d + i] = s * _sum[i * d + j];
        return h;
    }

    /// <summary>The diagonal 2 E[x_j^2] (the Optimal Brain Damage layer-wise Hessian diagonal).</summary>
    public double[] Diagonal()
    {
        var diag = new double[Dim];
        if (Samples == 0) return diag;
        for (int j = 0; j < Dim; j++) diag[j] = 2.0 * _sum[(long)j * Dim + j] / Samples;
        return diag;
    }
}
