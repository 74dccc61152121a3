using DeepShrink.Compression.Pruning;
using static DeepShrink.Compression.Tests.PruningMath;

namespace DeepShrink.Compression.Tests;

public class OptimalBrainSurgeonTests
{
    private const int N = 200, D = 12;

    /// <summary>Calibration inputs with correlated features, so the re-fit matters.</summary>
    private static float[] Inputs()
    {
        var x = Gaussian(7, N, D);
        for (int i = 0; i < N; i++)
            for (int j = 1; j < D; j++) x[i * D + j] += 0.6f * x[i * D + j - 1];
        return x;
    }

    private static (float[] X, float[] W0, double[] Hinv) Regression(int rows)
    {
        var x = Inputs();
        // Rows are least-squares fits of noisy targets, as a trained linear regressor would be.
        var truth = Gaussian(11, rows, D);
        var noise = Gaussian(13, rows, N, 0.3);
        var w0 = new float[rows * D];
        for (int r = 0; r < rows; r++)
        {
            var t = Apply(x, N, D, truth.AsSpan(r * D, D));
            for (int i = 0; i < N; i++) t[i] += noise[r * N + i];
            var fit = LeastSquares(x, N, D, Enumerable.Range(0, D).ToArray(), t);
            for (int j = 0; j < D; j++) w0[r * D + j] = (float)fit[j];
        }
        var h = new LayerHessian(D);
        h.AddRows(x, N);
        return (x, w0, OptimalBrainSurgeon.InverseHessian(h.Matrix(), D, damping: 0));
    }

    [Theory]
    [InlineData(false, 0.25)]
    [InlineData(false, 0.75)]
    [InlineData(true, 0.5)]
    public void SurvivingWeights_AreTheExactLeastSquaresRefit_OfTheKeptInputs(bool balance, double sparsity)
    {
        const int rows = 3;
        var (x, w0, hinv) = Regression(rows);
        var r = OptimalBrainSurgeon.PruneLevels(w0, rows, hinv, new[] { sparsity }, new ObsOptions { BalanceRows = balance, BlockSize = 4 })[0];
        Assert.Equal((int)Math.Round(sparsity * rows * D), r.Mask.Count(m => m == 0f));
        for (int row = 0; row < rows; row++)
        {
            var kept = Enumerable.Range(0, D).Where(j => r.Mask[row * D + j] != 0f).ToArray();
            // Reduced normal equations against the dense row's outputs (w0 is that objective's optimum).
            var v = LeastSquares(x, N, D, kept, Apply(x, N, D, w0.AsSpan(row * D, D)));
            for (int a = 0; a < kept.Length; a++) Assert.Equal(v[a], r.Weights[row * D + kept[a]], 4);
            for (int j = 0; j < D; j++) if (r.Mask[row * D + j] == 0f) Assert.Equal(0f, r.Weights[row * D + j]);
        }
        // The reported loss is the actual increase of the layer-wise error.
        double actual = LayerError(x, N, D, r.Weights, w0);
        Assert.Equal(actual, r.Loss, Math.Max(1e-6, actual * 1e-4));
    }

    [Fact]
    public void FirstRemoval_IsTheCheapestSingleWeight_AfterRefitting()
    {
        var (x, w0, hinv) = Regression(1);
        var r = OptimalBrainSurgeon.PruneLevels(w0, 1, hinv, new[] { 1.0 / D })[0];
        int chosen = Array.IndexOf(r.Mask, 0f);
        var target = Apply(x, N, D, w0);
        double Err(int q)
        {
            var kept = Enumerable.Range(0, D).Where(j => j != q).ToArray();
            var v = LeastSquares(x, N, D, kept, target);
            var w = new float[D];
            for (int a = 0; a < kept.Length; a++) w[kept[a]] = (float)v[a];
            return LayerError(x, N, D, w, w0);
        }
        var errs = Enumerable.Range(0, D).Select(Err).ToArray();
        Assert.Equal(errs.Min(), errs[chosen], 6);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(5)]
    [InlineData(32)]
    public void BlockedSolver_MatchesTheRankOneReference(int block)
    {
        const int d = 70, rows = 3, steps = 50;
        var hinv = RandomSpd(21, d);
        var w = Gaussian(22, rows, d);
        var r = OptimalBrainSurgeon.PruneLevels(w, rows, hinv, new[] { (double)steps / d, 0.2 }, new ObsOptions { BalanceRows = false, BlockSize = block });
        for (int row = 0; row < rows; row++)
        {
            var (rw, rm, rl) = ObsReference.PruneRow(hinv, w.AsSpan(row * d, d), steps);
            for (int j = 0; j < d; j++)
            {
                Assert.Equal(rm[j], r[0].Mask[row * d + j]);
                Assert.Equal(rw[j], r[0].Weights[row * d + j], 4);
            }
        }
        double refLoss = Enumerable.Range(0, rows).Sum(row => ObsReference.PruneRow(hinv, w.AsSpan(row * d, d), steps).StepLoss.Sum());
        Assert.Equal(refLoss, r[0].Loss, refLoss * 1e-9);
        // The lower level is a prefix of the same greedy path.
        var (_, lowMask, _) = ObsReference.PruneRow(hinv, w.AsSpan(0, d), (int)Math.Round(0.2 * rows * d) / rows);
        Assert.Equal(lowMask, r[1].Mask.AsSpan(0, d).ToArray());
    }

    [Fact]
    public void BalancedRows_SpendTheBudgetWhereItIsCheap_AndHitTheLayerSparsity()
    {
        const int d = 40, rows = 4;
        var hinv = RandomSpd(31, d);
        var w = Gaussian(32, rows, d);
        for (int j = 0; j < d; j++) w[j] *= 0.01f; // row 0 is nearly free to prune
        var levels = new[] { 0.9, 0.3, 0.6 };
        var res = OptimalBrainSurgeon.PruneLevels(w, rows, hinv, levels, new ObsOptions { BalanceRows = true, BlockSize = 8 });
        for (int l = 0; l < levels.Length; l++)
        {
            Assert.Equal(levels[l], res[l].Sparsity);
            Assert.Equal((int)Math.Round(levels[l] * rows * d), res[l].Mask.Count(m => m == 0f));
        }
        Assert.True(res[1].Mask.AsSpan(0, d).ToArray().Count(m => m == 0f) > 0.3 * d, "the cheap row should be pruned beyond the layer average");
        // Each row's weights are the reference path's at that row's count.
        for (int row = 0; row < rows; row++)
        {
            int k = res[2].Mask.AsSpan(row * d, d).ToArray().Count(m => m == 0f);
            var (rw, _, _) = ObsReference.PruneRow(hinv, w.AsSpan(row * d, d), k);
            for (int j = 0; j < d; j++) Assert.Equal(rw[j], res[2].Weights[row * d + j], 4);
        }
        var uniform = OptimalBrainSurgeon.PruneLevels(w, rows, hinv, new[] { 0.6 }, new ObsOptions { BalanceRows = false })[0];
        Assert.True(res[2].Loss < uniform.Loss, $"balanced loss {res[2].Loss} should be below uniform {uniform.Loss}");
    }

    [Fact]
    public void BadInputs_GiveClearErrors()
    {
        var hinv = RandomSpd(1, 4);
        Assert.Throws<ArgumentException>(() => OptimalBrainSurgeon.PruneLevels(new float[10], 3, hinv, new[] { 0.5 }));
        Assert.Throws<ArgumentException>(() => OptimalBrainSurgeon.PruneLevels(new float[6], 2, hinv, new[] { 0.5 }));
        Assert.Throws<ArgumentOutOfRangeException>(() => OptimalBrainSurgeon.PruneLevels(new float[8], 2, hinv, new[] { 1.5 }));
        var notPd = new double[] { 1, 2, 2, 1 };
        var e = Assert.Throws<InvalidOperationException>(() => OptimalBrainSurgeon.InverseHessian(notPd, 2, 0));
        Assert.Contains("damping", e.Message);
    }
}
