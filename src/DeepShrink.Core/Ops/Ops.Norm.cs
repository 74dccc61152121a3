using DeepShrink.Core.Autograd;
using DeepShrink.Core.Kernels;

namespace DeepShrink.Core;

public static partial class Ops
{
    /// <summary>
    /// Batch normalisation over axis 1 of x [N, C] or [N, C, H, W]. In training, normalises with batch
    /// statistics and updates the running buffers in place (running = (1-momentum) running + momentum batch,
    /// unbiased variance); in eval, uses the running buffers.
    /// </summary>
    /// <remarks>
    /// Ioffe and Szegedy 2015: y = gamma (x - mean) / sqrt(var + eps) + beta, where training uses the biased
    /// batch variance for normalisation; kernels and gradient formulas in <see cref="BatchNormKernels"/>.
    /// The running buffers are updated even inside <see cref="Engine.NoGrad"/> (as in PyTorch).
    /// </remarks>
    public static Tensor BatchNorm(Tensor x, Tensor gamma, Tensor beta, Tensor runningMean, Tensor runningVar, bool training, float momentum = 0.1f, float eps = 1e-5f)
    {
        if (x.Rank < 2) throw new ArgumentException($"BatchNorm: input must be [N, C] or [N, C, H, W], got {ShapeUtil.Format(x.Shape)}");
        int n = x.Shape[0], c = x.Shape[1], s = ShapeUtil.Numel(x.Shape.AsSpan(2));
        if (c < 1 || s < 1) throw new ArgumentException($"BatchNorm: input {ShapeUtil.Format(x.Shape)} has an empty channel or spatial axis");
        foreach (var (t, name) in new[] { (gamma, "gamma"), (beta, "beta"), (runningMean, "runningMean"), (runningVar, "runningVar") })
            if (t.Rank != 1 || t.Shape[0] != c)
                throw new ArgumentException($"BatchNorm: {name} {ShapeUtil.Format(t.Shape)} expected [{c}] for input {ShapeUtil.Format(x.Shape)}");
        if (!(momentum >= 0f && momentum <= 1f)) throw new ArgumentException($"BatchNorm: momentum {momentum} must be in [0, 1]");
        if (!(eps > 0f)) throw new ArgumentException($"BatchNorm: eps {eps} must be > 0");
        long count = (long)n * s;
        if (training && count < 2)
            throw new ArgumentException($"BatchNorm: training needs more than one value per channel, input {ShapeUtil.Format(x.Shape)}");

        var xc = x.ContiguousData(); var gc = gamma.ContiguousData(); var bc = beta.ContiguousData();
        float[] mean = new float[c], variance = new float[c];
        if (training)
        {
            BatchNormKernels.BatchStats(n, c, s, xc.Span, mean, variance);
            BatchNormKernels.UpdateRunning(mean, variance, count, momentum, runningMean.Span, runningVar.Span);
        }
        else
        {
            runningMean.ContiguousData().Span.CopyTo(mean);
            runningVar.ContiguousData().Span.CopyTo(variance);
        }
        var y = Uninitialized(x.Shape);
        BatchNormKernels.Normalize(n, c, s, xc.Span, gc.Span, bc.Span, mean, variance, eps, y.Span);
        if (!Engine.WillRecord(x, gamma, beta)) return y;
        return Engine.Record(y, new LambdaNode("BatchNorm", gy =>
        {
            var dx = x.RequiresGrad ? Uninitialized(x.Shape) : null;
            var dg = gamma.RequiresGrad ? Uninitialized(c) : null;
            var db = beta.RequiresGrad ? Uninitialized(c) : null;
            BatchNormKernels.Backward(n, c, s, xc.Span, gy.ContiguousData().Span, gc.Span, mean, variance, eps, training,
                dx is null ? default : dx.Span, dg is null ? default : dg.Span, db is null ? default : db.Span);
            return new[] { dx, dg, db };
        }, x, gamma, beta));
    }
}
