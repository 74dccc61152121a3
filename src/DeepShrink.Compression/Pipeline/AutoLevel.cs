using DeepShrink.Compression.Pruning;
using DeepShrink.Compression.Recipes;
using DeepShrink.Nn.Training;

namespace DeepShrink.Compression.Pipeline;

/// <summary>
/// The automatic pruning level (<c>sparsity: auto</c>): among the equal-error allocations of
/// <see cref="GlobalAllocation"/> (the candidate levels are the relative layer errors of the curves' grid points),
/// the sparsest whose <em>probe</em> - every layer at its one-shot OBS snapshot, then one epoch of retraining
/// with the pruning masks fixed, with the recipe's optimiser and loss - keeps its validation drop within a tolerance.
/// The tolerance starts at the accuracy budget. When the fully retrained attempt still misses the budget, the
/// probe under-estimated that attempt's loss by gap = (attempt drop + margin) - (probe drop): the next attempt takes the
/// sparsest strictly denser level whose probe is within budget - gap.
/// </summary>
/// <remarks>
/// Retraining recovers much of a one-shot loss, and how much differs between models (LeNet-5 recovers a 2 pp one-shot
/// loss, LeNet-300-100 does not): a short retraining measures that recovery on the model itself instead of scaling the
/// one-shot loss by a constant. The back-off is self-calibrating: it subtracts the measured shortfall of the probe as a
/// predictor, in percentage points, with no step factor. The level search is a bisection over the sorted candidates,
/// assuming that the probe drop grows with the level (it is measured, so noise can break this; the runner's budget
/// check on the retrained model is what decides).
/// </remarks>
public sealed class AutoLevel
{
    private readonly IReadOnlyList<LayerErrorCurve> _curves;
    private readonly Dictionary<int, double> _probes = new();
    private int _upper;

    /// <summary>A search over the levels of <paramref name="curves"/> with the accuracy budget as first tolerance.</summary>
    /// <param name="curves">The layers' error curves (with one-shot snapshots for the probes).</param>
    /// <param name="budgetPp">The accuracy budget.</param>
    /// <param name="bytesAt">
    /// Predicted file bytes of a level's allocation: when given, the attempts after the first follow the two-sided
    /// <see cref="LevelSearch"/> (sparser after a pass, denser after a miss); when null, the probe back-off only.
    /// </param>
    public AutoLevel(IReadOnlyList<LayerErrorCurve> curves, double budgetPp, Func<double, double>? bytesAt = null)
    {
        _curves = curves;
        Candidates = curves.SelectMany(c => c.RelativeError).Where(e => e > 0).Distinct().Order().ToList();
        _upper = Candidates.Count;
        TolerancePp = BudgetPp = budgetPp;
        if (bytesAt is not null)
            Search = new LevelSearch(bytesAt, curves.Count == 0 ? 0 : curves.Max(c => c.RelativeError[^1]), budgetPp);
    }

    /// <summary>The two-sided search over full attempts, or null (probe back-off only).</summary>
    public LevelSearch? Search { get; }

    /// <summary>The level of the current attempt: the probe's choice for the first, then the search's.</summary>
    public double AttemptLevel { get; private set; }

    /// <summary>Per-parameter sparsities of the current attempt's level (interpolated between grid points after the first attempt).</summary>
    public Dictionary<string, double> AttemptAllocation { get; private set; } = new();

    /// <summary>
    /// After an attempt that lost <paramref name="observedPp"/> (validation drop plus margin): with the two-sided search,
    /// records it and schedules the next level (true), or ends the search (false); without it, backs off after a miss
    /// (<see cref="BackOff"/>) and ends after a pass.
    /// </summary>
    public bool Advance(double observedPp, Action<string>? log = null)
    {
        if (Search is null) return observedPp > BudgetPp && BackOff(observedPp, log);
        Search.Record(AttemptLevel, observedPp);
        double? next = Search.Next();
        string lo = Search.Passing is double p ? $"{Search.BytesAt(p):N0} B passes" : "nothing passed yet";
        string hi = Search.Failing is double f ? $"{Search.BytesAt(f):N0} B fails" : "nothing failed above it";
        if (next is not double n)
        {
            log?.Invoke($"level search: done ({lo}, {hi})");
            return false;
        }
        AttemptLevel = n;
        AttemptAllocation = GlobalAllocation.At(_curves, n);
        Pending = true;
        log?.Invoke($"level search: {lo}, {hi}; next attempt at relative layer error {n:G3} -> " +
                    string.Join(", ", AttemptAllocation.Select(kv => $"{kv.Key} {kv.Value:P1}")) + $", predicted {Search.BytesAt(n):N0} B, retrained from the original weights");
        return true;
    }

    /// <summary>Marks the scheduled level as applied (the attempt's first pruning step took it).</summary>
    public void Applied() => Pending = false;

    /// <summary>The accuracy budget (percentage points).</summary>
    public double BudgetPp { get; }

    /// <summary>Epochs of retraining in a probe.</summary>
    public const int ProbeEpochs = 1;

    /// <summary>The layers' error curves (with their one-shot snapshots).</summary>
    public IReadOnlyList<LayerErrorCurve> Curves => _curves;

    /// <summary>Candidate levels (relative layer errors), ascending.</summary>
    public IReadOnlyList<double> Candidates { get; }

    /// <summary>The probe drop a level must stay within (percentage points).</summary>
    public double TolerancePp { get; private set; }

    /// <summary>Index of the chosen level in <see cref="Candidates"/>; -1: no level passed (the dense model).</summary>
    public int Chosen { get; private set; } = -1;

    /// <summary>The chosen level (relative layer error), 0 when <see cref="Chosen"/> is -1.</summary>
    public double Level => Chosen >= 0 ? Candidates[Chosen] : 0;

    /// <summary>True when a level must be (re)chosen before pruning: initially and after <see cref="BackOff"/>.</summary>
    public bool Pending { get; private set; } = true;

    /// <summary>Measured probe drops by candidate index.</summary>
    public IReadOnlyDictionary<int, double> Probes => _probes;

    /// <summary>
    /// Chooses the sparsest level below the current upper bound whose probe drop (<paramref name="probeDropPp"/>, given the
    /// level, cached per level) is within <see cref="TolerancePp"/>, by bisection; returns the per-parameter sparsities.
    /// </summary>
    public Dictionary<string, double> Choose(Func<double, double> probeDropPp, Action<string>? log = null)
    {
        int lo = -1, hi = _upper; // lo passes (or is the dense model), hi fails (or is past the end)
        while (hi - lo > 1)
        {
            int mid = (lo + hi) / 2;
            if (!_probes.TryGetValue(mid, out double drop)) _probes[mid] = drop = probeDropPp(Candidates[mid]);
            log?.Invoke($"auto level: error {Candidates[mid]:G3} -> " + string.Join(", ", _curves.Select(c => $"{c.Parameter} {c.SparsityAt(Candidates[mid], true):P0}")) +
                        $": probe drop {drop:F2} pp ({(drop <= TolerancePp ? "within" : "over")} {TolerancePp:F2} pp)");
            if (drop <= TolerancePp) lo = mid; else hi = mid;
        }
        Chosen = lo;
        Pending = false;
        log?.Invoke($"auto level: relative layer error {Level:G3} (probe tolerance {TolerancePp:F2} pp)");
        AttemptLevel = Level;
        // With the two-sided search every attempt, the first included, is the level's interpolated allocation, so that
        // the sizes the search compares are the attempts' own (the probes ran at the grid points just below).
        return AttemptAllocation = GlobalAllocation.At(_curves, Level, gridOnly: Search is null);
    }

    /// <summary>
    /// After an attempt at the chosen level lost <paramref name="observedPp"/> (validation drop plus margin) against a
    /// budget it missed: the tolerance becomes the budget less the probe's shortfall at that level, and the next choice is
    /// restricted to denser levels.
    /// False when the chosen level was already the dense model (nothing to back off).
    /// </summary>
    public bool BackOff(double observedPp, Action<string>? log = null)
    {
        if (Chosen < 0) return false;
        double probe = _probes.TryGetValue(Chosen, out var p) ? p : 0;
        double gap = Math.Max(0, observedPp - probe);
        TolerancePp = BudgetPp - gap; // the latest attempt's measured gap, not a sum over attempts
        _upper = Chosen;
        Pending = true;
        log?.Invoke($"over budget: the attempt lost {observedPp:F2} pp where its probe lost {probe:F2} pp; " +
                    $"next level: the sparsest denser one with a probe drop within {TolerancePp:F2} pp, retrained from the original weights");
        return true;
    }

    /// <summary>
    /// The probe of <paramref name="level"/> on <paramref name="ctx"/>'s model: every curve's parameter at its one-shot
    /// snapshot, <see cref="ProbeEpochs"/> epochs of retraining with the masks fixed (<paramref name="training"/>'s
    /// optimiser, the context's loss), then the validation drop in percentage points. The model's state is restored.
    /// </summary>
    public static double ProbeDropPp(CompressionContext ctx, IReadOnlyList<LayerErrorCurve> curves, double level, TrainingSettings training)
    {
        var state = ctx.Model.StateDict().ToDictionary(kv => kv.Key, kv => kv.Value.Clone());
        try
        {
            var masks = new MaskSet();
            foreach (var c in curves)
            {
                var snap = c.Snapshots?[c.GridIndexAt(level)] ?? throw new InvalidOperationException($"no one-shot snapshots for {c.Parameter}");
                snap.CopyTo(ctx.Param(c.Parameter).Span);
                masks.Set(c.Parameter, snap.Select(v => v != 0f ? 1f : 0f).ToArray());
            }
            var opt = RecipeRunner.MakeOptimizer(ctx, training);
            var trainer = new Trainer { Schedule = new SegmentCosineLr([0], ProbeEpochs), Loss = (logits, x, y) => ctx.Loss(logits, x, y) };
            trainer.Callbacks.Add(new PruningCallback(masks));
            trainer.Fit(ctx.Model, opt, ctx.TrainBatches, ProbeEpochs, ctx.BatchesPerEpoch);
            return (ctx.BaselineValidationAccuracy - ctx.ValidationAccuracy()) * 100;
        }
        finally
        {
            ctx.Model.LoadStateDict(state);
        }
    }
}
