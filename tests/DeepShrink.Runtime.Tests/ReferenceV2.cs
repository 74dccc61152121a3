using DeepShrink.Core;
using DeepShrink.Core.Graph;

namespace DeepShrink.Runtime.Tests;

/// <summary>
/// Straightforward float64 loops for the graph-v2 ops over whole tensors [N, sample...], written from the op
/// definitions (docs/FORMAT-dsz.md) by coordinates, independent of the runtime's steps: the reference for
/// <see cref="ReferenceRunner"/>.
/// </summary>
internal static class ReferenceV2
{
    public static Tensor Apply(GraphNode n, Tensor[] xs, Func<string, Tensor> param) => n.Op switch
    {
        "clip" => Map(xs[0], v => Math.Min(Math.Max(v, n.Number("min", double.NegativeInfinity)), n.Number("max", double.PositiveInfinity))),
        "hard_sigmoid" => Map(xs[0], v => Math.Max(0, Math.Min(1, n.Number("alpha", 0.2) * v + n.Number("beta", 0.5)))),
        "hard_swish" => Map(xs[0], v => v * Math.Min(Math.Max(v + 3, 0), 6) / 6),
        "softmax" => Softmax(xs[0], n.Int("axis", -1)),
        "add" or "sub" or "mul" or "div" => Arithmetic(n.Op, xs[0], xs.Length > 1 ? xs[1] : null, xs.Length > 1 ? null : param("b")),
        "concat" => Concat(xs, n.Int("axis", 1)),
        "pad" => Pad(xs[0], n.Ints("pads")!, n.Number("value", 0)),
        "reshape" => Reshape(xs[0], n.Ints("shape")!),
        "maxpool2d" or "avgpool2d" => Pool(xs[0], PoolAttrs.Of(n), n.Op == "maxpool2d"),
        _ => throw new InvalidOperationException($"reference has no op {n.Op}"),
    };

    private static Tensor Map(Tensor x, Func<double, double> f)
    {
        var xc = x.ContiguousData();
        var y = new Tensor(x.Shape);
        for (int i = 0; i < y.Size; i++) y.Span[i] = (float)f(xc.Span[i]);
        return y;
    }

    private static Tensor Softmax(Tensor x, int axis)
    {
        var s = x.Shape;
        int ax = axis < 0 ? axis + s.Length : axis;
        int len = s[ax], inner = ShapeUtil.Numel(s.AsSpan(ax + 1)), outer = x.Size / (len * inner);
        var xs = x.ContiguousData().Span;
        var y = new Tensor(s);
        for (int o = 0; o < outer; o++)
            for (int i = 0; i < inner; i++)
            {
                double max = double.NegativeInfinity, sum = 0;
                for (int a = 0; a < len; a++) max = Math.Max(max, xs[(o * len + a) * inner + i]);
                for (int a = 0; a < len; a++) sum += Math.Exp(xs[(o * len + a) * inner + i] - max);
                for (int a = 0; a < len; a++) y.Span[(o * len + a) * inner + i] = (float)(Math.Exp(xs[(o * len + a) * inner + i] - max) / sum);
            }
        return y;
    }

    /// <summary>Numpy broadcasting of per-sample shapes; a constant has no batch axis.</summary>
    private static Tensor Arithmetic(string op, Tensor a, Tensor? b, Tensor? constant)
    {
        int batch = a.Shape[0];
        int[] sa = a.Shape[1..], sb = b is not null ? b.Shape[1..] : constant!.Shape;
        int rank = Math.Max(sa.Length, sb.Length);
        int Dim(int[] s, int i) => i < rank - s.Length ? 1 : s[i - (rank - s.Length)];
        var so = Enumerable.Range(0, rank).Select(i => Math.Max(Dim(sa, i), Dim(sb, i))).ToArray();
        var y = new Tensor([batch, .. so]);
        var av = a.ContiguousData().Span;
        var bv = (b ?? constant)!.ContiguousData().Span;
        int per = ShapeUtil.Numel(so), perA = ShapeUtil.Numel(sa), perB = ShapeUtil.Numel(sb);
        var idx = new int[rank];
        for (int n = 0; n < batch; n++)
            for (int o = 0; o < per; o++)
            {
                for (int i = rank - 1, r = o; i >= 0; i--) { idx[i] = r % so[i]; r /= so[i]; }
                double u = av[n * perA + Offset(sa, idx)], v = bv[(b is null ? 0 : n * perB) + Offset(sb, idx)];
                y.Span[n * per + o] = (float)(op switch { "add" => u + v, "sub" => u - v, "mul" => u * v, _ => u / v });
            }
        return y;
    }

    /// <summary>Row-major offset in a right-aligned shape of the output coordinate <paramref name="idx"/> (size-1 axes read index 0).</summary>
    private static int Offset(int[] shape, int[] idx)
    {
        int off = 0;
        for (int j = 0; j < shape.Length; j++) off = off * shape[j] + (shape[j] == 1 ? 0 : idx[idx.Length - shape.Length + j]);
        return off;
    }

    private static Tensor Concat(Tensor[] xs, int axis)
    {
        int rank = xs[0].Rank, ax = axis < 0 ? axis + rank : axis;
        var shape = xs[0].Shape.ToArray();
        shape[ax] = xs.Sum(t => t.Shape[ax]);
        var y = new Tensor(shape);
        int outer = ShapeUtil.Numel(shape.AsSpan(0, ax)), inner = ShapeUtil.Numel(shape.AsSpan(ax + 1));
        for (int o = 0; o < outer; o++)
        {
            int at = 0;
            foreach (var x in xs)
            {
                var xv = x.ContiguousData().Span;
                for (int a = 0; a < x.Shape[ax]; a++, at++)
                    for (int i = 0; i < inner; i++)
                        y.Span[(o * shape[ax] + at) * inner + i] = xv[(o * x.Shape[ax] + a) * inner + i];
            }
        }
        return y;
    }

    private static Tensor Pad(Tensor x, int[] p, double value)
    {
        var s = x.Shape;
        int h = s[^2], w = s[^1], oh = h + p[0] + p[2], ow = w + p[1] + p[3], planes = x.Size / (h * w);
        var shape = s.ToArray();
        shape[^2] = oh; shape[^1] = ow;
        var y = new Tensor(shape);
        var xv = x.ContiguousData().Span;
        for (int pl = 0; pl < planes; pl++)
            for (int r = 0; r < oh; r++)
                for (int c = 0; c < ow; c++)
                {
                    int ir = r - p[0], ic = c - p[1];
                    y.Span[(pl * oh + r) * ow + c] = ir >= 0 && ir < h && ic >= 0 && ic < w ? xv[(pl * h + ir) * w + ic] : (float)value;
                }
        return y;
    }

    private static Tensor Reshape(Tensor x, int[] target)
    {
        var s = x.Shape;
        var o = target.Select((d, i) => d == 0 ? s[i + 1] : d).ToArray();
        int known = o.Where(d => d != -1).Aggregate(1, (p, d) => p * d);
        var shape = o.Select(d => d == -1 ? x.Size / s[0] / known : d).ToArray();
        return x.ContiguousData().Reshape([s[0], .. shape]);
    }

    private static Tensor Pool(Tensor x, PoolAttrs a, bool max)
    {
        int n = x.Shape[0], c = x.Shape[1], h = x.Shape[2], w = x.Shape[3];
        int oh = (h + 2 * a.PadH - a.KernelH) / a.StrideH + 1, ow = (w + 2 * a.PadW - a.KernelW) / a.StrideW + 1;
        var y = new Tensor(n, c, oh, ow);
        var xv = x.ContiguousData().Span;
        for (int pl = 0; pl < n * c; pl++)
            for (int r = 0; r < oh; r++)
                for (int col = 0; col < ow; col++)
                {
                    double acc = max ? double.NegativeInfinity : 0;
                    int count = 0;
                    for (int ky = 0; ky < a.KernelH; ky++)
                        for (int kx = 0; kx < a.KernelW; kx++)
                        {
                            int iy = r * a.StrideH - a.PadH + ky, ix = col * a.StrideW - a.PadW + kx;
                            if (iy < 0 || iy >= h || ix < 0 || ix >= w) continue;
                            double v = xv[(pl * h + iy) * w + ix];
                            acc = max ? Math.Max(acc, v) : acc + v;
                            count++;
                        }
                    y.Span[(pl * oh + r) * ow + col] = (float)(max ? acc : acc / (a.CountIncludePad ? a.KernelH * a.KernelW : count));
                }
        return y;
    }
}
