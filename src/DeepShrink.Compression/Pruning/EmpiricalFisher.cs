using DeepShrink.Core;
using DeepShrink.Nn;

namespace DeepShrink.Compression.Pruning;

/// <summary>
/// Diagonal of the empirical Fisher information, F_qq = 1/N sum_i (d loss_i / d w_q)^2, from per-sample
/// gradients over a calibration set: the Hessian diagonal approximation of Optimal Brain Damage.
/// </summary>
/// <remarks>
/// Near a minimum of a log-likelihood loss the Fisher approximates the Hessian (Martens 2014); each
/// sample is run as its own batch of one so that its gradient is its own (eval mode: no dropout,
/// batch norm uses running statistics). The model's gradients are cleared afterwards.
/// </remarks>
public static class EmpiricalFisher
{
    /// <summary>
    /// Mean squared per-sample gradients of the named parameters over all samples of
    /// <paramref name="batches"/>; <paramref name="loss"/> maps (output, labels) to a mean loss
    /// (default: cross-entropy).
    /// </summary>
    public static Dictionary<string, double[]> Diagonal(Module model, IEnumerable<(Tensor X, int[] Y)> batches,
        IEnumerable<string> parameterNames, Func<Tensor, int[], Tensor>? loss = null)
    {
        loss ??= (o, y) => Ops.CrossEntropy(o, y);
        var all = model.NamedParameters().ToDictionary(p => p.Name, p => p.Param);
        var names = parameterNames.ToArray();
        foreach (var n in names)
            if (!all.ContainsKey(n)) throw new ArgumentException($"model has no parameter '{n}'");
        var sums = names.ToDictionary(n => n, n => new double[all[n].Size]);
        bool was = model.Training;
        model.Eval();
        long count = 0;
        try
        {
            foreach (var (x, y) in batches)
            {
                var xc = x.ContiguousData();
                int per = xc.Size / y.Length;
                var shape = (int[])xc.Shape.Clone();
                shape[0] = 1;
                for (int i = 0; i < y.Length; i++)
                {
                    model.ZeroGrad();
                    var xi = Tensor.FromArray(xc.Span.Slice(i * per, per), shape);
                    loss(model.Call(xi), new[] { y[i] }).Backward();
                    foreach (var n in names)
                    {
                        if (all[n].Grad is not { } g) continue;
                        var gs = g.ContiguousData().Span;
                        var acc = sums[n];
                        for (int k = 0; k < acc.Length; k++) acc[k] += (double)gs[k] * gs[k];
                    }
                    count++;
                }
            }
        }
        finally { model.ZeroGrad(); model.Train(was); }
        if (count == 0) throw new ArgumentException("the calibration set is empty");
        foreach (var acc in sums.Values)
            for (int k = 0; k < acc.Length; k++) acc[k] /= count;
        return sums;
    }
}
