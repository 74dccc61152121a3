namespace DeepShrink.Core.Autograd;

/// <summary>
/// Compares analytic gradients with central finite differences evaluated in float64.
/// </summary>
/// <remarks>
/// The scalar objective is L = sum_i f(x)_i * r_i with a fixed random projection r, accumulated in
/// double. Each input element is perturbed by +-h and dL/dx is estimated as (L+ - L-) / 2h in double.
/// </remarks>
public static class GradCheck
{
    /// <summary>Result of a gradient check: the worst mismatch found.</summary>
    /// <param name="WorstRatio">max over elements of |numeric - analytic| / (absTol + relTol * max(|numeric|, |analytic|)); at most 1 passes.</param>
    /// <param name="Where">The worst element, with both values.</param>
    public sealed record Result(double WorstRatio, string Where)
    {
        /// <summary>True when every element is within tolerance.</summary>
        public bool Ok => WorstRatio <= 1.0;
    }

    /// <summary>
    /// Checks d(sum(f(inputs) * r))/d(inputs). Inputs must be contiguous leaves with RequiresGrad set.
    /// </summary>
    public static Result Check(Func<Tensor[], Tensor> f, Tensor[] inputs, double absTol = 2e-3, double relTol = 2e-2, double h = 1e-2, ulong seed = 1234)
    {
        var rng = new Rng(seed);
        foreach (var t in inputs) { t.Grad = null; if (!t.IsContiguous) throw new ArgumentException("inputs must be contiguous"); }
        var y = f(inputs);
        var r = Tensor.Uniform(rng, -1f, 1f, y.Shape);
        y.Backward(r);
        double worst = 0; string where = "";
        for (int ti = 0; ti < inputs.Length; ti++)
        {
            var t = inputs[ti];
            if (!t.RequiresGrad) continue;
            var analytic = t.Grad?.ToArray() ?? new float[t.Size];
            var data = t.Storage;
            for (int i = 0; i < t.Size; i++)
            {
                float orig = data[t.Offset + i];
                data[t.Offset + i] = (float)(orig + h);
                double lp = Objective(f, inputs, r);
                data[t.Offset + i] = (float)(orig - h);
                double lm = Objective(f, inputs, r);
                data[t.Offset + i] = orig;
                double num = (lp - lm) / (2 * h);
                double ratio = Math.Abs(num - analytic[i]) / (absTol + relTol * Math.Max(Math.Abs(num), Math.Abs(analytic[i])));
                if (ratio > worst || where.Length == 0) { worst = ratio; where = $"input {ti} element {i}: numeric {num:G6} analytic {analytic[i]:G6}"; }
            }
        }
        return new Result(worst, where);
    }

    private static double Objective(Func<Tensor[], Tensor> f, Tensor[] inputs, Tensor r)
    {
        using var _ = Engine.NoGrad();
        var y = f(inputs).ToArray();
        var rs = r.ToArray();
        double s = 0;
        for (int i = 0; i < y.Length; i++) s += (double)y[i] * rs[i];
        return s;
    }
}
