using DeepShrink.Core;

namespace DeepShrink.Compression.Pruning;

/// <summary>
/// Layer-wise Optimal Brain Surgeon (Hassibi and Stork 1993; L-OBS, Dong et al. 2017; OBC, Frantar and
/// Alistarh 2022): prunes a linear layer's weight rows one weight at a time and updates the remaining
/// weights of the row to compensate, using the Hessian H = 2 X X^T / n of the layer-wise error.
/// </summary>
/// <remarks>
/// For a row w the step removing weight q costs dE = w_q^2 / (2 [H^-1]_qq) and the optimal
/// compensation is dw = -w_q / [H^-1]_qq * H^-1[:, q]; after it H^-1 loses row and column q by the
/// rank-one downdate H^-1 - H^-1[:, q] H^-1[q, :] / [H^-1]_qq. Greedy removal of the cheapest weight is
/// OBC's exact per-row algorithm: since the error is quadratic, the surviving weights are at every
/// step the least-squares re-fit of the row on the kept inputs. Rows are independent (H is shared),
/// so they run in parallel. With <see cref="ObsOptions.BalanceRows"/> the layer's removals are
/// allocated across rows by the step losses (monotone per row), as OBC's global selection.
/// A convolution is pruned as the linear map of its weights [O, C KH KW] over im2col inputs.
/// </remarks>
public static class OptimalBrainSurgeon
{
    /// <summary>(H + lambda mean(diag H) I)^-1 of a [dim, dim] Hessian, in float64.</summary>
    public static double[] InverseHessian(ReadOnlySpan<double> hessian, int dim, double damping)
    {
        if (hessian.Length != (long)dim * dim) throw new ArgumentException($"expected a {dim} x {dim} Hessian, got {hessian.Length} values");
        if (!(damping >= 0)) throw new ArgumentOutOfRangeException(nameof(damping), $"damping must be >= 0, got {damping}");
        var h = hessian.ToArray();
        double mean = 0;
        for (int j = 0; j < dim; j++) mean += h[j * dim + j];
        mean /= dim;
        double add = damping * (mean > 0 ? mean : 1.0);
        for (int j = 0; j < dim; j++) h[j * dim + j] += add;
        return SpdInverse.Invert(h, dim);
    }

    /// <summary>Prunes a layer to one sparsity.</summary>
    public static ObsResult Prune(ReadOnlySpan<float> weights, int rows, LayerHessian hessian, double sparsity, ObsOptions? options = null) // [rows, hessian.Dim]
    {
        var o = options ?? new ObsOptions();
        o.Validate();
        var hinv = InverseHessian(hessian.Matrix(), hessian.Dim, o.Damping);
        return PruneLevels(weights, rows, hinv, new[] { sparsity }, o)[0];
    }

    /// <summary>
    /// Prunes a layer to several sparsities at once (the greedy path is shared, so this costs about as
    /// much as the highest one). <paramref name="inverseHessian"/> comes from <see cref="InverseHessian"/>.
    /// </summary>
    public static IReadOnlyList<ObsResult> PruneLevels(ReadOnlySpan<float> weights, int rows, double[] inverseHessian, IReadOnlyList<double> sparsities, ObsOptions? options = null) // [rows, cols], [cols, cols]
    {
        var o = options ?? new ObsOptions();
        o.Validate();
        if (rows <= 0 || weights.Length % rows != 0) throw new ArgumentException($"{weights.Length} weights do not form {rows} rows");
        int d = weights.Length / rows;
        if (inverseHessian.Length != (long)d * d) throw new ArgumentException($"inverse Hessian has {inverseHessian.Length} values, rows have {d} weights (expected {d} x {d})");
        foreach (var s in sparsities) ScoreMasks.CheckSparsity(s);
        int levels = sparsities.Count;
        var order = Enumerable.Range(0, levels).OrderBy(l => sparsities[l]).ToArray(); // ascending sparsity
        var counts = o.BalanceRows ? BalancedCounts(weights, rows, d, inverseHessian, sparsities, order, o)
                                   : UniformCounts(rows, d, sparsities, order);
        var w = weights.ToArray();
        var outW = new float[levels][];
        var outM = new float[levels][];
        for (int l = 0; l < levels; l++) { outW[l] = new float[w.Length]; outM[l] = new float[w.Length]; }
        var rowLoss = new double[rows, levels];
        ForRows(rows, d, o, (solver, r) =>
        {
            var stops = new int[levels];
            for (int i = 0; i < levels; i++) stops[i] = counts[r, order[i]];
            int steps = stops[^1];
            var snapW = new float[levels * d];
            var snapM = new float[levels * d];
            var loss = new double[steps];
            solver.Run(inverseHessian, w.AsSpan(r * d, d), steps, stops, snapW, snapM, loss);
            for (int i = 0; i < levels; i++)
            {
                int l = order[i];
                snapW.AsSpan(i * d, d).CopyTo(outW[l].AsSpan(r * d, d));
                snapM.AsSpan(i * d, d).CopyTo(outM[l].AsSpan(r * d, d));
                rowLoss[r, l] = loss.AsSpan(0, stops[i]).ToArray().Sum();
            }
        });
        return Enumerable.Range(0, levels)
            .Select(l => new ObsResult(sparsities[l], outW[l], outM[l], Enumerable.Range(0, rows).Sum(r => rowLoss[r, l])))
            .ToArray();
    }

    /// <summary>The same number of removals in every row (the remainder spread over the first rows).</summary>
    private static int[,] UniformCounts(int rows, int d, IReadOnlyList<double> sparsities, int[] order)
    {
        var counts = new int[rows, sparsities.Count];
        for (int l = 0; l < sparsities.Count; l++)
        {
            long total = (long)Math.Round(sparsities[l] * rows * d);
            for (int r = 0; r < rows; r++) counts[r, l] = (int)(total / rows + (r < total % rows ? 1 : 0));
        }
        return counts;
    }

    /// <summary>
    /// OBC's global selection: every row's full greedy path gives step losses; made monotone by a running
    /// maximum, the layer's round(s rows d) cheapest steps are prefixes of the rows' paths.
    /// </summary>
    private static int[,] BalancedCounts(ReadOnlySpan<float> weights, int rows, int d, double[] hinv, IReadOnlyList<double> sparsities, int[] order, ObsOptions o)
    {
        var w = weights.ToArray();
        var cost = new double[(long)rows * d];
        ForRows(rows, d, o, (solver, r) =>
        {
            var loss = cost.AsSpan(r * d, d);
            solver.Run(hinv, w.AsSpan(r * d, d), d, ReadOnlySpan<int>.Empty, Span<float>.Empty, Span<float>.Empty, loss);
            for (int k = 1; k < d; k++) loss[k] = Math.Max(loss[k], loss[k - 1]);
        });
        var ranking = ScoreMasks.Ranking(cost); // ties: lower row, then earlier step
        var counts = new int[rows, sparsities.Count];
        var running = new int[rows];
        int taken = 0;
        foreach (int l in order)
        {
            long target = (long)Math.Round(sparsities[l] * rows * d);
            for (; taken < target; taken++) running[ranking[taken] / d]++;
            for (int r = 0; r < rows; r++) counts[r, l] = running[r];
        }
        return counts;
    }

    private static void ForRows(int rows, int d, ObsOptions o, Action<ObsRowSolver, int> body)
    {
        int threads = o.Threads > 0 ? o.Threads : Parallelism.Degree;
        Parallel.For(0, rows, new ParallelOptions { MaxDegreeOfParallelism = threads },
            () => new ObsRowSolver(d, o.BlockSize), (r, _, solver) => { body(solver, r); return solver; }, _ => { });
    }
}
