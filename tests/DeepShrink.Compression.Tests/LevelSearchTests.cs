using DeepShrink.Compression.Pipeline;
using DeepShrink.Compression.Recipes;
using DeepShrink.Core;
using DeepShrink.Nn;

namespace DeepShrink.Compression.Tests;

/// <summary>The two-sided level search over full attempts, and the runner keeping the sparsest passing attempt.</summary>
public class LevelSearchTests
{
    private const double MaxLevel = 1.0;

    // A size model: 100,000 B dense, shrinking steeply with the level (about 1,000 B at the sparsest).
    private static double Bytes(double level) => 100_000 * Math.Exp(-4.6 * level);

    // Runs the search as the runner does: attempt, record, next, until done or out of attempts.
    private static (LevelSearch Search, List<double> Levels) Run(Func<double, double> loss, double start, double budget = 0.3, int maxAttempts = 30)
    {
        var search = new LevelSearch(Bytes, MaxLevel, budget);
        var levels = new List<double>();
        double? level = start;
        while (level is double l && levels.Count < maxAttempts)
        {
            levels.Add(l);
            search.Record(l, loss(l));
            level = search.Next();
        }
        return (search, levels);
    }

    [Theory]
    [InlineData(0.05, 0.3)]   // the edge far above the start: grows, then brackets
    [InlineData(0.6, 0.3)]    // the start already over the edge: moves denser
    [InlineData(0.35, 0.3)]
    [InlineData(0.05, 1.0)]
    public void FindsTheSparsestPassingLevel_OnAMonotoneDropCurve_WithinTheResolution(double start, double budget)
    {
        // Drop: nothing until 0.3, then steep (0.3 pp at level 0.45 for the 0.3 budget) - the shape measured on LeNet-300-100.
        static double Loss(double level) => level < 0.3 ? -0.05 : -0.05 + 35 * Math.Pow(level - 0.3, 2) * (level - 0.3 + 1);
        double edge = Bisect(l => Loss(l) <= budget, 0, MaxLevel);
        var (search, levels) = Run(Loss, start, budget);
        Assert.True(search.Passing is not null, "some level passes");
        double p = search.Passing!.Value;
        Assert.True(Loss(p) <= budget, $"kept level {p} loses {Loss(p)} > {budget}");
        Assert.True(p <= edge + 1e-9, $"kept level {p} beyond the edge {edge}");
        // Within the resolution of the sparsest passing level, in predicted size.
        Assert.True(Bytes(p) <= Bytes(edge) * (1 + search.Resolution) * (1 + 1e-9), $"kept {Bytes(p):F0} B, the edge {Bytes(edge):F0} B");
        Assert.True(levels.Count <= 10, $"{levels.Count} attempts: {string.Join(", ", levels)}");
    }

    [Fact]
    public void NeverKeepsAnAttemptOverBudget_AndOnlyMovesSparserThanThePassingLevel_UnderNoise()
    {
        // Noisy, non-monotone losses: whatever they are, the passing level is one whose recorded loss passed, and
        // every next level is sparser than the sparsest passing one and denser than the densest failing one above it.
        for (int seed = 1; seed <= 200; seed++)
        {
            var rng = new Random(seed);
            double Loss(double level) => 2 * level + (rng.NextDouble() - 0.5) * 0.8;
            var search = new LevelSearch(Bytes, MaxLevel, 0.3);
            double? level = rng.NextDouble() * 0.5;
            int n = 0;
            while (level is double l && n++ < 12)
            {
                if (search.Passing is double lo) Assert.True(l > lo, $"seed {seed}: next {l} not sparser than the passing {lo}");
                if (search.Failing is double hi) Assert.True(l < hi, $"seed {seed}: next {l} not denser than the failing {hi}");
                search.Record(l, Loss(l));
                level = search.Next();
            }
            if (search.Passing is double kept)
                Assert.Contains(search.Attempts, a => a.Level == kept && a.LossPp <= 0.3);
            Assert.All(search.Attempts.Where(a => a.Level == search.Passing), a => Assert.True(a.LossPp <= 0.3 || search.Attempts.Any(b => b.Level == a.Level && b.LossPp <= 0.3)));
        }
    }

    [Fact]
    public void StopsAtTheSparsestLevel_WhenEverythingPasses()
    {
        var (search, levels) = Run(_ => 0.0, 0.1);
        Assert.Equal(MaxLevel, search.Passing);
        Assert.Null(search.Failing);
        // One growth step per attempt: log(size ratio) / log(growth) steps, plus the start.
        Assert.Equal((int)Math.Ceiling(Math.Log(Bytes(0.1) / Bytes(MaxLevel)) / Math.Log(search.Growth)) + 1, levels.Count);
    }

    [Fact]
    public void MovesDenserFromAFailingStart_TowardsTheDenseModel()
    {
        // Everything over budget: the levels fall towards the dense model, and the search ends (nothing passes).
        var (search, levels) = Run(_ => 5.0, 0.5);
        Assert.Null(search.Passing);
        Assert.True(levels.Zip(levels.Skip(1)).All(p => p.Second < p.First), string.Join(", ", levels));
        Assert.True(levels.Count < 30);
    }

    [Fact]
    public void EndsWhenTheUnprunedModelItselfMisses()
    {
        var search = new LevelSearch(Bytes, MaxLevel, 0.3);
        search.Record(0, 0.5);
        Assert.Null(search.Next());
        search = new LevelSearch(Bytes, MaxLevel, 0.3);
        search.Record(0, 0.1);                  // the unpruned model passes: grow from it
        Assert.Equal(Bytes(0) / search.Growth, Bytes(search.Next()!.Value), 1e-3);
    }

    [Fact]
    public void LevelForBytes_InvertsTheSizeModel()
    {
        var search = new LevelSearch(Bytes, MaxLevel, 0.3);
        foreach (double b in new[] { 50_000.0, 10_000, 2_000 })
            Assert.Equal(b, Bytes(search.LevelForBytes(b)), b * 1e-6);
        Assert.Equal(MaxLevel, search.LevelForBytes(10));   // below the sparsest size: the sparsest level
        Assert.Equal(0, search.LevelForBytes(200_000));     // above the dense size: the dense model
    }

    private static double Bisect(Func<double, bool> ok, double lo, double hi)
    {
        for (int i = 0; i < 100; i++) { double m = (lo + hi) / 2; if (ok(m)) lo = m; else hi = m; }
        return lo;
    }

    // ---- the runner keeps the sparsest passing attempt ----

    private const string KindName = "test-attempt-levels";

    static LevelSearchTests() => CompressionMethods.Register(KindName, (name, m) => new LevelsSpec(name, m.Str("losses")!));

    // Sets w[0] of the only parameter to the attempt's "loss" (the validation drop in pp is w[0]); the list of losses
    // decides how many attempts there are and which pass.
    private sealed record LevelsSpec(string Name, string Losses) : ComponentSpec(Name, KindName)
    {
        public override ICompressionMethod CreateMethod(Recipe recipe, double budgetPp) => new LevelsMethod(Name, Losses.Split(',').Select(double.Parse).ToArray());
    }

    private static int s_attempt;

    private sealed class LevelsMethod(string name, double[] losses) : ICompressionMethod
    {
        public string Name => name;
        public int Order => 100;
        public void Apply(CompressionContext ctx, int epoch, int step, int steps)
        {
            ctx.Param("fc.weight").Span[0] = (float)losses[s_attempt];
            ctx.Masks.Set("fc.weight", [0f, 1f]);
            ctx.Plans["fc.weight"] = new LayerPlan { TargetSparsity = s_attempt / 10.0, Source = "test" };
        }
        public bool Advance(CompressionContext ctx, bool passed) => ++s_attempt < losses.Length;
    }

    [Theory]
    [InlineData("0.1,0.2,0.9", 2)]       // pass, pass, miss: the second is kept
    [InlineData("0.1,0.9,0.25,0.6", 3)]  // pass, miss, pass, miss: the third
    [InlineData("0.9,0.8", 2)]           // nothing passes: the last attempt stays (the test-set check then fails the run)
    [InlineData("0.1,0.2", 2)]           // the last attempt passes: it stays
    public void Runner_FinishesWithTheLatestPassingAttempt_WhenALaterOneMisses(string losses, int kept)
    {
        s_attempt = 0;
        var b = new NetBuilder([2], new Rng(3));
        var model = b.Finish(b.Linear("fc", b.Input, 1, bias: false));
        model.NamedParameters().First().Param.Span.Clear();
        var recipe = new Recipe
        {
            Name = "t",
            Components = new Dictionary<string, ComponentSpec> { ["p"] = new LevelsSpec("p", losses) },
            Policies = [new Policy("p", 0, 0, 0)],
        };
        var ctx = new CompressionContext
        {
            Model = model, TrainBatches = _ => [], BatchesPerEpoch = 0, Rng = new Rng(1),
            ValidationAccuracy = () => 0.9 - model.NamedParameters().First().Param.Span[0] / 100.0,
        };
        new RecipeRunner(recipe) { MaxDropPp = 0.3, MaxAttempts = 10 }.Run(ctx);
        var values = losses.Split(',').Select(double.Parse).ToArray();
        Assert.Equal(kept, ctx.KeptAttempt);
        Assert.Equal((float)values[kept - 1], ctx.Param("fc.weight").Span[0]);
        Assert.Equal((kept - 1) / 10.0, ctx.Plans["fc.weight"].TargetSparsity, 9);
        Assert.NotNull(ctx.Masks.Get("fc.weight"));
        Assert.Equal(values.Length, ctx.Attempts.Count);
        Assert.Equal(values.Select(v => v <= 0.3), ctx.Attempts.Select(a => a.Passed));
        Assert.All(ctx.Attempts, a => Assert.Equal(values[a.Attempt - 1], a.LossPp, 4));
    }
}
