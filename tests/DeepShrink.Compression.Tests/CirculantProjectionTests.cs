using DeepShrink.Compression.Structured;
using DeepShrink.Core;
using DeepShrink.Core.Kernels;

namespace DeepShrink.Compression.Tests;

/// <summary>
/// <see cref="CirculantProjection"/>: a block-circulant matrix projects onto itself, the residual is
/// orthogonal to block-circulant matrices, and no perturbation of the projection comes closer to W.
/// </summary>
public class CirculantProjectionTests
{
    private static double[] DenseOf(BlockCirculantShape shape, Tensor blocks, Tensor? signs) =>
        BlockCirculantReference.Dense(shape, blocks.ToArray(), signs is null ? default : signs.ToArray());

    private static double Distance(float[] w, double[] m)
    {
        double s = 0;
        for (int i = 0; i < w.Length; i++) s += (w[i] - m[i]) * (w[i] - m[i]);
        return Math.Sqrt(s);
    }

    [Theory]
    [InlineData(1, 1, 16, false)]
    [InlineData(1, 1, 64, true)]
    [InlineData(3, 2, 8, true)]
    [InlineData(2, 2, 12, true)]
    public void A_block_circulant_matrix_projects_onto_itself(int p, int q, int b, bool useSigns)
    {
        var rng = new Rng((ulong)(p * 100 + q * 10 + b));
        var shape = new BlockCirculantShape(p, q, b);
        var blocks = Tensor.Uniform(rng, -1f, 1f, p, q, b);
        var signs = useSigns ? Ops.RandomSigns(shape.In, 9) : null;
        var w = DenseOf(shape, blocks, signs).Select(v => (float)v).ToArray();
        var back = CirculantProjection.Project(new Tensor(w, shape.Out, shape.In), b, signs);
        Assert.Equal(blocks.Shape, back.Shape);
        Assert.Equal(blocks.ToArray(), back.ToArray()); // the mean of b equal floats is exact
    }

    [Theory]
    [InlineData(1, 1, 32, false)]
    [InlineData(2, 3, 8, true)]
    public void Projection_is_the_nearest_block_circulant_matrix(int p, int q, int b, bool useSigns)
    {
        var rng = new Rng((ulong)(7000 + p * 100 + q * 10 + b));
        var shape = new BlockCirculantShape(p, q, b);
        var w = Tensor.Uniform(rng, -1f, 1f, shape.Out, shape.In).ToArray();
        var signs = useSigns ? Ops.RandomSigns(shape.In, 21) : null;
        var proj = CirculantProjection.Project(new Tensor(w, shape.Out, shape.In), b, signs);
        var pm = DenseOf(shape, proj, signs);
        double best = Distance(w, pm);

        // The residual W - P is orthogonal to every block-circulant matrix (here: random ones).
        for (int t = 0; t < 5; t++)
        {
            var e = DenseOf(shape, Tensor.Uniform(rng, -1f, 1f, p, q, b), signs);
            double dot = 0, norm = 0;
            for (int i = 0; i < w.Length; i++) { dot += (w[i] - pm[i]) * e[i]; norm += e[i] * e[i]; }
            Assert.True(Math.Abs(dot) <= 1e-5 * Math.Sqrt(norm) * best, $"residual not orthogonal: <W - P, E> = {dot:G3}");
        }
        // Any perturbation of the defining vectors moves further away from W.
        foreach (float eps in new[] { 1e-1f, 1e-2f, 1e-3f })
            for (int t = 0; t < 10; t++)
            {
                var pert = proj.ToArray();
                for (int i = 0; i < pert.Length; i++) pert[i] += eps * (2f * rng.NextFloat() - 1f);
                double d = Distance(w, DenseOf(shape, new Tensor(pert, p, q, b), signs));
                Assert.True(d > best, $"perturbation by {eps} got closer: {d:G9} <= {best:G9}");
            }
    }

    [Fact]
    public void Bad_shapes_give_clear_errors()
    {
        var e = Assert.Throws<ArgumentException>(() => CirculantProjection.Project(new Tensor(48, 64), 32));
        Assert.Contains("must divide", e.Message);
        Assert.Contains("must divide", Assert.Throws<ArgumentException>(() => CirculantProjection.Project(new Tensor(24, 24), 0)).Message);
        Assert.Contains("signs must be [64]", Assert.Throws<ArgumentException>(() => CirculantProjection.Project(new Tensor(64, 64), 64, Tensor.Ones(32))).Message);
    }
}
