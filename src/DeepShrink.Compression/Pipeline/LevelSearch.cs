namespace DeepShrink.Compression.Pipeline;

/// <summary>
/// The two-sided search of the automatic pruning level over <em>full</em> attempts (<c>search: two-sided</c>): every
/// attempt retrains the whole schedule at one level and is judged by its own validation loss (drop plus margin)
/// against the budget, so a retrained model that recovers more than a short probe predicts is found. The level
/// coordinate is the predicted file size (<see cref="SizeModel"/>), a monotone function of the equal-error level.
/// </summary>
/// <remarks>
/// State: the sparsest passing level L (the dense model, loss 0, until an attempt passes) and the densest failing
/// level H above it. Without H the next level is the one predicted <see cref="Growth"/> times smaller than L; with
/// both, the size where the loss interpolated linearly in log size between L and H meets the budget, kept within
/// the middle half of the interval (so the bracket shrinks at least by a quarter of its log width per attempt,
/// whatever the noise). The search ends when the bracket is narrower than <see cref="Resolution"/> in size, or
/// when L is the sparsest level. The runner keeps the model of the sparsest passing attempt: the search never
/// returns an attempt over the budget when one within it was measured.
/// </remarks>
public sealed class LevelSearch
{
    private readonly Func<double, double> _bytesAt;
    private readonly List<(double Level, double Bytes, double LossPp)> _attempts = new();

    /// <param name="bytesAt">Predicted file bytes at a level, non-increasing in the level.</param>
    /// <param name="maxLevel">The sparsest level (every layer at its sparsest grid point).</param>
    /// <param name="budgetPp">An attempt passes when its loss (validation drop plus margin) is at most this.</param>
    /// <param name="growth">Size factor of a step sparser from a passing level while no failing level is known.</param>
    /// <param name="resolution">The search stops when the failing level's size is within this fraction of the passing one's.</param>
    public LevelSearch(Func<double, double> bytesAt, double maxLevel, double budgetPp, double growth = 1.5, double resolution = 0.05)
    {
        if (growth <= 1) throw new ArgumentOutOfRangeException(nameof(growth), "growth must be > 1");
        if (resolution <= 0) throw new ArgumentOutOfRangeException(nameof(resolution), "resolution must be > 0");
        _bytesAt = bytesAt;
        MaxLevel = maxLevel;
        BudgetPp = budgetPp;
        Growth = growth;
        Resolution = resolution;
    }

    /// <summary>The sparsest level.</summary>
    public double MaxLevel { get; }
    /// <summary>The accuracy budget (percentage points).</summary>
    public double BudgetPp { get; }
    /// <summary>Size factor of a step sparser while nothing has failed.</summary>
    public double Growth { get; }
    /// <summary>Relative size width at which the bracket is narrow enough.</summary>
    public double Resolution { get; }

    /// <summary>Every recorded attempt: level, predicted bytes, loss.</summary>
    public IReadOnlyList<(double Level, double Bytes, double LossPp)> Attempts => _attempts;

    /// <summary>True when <paramref name="lossPp"/> is within the budget.</summary>
    public bool Passes(double lossPp) => lossPp <= BudgetPp;

    /// <summary>The sparsest passing attempt's level, or null when none passed.</summary>
    public double? Passing => _attempts.Where(a => Passes(a.LossPp)).Select(a => (double?)a.Level).Max();

    /// <summary>The densest failing attempt's level above <see cref="Passing"/>, or null.</summary>
    public double? Failing
    {
        get
        {
            double lo = Passing ?? 0;
            return _attempts.Where(a => !Passes(a.LossPp) && a.Level > lo).Select(a => (double?)a.Level).Min();
        }
    }

    /// <summary>Predicted bytes at a level.</summary>
    public double BytesAt(double level) => _bytesAt(level);

    /// <summary>Records a full attempt at <paramref name="level"/> that lost <paramref name="lossPp"/>.</summary>
    public void Record(double level, double lossPp) => _attempts.Add((level, _bytesAt(level), lossPp));

    /// <summary>The next level to attempt, or null when the search is done.</summary>
    public double? Next()
    {
        if (Passing is null && _attempts.Any(a => a.Level <= 0)) return null; // the unpruned model itself misses: nothing to search
        double lo = Passing ?? 0;
        double loBytes = _bytesAt(lo);
        double loLoss = Passing is null ? 0 : _attempts.Where(a => a.Level == lo && Passes(a.LossPp)).Min(a => a.LossPp);
        double? next;
        if (Failing is not double hi)
        {
            if (lo >= MaxLevel) return null;
            next = LevelForBytes(loBytes / Growth);
        }
        else
        {
            double hiBytes = _bytesAt(hi);
            if (loBytes <= hiBytes * (1 + Resolution)) return null;
            double hiLoss = _attempts.Where(a => a.Level == hi).Min(a => a.LossPp);
            double t = hiLoss > loLoss ? (BudgetPp - loLoss) / (hiLoss - loLoss) : 0.5;
            t = Math.Clamp(t, 0.25, 0.75);
            next = LevelForBytes(Math.Exp(Math.Log(loBytes) + t * (Math.Log(hiBytes) - Math.Log(loBytes))));
            if (next >= hi) return null;
        }
        return next is double n && n > lo && !_attempts.Any(a => a.Level == n) ? n : null;
    }

    /// <summary>The smallest level whose predicted size is at most <paramref name="bytes"/> (<see cref="MaxLevel"/> when none is).</summary>
    public double LevelForBytes(double bytes)
    {
        if (_bytesAt(MaxLevel) > bytes) return MaxLevel;
        double lo = 0, hi = MaxLevel; // bytes(lo) > target (or lo = 0), bytes(hi) <= target
        if (_bytesAt(0) <= bytes) return 0;
        for (int i = 0; i < 200 && hi - lo > 1e-12 * MaxLevel; i++)
        {
            double mid = lo > 0 ? Math.Sqrt(lo * hi) : hi / 1024;
            if (_bytesAt(mid) <= bytes) hi = mid; else lo = mid;
            if (lo > 0 && hi / lo < 1 + 1e-9) break;
        }
        return hi;
    }
}
