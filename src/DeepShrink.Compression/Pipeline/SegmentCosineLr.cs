using DeepShrink.Nn.Optim;

namespace DeepShrink.Compression.Pipeline;

/// <summary>
/// Cosine decay restarted at every recipe event (each prune step, clustering): retraining after
/// each change starts at the full rate and anneals to <see cref="MinFactor"/> before the next one.
/// </summary>
public sealed class SegmentCosineLr(IEnumerable<int> boundaries, int totalEpochs, float minFactor = 0.05f) : LrSchedule
{
    private readonly int[] _bounds = boundaries.Append(0).Append(totalEpochs).Distinct().Order().ToArray();

    /// <summary>Final multiplier of each segment.</summary>
    public float MinFactor { get; } = minFactor;

    /// <inheritdoc/>
    public override float Factor(double epoch)
    {
        int i = Array.FindLastIndex(_bounds, b => b <= epoch);
        if (i < 0 || i >= _bounds.Length - 1) return MinFactor;
        double len = _bounds[i + 1] - _bounds[i];
        double t = (epoch - _bounds[i]) / len;
        return (float)(MinFactor + (1 - MinFactor) * 0.5 * (1 + Math.Cos(Math.PI * t)));
    }
}
