using DeepShrink.Core;
using DeepShrink.Core.Autograd;
using DeepShrink.Core.Graph;
using DeepShrink.Nn;

namespace DeepShrink.Compression.Pruning.Channels;

/// <summary>
/// Importance of each channel unit (indexed by <see cref="ChannelUnit.Id"/>; fixed units get NaN), by the criteria
/// of structured pruning. A unit spanning several layers (a residual chain) sums over them.
/// </summary>
public static class ChannelImportance
{
    /// <summary>Criterion names accepted by <see cref="Compute"/>.</summary>
    public static readonly IReadOnlyList<string> Criteria = ["l1", "l2", "bn-scale", "taylor", "reconstruction"];

    /// <summary>
    /// Filter norms (Li et al. 2017, "Pruning Filters for Efficient ConvNets"): the L1 (p = 1) or L2 (p = 2) norm of
    /// each producer's output row (the filter), summed over the unit's producers.
    /// </summary>
    public static double[] Magnitude(ChannelDependencies d, IReadOnlyDictionary<string, Tensor> tensors, int p)
    {
        var imp = Empty(d);
        foreach (var u in d.Units.Where(u => u.Prunable))
        {
            double s = 0;
            foreach (var (n, c) in u.Producers)
            {
                double rowSum = 0;
                foreach (var v in Row(tensors[n.Params["weight"]], c)) rowSum += p == 1 ? Math.Abs(v) : (double)v * v;
                s += p == 1 ? rowSum : Math.Sqrt(rowSum);
            }
            imp[u.Id] = s;
        }
        return imp;
    }

    /// <summary>
    /// Network slimming (Liu et al. 2017): |gamma| of the batch norms scaling the channel, summed; units without a batch
    /// norm fall back to the L2 filter norm (their group then ranks by it, as no unit of the group has a scale).
    /// </summary>
    public static double[] BatchNormScale(ChannelDependencies d, IReadOnlyDictionary<string, Tensor> tensors)
    {
        var imp = Magnitude(d, tensors, 2);
        foreach (var u in d.Units.Where(u => u.Prunable && u.Norms.Count > 0))
            imp[u.Id] = u.Norms.Sum(nc => Math.Abs((double)tensors[nc.Node.Params["weight"]].ContiguousData().Span[nc.Channel]));
        return imp;
    }

    /// <summary>
    /// First-order Taylor importance (Molchanov et al. 2019, "Importance Estimation for Neural Network Pruning"):
    /// I = (sum over the unit's parameters of g w)^2 per minibatch, averaged over <paramref name="batches"/>; the unit's
    /// parameters are its producers' rows and biases and its batch norms' scales and shifts. The model runs in eval mode.
    /// </summary>
    public static double[] Taylor(ChannelDependencies d, Module model, IEnumerable<(Tensor X, int[] Y)> batches, Func<Tensor, Tensor, int[], Tensor> loss)
    {
        var imp = Empty(d);
        foreach (var u in d.Units.Where(u => u.Prunable)) imp[u.Id] = 0;
        var ps = model.NamedParameters().ToDictionary(p => p.Name, p => p.Param, StringComparer.Ordinal);
        bool was = model.Training;
        int count = 0;
        try
        {
            model.Eval();
            foreach (var (x, y) in batches)
            {
                model.ZeroGrad();
                loss(model.Call(x), x, y).Backward();
                foreach (var u in d.Units.Where(u => u.Prunable))
                {
                    double s = 0;
                    foreach (var (n, c) in u.Producers) s += GradDot(ps, n, "weight", c) + GradDot(ps, n, "bias", c);
                    foreach (var (n, c) in u.Norms) s += GradDot(ps, n, "weight", c) + GradDot(ps, n, "bias", c);
                    imp[u.Id] += s * s;
                }
                count++;
            }
        }
        finally
        {
            model.ZeroGrad();
            model.Train(was);
        }
        if (count == 0) throw new InvalidOperationException("taylor importance needs at least one training batch");
        foreach (var u in d.Units.Where(u => u.Prunable)) imp[u.Id] /= count;
        return imp;
    }

    /// <summary>
    /// Data-driven reconstruction importance (the objective of ThiNet, Luo et al. 2017, and of least-squares channel
    /// selection): the energy the channel contributes to the outputs of the layers that read it,
    /// E ||W[:, S] x_S||^2 = tr(W_S H_SS W_S^T) / 2 with the layer-wise H = 2 E[x x^T] over calibration data (S: the
    /// channel's input columns, kh x kw per channel for a convolution, H x W after a flatten). Units read by no layer
    /// with a Hessian fall back to the L2 filter norm.
    /// </summary>
    public static double[] Reconstruction(ChannelDependencies d, IReadOnlyDictionary<string, Tensor> tensors, IReadOnlyDictionary<string, LayerHessian> hessians)
    {
        var imp = Magnitude(d, tensors, 2);
        var matrices = hessians.ToDictionary(kv => kv.Key, kv => kv.Value.Matrix(), StringComparer.Ordinal);
        foreach (var u in d.Units.Where(u => u.Prunable))
        {
            double s = 0;
            bool any = false;
            foreach (var (n, c, block) in u.Consumers)
            {
                if (!matrices.TryGetValue(n.Name, out var h)) continue;
                any = true;
                var w = tensors[n.Params["weight"]].ContiguousData();
                int cols = w.Size / w.Shape[0], width = n.Op == "linear" ? block : cols / w.Shape[1];
                s += ContributionEnergy(w.Span, w.Shape[0], cols, h, c * width, width) / 2;
            }
            if (any) imp[u.Id] = s;
        }
        return imp;
    }

    /// <summary>tr(W_S H_SS W_S^T) for the columns S = [start, start + width) of W [rows, cols] and a symmetric H [cols, cols].</summary>
    public static double ContributionEnergy(ReadOnlySpan<float> w, int rows, int cols, double[] h, int start, int width)
    {
        double e = 0;
        for (int r = 0; r < rows; r++)
        {
            var row = w.Slice(r * cols + start, width);
            for (int i = 0; i < width; i++)
            {
                double hw = 0;
                for (int j = 0; j < width; j++) hw += h[(long)(start + i) * cols + start + j] * row[j];
                e += row[i] * hw;
            }
        }
        return e;
    }

    /// <summary>Dispatches on a criterion name (<see cref="Criteria"/>) for criteria that need only the tensors.</summary>
    public static double[] Compute(string criterion, ChannelDependencies d, IReadOnlyDictionary<string, Tensor> tensors) => criterion switch
    {
        "l1" => Magnitude(d, tensors, 1),
        "l2" => Magnitude(d, tensors, 2),
        "bn-scale" => BatchNormScale(d, tensors),
        _ => throw new ArgumentException($"channel importance '{criterion}' needs data (one of {string.Join(", ", Criteria)})"),
    };

    private static double GradDot(Dictionary<string, Tensor> ps, GraphNode n, string role, int c)
    {
        if (!n.Params.TryGetValue(role, out var name) || !ps.TryGetValue(name, out var p) || p.Grad is not { } g) return 0;
        var w = Row(p, c);
        var gr = Row(g, c);
        double s = 0;
        for (int i = 0; i < w.Length; i++) s += (double)w[i] * gr[i];
        return s;
    }

    private static ReadOnlySpan<float> Row(Tensor t, int c)
    {
        var data = t.ContiguousData();
        int inner = data.Size / data.Shape[0];
        return data.Span.Slice(c * inner, inner);
    }

    private static double[] Empty(ChannelDependencies d) => Enumerable.Repeat(double.NaN, d.Units.Count).ToArray();
}
