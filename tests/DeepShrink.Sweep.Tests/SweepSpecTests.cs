namespace DeepShrink.Sweep.Tests;

public class SweepSpecTests : IClassFixture<SweepFixture>
{
    private readonly SweepFixture _f;
    public SweepSpecTests(SweepFixture f) => _f = f;

    [Fact]
    public void GridHasOneJobPerPointWithTheAxisValueInItsRecipe()
    {
        var plan = _f.Plan();
        Assert.Equal(12, plan.Jobs.Count);
        Assert.Equal(12, plan.Jobs.Select(j => j.Id).Distinct().Count());
        var j5 = plan.Jobs[5];   // last axis fastest: seed index 1, sparsity index 1
        Assert.Equal("2", j5.Axes["seed"]);
        Assert.Equal(2UL, j5.Seed);
        Assert.Equal("0.7", j5.Axes["recipe.components.pruner.sparsity"]);
        var recipe = Compression.Recipes.RecipeLoader.Parse(j5.RecipeYaml, "x");
        Assert.Equal(0.7, recipe.Find<Compression.Recipes.PruningSpec>()!.Sparsity!.Value, 12);
        // same inputs, same id (resume key); another seed, another id
        Assert.Equal(plan.Jobs.Select(j => j.Id), _f.Plan().Jobs.Select(j => j.Id));
    }

    [Theory]
    [InlineData("recipe.components.prunr.sparsity: [0.5]", "the recipe has no 'components.prunr'")]
    [InlineData("recipe.components.pruner.sparsity: [2.5]", "sparsity")]
    [InlineData("recipe.policies.7.end_epoch: [1]", "not an index")]
    [InlineData("threads: [1]", "axis 'threads' is not seed, max_drop or recipe.PATH")]
    [InlineData("seed: [-1]", "non-negative integers")]
    [InlineData("max_drop: [150]", "[0, 100]")]
    public void BadAxesFailBeforeAnyJobWithAMessageNamingThem(string axis, string expected)
    {
        var path = Path.Combine(_f.Dir, $"bad-{Math.Abs(axis.GetHashCode())}.yaml");
        File.WriteAllText(path, $"model: base.safetensors\nrecipe: quick.yaml\naxes:\n  {axis}\n");
        var e = Assert.Throws<SweepSpecException>(() => SweepPlan.Create(SweepSpec.Load(path)));
        Assert.Contains(expected, e.Message);
        Assert.DoesNotContain('\n', e.Message);
    }

    [Fact]
    public void UnknownSpecKeyIsAnError()
    {
        var e = Assert.Throws<SweepSpecException>(() => SweepSpec.Parse("model: m\nrecipe: r\nworkers: 3\naxes: {seed: [1]}\n", "s.yaml"));
        Assert.Contains("unknown key 'workers'", e.Message);
    }

    [Fact]
    public void ParetoFrontKeepsOnlyUndominatedPointsWithinBudget()
    {
        PointResult R(int i, long bytes, double acc, double ms, bool met = true) => new() { Index = i, Id = i.ToString(), CompressedBytes = bytes, CompressedAccuracy = acc, LatencyMs = ms, BudgetMet = met };
        var rows = new[] { R(0, 100, 0.9, 1), R(1, 50, 0.8, 1), R(2, 120, 0.85, 1), R(3, 40, 0.95, 1, met: false), R(4, 100, 0.9, 0.5) };
        var front = SweepResults.ParetoFront(rows).Select(r => r.Index).ToArray();
        Assert.Equal(new[] { 1, 4 }, front);   // 0 is dominated by 4 (faster), 2 by 0 and 4, 3 is over budget
    }

    [Fact]
    public void ClusterConfigRejectsNonsense()
    {
        Assert.Contains("clustering must be", Assert.Throws<SweepSpecException>(() => Cluster.ClusterConfig.Parse("clustering: zookeeper\n", "c.yaml")).Message);
        Assert.Contains("needs a connection_string", Assert.Throws<SweepSpecException>(() => Cluster.ClusterConfig.Parse("clustering: redis\n", "c.yaml")).Message);
        Assert.Contains("port", Assert.Throws<SweepSpecException>(() => Cluster.ClusterConfig.Parse("gateways: [70000]\n", "c.yaml")).Message);
        var c = Cluster.ClusterConfig.Parse("clustering: adonet\nconnection_string: Host=db;Database=orleans\ngateways: [30000, 30001]\n", "c.yaml");
        Assert.Equal(Cluster.ClusteringKind.AdoNet, c.Clustering);
        Assert.Equal(new[] { 30000, 30001 }, c.Gateways);
    }
}
