using System.Numerics.Tensors;
using DeepShrink.Core.Autograd;

namespace DeepShrink.Core;

public static partial class Ops
{
    /// <summary>Numerically stable log-softmax over the last axis.</summary>
    public static Tensor LogSoftmax(Tensor x)
    {
        if (x.Rank == 0) throw new ArgumentException("LogSoftmax needs at least one axis");
        int cols = x.Shape[^1], rows = cols == 0 ? 0 : x.Size / cols;
        var xs = x.ContiguousData().Span;
        var r = new Tensor(x.Shape); var rs = r.Span;
        for (int i = 0; i < rows; i++) LogSoftmaxRow(xs.Slice(i * cols, cols), rs.Slice(i * cols, cols));
        if (!Engine.WillRecord(x)) return r;
        return Engine.Record(r, new LambdaNode("LogSoftmax", g =>
        {
            // dx = g - softmax * sum(g)
            var gs = g.ContiguousData().Span; var ls = r.Span;
            var gx = new Tensor(x.Shape); var gxs = gx.Span;
            for (int i = 0; i < rows; i++)
            {
                var gr = gs.Slice(i * cols, cols);
                float sg = TensorPrimitives.Sum(gr);
                for (int j = 0; j < cols; j++) gxs[i * cols + j] = gr[j] - MathF.Exp(ls[i * cols + j]) * sg;
            }
            return new[] { gx };
        }, x));
    }

    /// <summary>Softmax over the last axis.</summary>
    public static Tensor Softmax(Tensor x) => Exp(LogSoftmax(x));

    private static void LogSoftmaxRow(ReadOnlySpan<float> x, Span<float> dst)
    {
        float max = TensorPrimitives.Max(x);
        TensorPrimitives.Subtract(x, max, dst);
        double sum = 0;
        for (int j = 0; j < dst.Length; j++) sum += MathF.Exp(dst[j]);
        float lse = (float)Math.Log(sum);
        TensorPrimitives.Subtract(dst, lse, dst);
    }

    /// <summary>
    /// Mean cross-entropy of logits [N, C] against integer class labels, with optional label
    /// smoothing (target = (1-eps) one-hot + eps/C).
    /// </summary>
    /// <remarks>Fused log-softmax + NLL; gradient (softmax - target) / N.</remarks>
    public static Tensor CrossEntropy(Tensor logits, ReadOnlySpan<int> labels, float labelSmoothing = 0f)
    {
        if (logits.Rank != 2) throw new ArgumentException($"CrossEntropy needs logits [N, C], got {ShapeUtil.Format(logits.Shape)}");
        int n = logits.Shape[0], c = logits.Shape[1];
        if (labels.Length != n) throw new ArgumentException($"{labels.Length} labels for {n} rows");
        if (labelSmoothing < 0f || labelSmoothing >= 1f) throw new ArgumentOutOfRangeException(nameof(labelSmoothing), "must be in [0, 1)");
        var target = new Tensor(n, c);
        var ts = target.Span;
        float off = labelSmoothing / c, on = 1f - labelSmoothing + off;
        for (int i = 0; i < n; i++)
        {
            if ((uint)labels[i] >= (uint)c) throw new ArgumentOutOfRangeException(nameof(labels), $"label {labels[i]} out of range for {c} classes");
            if (labelSmoothing > 0f) ts.Slice(i * c, c).Fill(off);
            ts[i * c + labels[i]] = on;
        }
        return SoftCrossEntropy(logits, target, 1f);
    }

    /// <summary>
    /// Mean cross-entropy of logits [N, C] against soft targets [N, C] (rows sum to 1) at temperature T:
    /// -mean_n sum_c t[n,c] log softmax(logits / T)[n,c].
    /// </summary>
    /// <remarks>
    /// Hinton, Vinyals and Dean (2015), "Distilling the knowledge in a neural network": gradients of the
    /// soft term scale as 1/T^2, so distillation multiplies this loss by T^2. Gradient: (softmax(z/T) - t) / (N T).
    /// </remarks>
    public static Tensor SoftCrossEntropy(Tensor logits, Tensor targets, float temperature = 1f)
    {
        if (logits.Rank != 2) throw new ArgumentException($"SoftCrossEntropy needs logits [N, C], got {ShapeUtil.Format(logits.Shape)}");
        if (!ShapeUtil.SameShape(logits.Shape, targets.Shape))
            throw new ArgumentException($"targets {ShapeUtil.Format(targets.Shape)} do not match logits {ShapeUtil.Format(logits.Shape)}");
        if (!(temperature > 0f)) throw new ArgumentOutOfRangeException(nameof(temperature), "temperature must be > 0");
        int n = logits.Shape[0], c = logits.Shape[1];
        var zs = logits.ContiguousData().Span; var ts = targets.ContiguousData().Span;
        var logp = new float[n * c];
        double loss = 0;
        var row = new float[c];
        for (int i = 0; i < n; i++)
        {
            TensorPrimitives.Multiply(zs.Slice(i * c, c), 1f / temperature, row);
            LogSoftmaxRow(row, logp.AsSpan(i * c, c));
            for (int j = 0; j < c; j++) loss -= (double)ts[i * c + j] * logp[i * c + j];
        }
        var r = Tensor.Scalar(n == 0 ? 0f : (float)(loss / n));
        if (!Engine.WillRecord(logits, targets)) return r;
        return Engine.Record(r, new LambdaNode("SoftCrossEntropy", g =>
        {
            float scale = g.Item() / (n * temperature);
            Tensor? gl = null, gt = null;
            if (logits.RequiresGrad)
            {
                gl = new Tensor(n, c); var gs = gl.Span; var tv = targets.ContiguousData().Span;
                for (int k = 0; k < gs.Length; k++) gs[k] = (MathF.Exp(logp[k]) - tv[k]) * scale;
            }
            if (targets.RequiresGrad)
            {
                gt = new Tensor(n, c); var gs = gt.Span;
                float s2 = -g.Item() / Math.Max(1, n);
                for (int k = 0; k < gs.Length; k++) gs[k] = logp[k] * s2;
            }
            return new[] { gl, gt };
        }, logits, targets));
    }

    /// <summary>Mean squared error mean((a - b)^2), for regression and feature distillation.</summary>
    public static Tensor Mse(Tensor a, Tensor b)
    {
        if (!ShapeUtil.SameShape(a.Shape, b.Shape))
            throw new ArgumentException($"Mse shape mismatch: {ShapeUtil.Format(a.Shape)} vs {ShapeUtil.Format(b.Shape)}");
        return Mean(Square(Sub(a, b)));
    }

    /// <summary>Number of rows whose arg-max equals the label.</summary>
    public static int CountCorrect(Tensor logits, ReadOnlySpan<int> labels)
    {
        var pred = ArgMaxRows(logits);
        int ok = 0;
        for (int i = 0; i < pred.Length; i++) if (pred[i] == labels[i]) ok++;
        return ok;
    }
}
