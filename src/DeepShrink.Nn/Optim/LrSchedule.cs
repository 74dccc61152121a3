namespace DeepShrink.Nn.Optim;

/// <summary>A learning-rate multiplier as a function of (fractional) epoch progress.</summary>
public abstract class LrSchedule
{
    /// <summary>Multiplier of the base learning rate at <paramref name="epoch"/> (e.g. 2.5 = half-way through the third epoch).</summary>
    public abstract float Factor(double epoch);

    /// <summary>Constant 1.</summary>
    public static LrSchedule Constant { get; } = new ConstantLr();

    private sealed class ConstantLr : LrSchedule { public override float Factor(double epoch) => 1f; }
}

/// <summary>Multiplies by <see cref="Gamma"/> every <see cref="StepSize"/> epochs.</summary>
public sealed class StepLr(int stepSize, float gamma = 0.1f) : LrSchedule
{
    /// <summary>Epochs between decays.</summary>
    public int StepSize { get; } = stepSize > 0 ? stepSize : throw new ArgumentOutOfRangeException(nameof(stepSize));
    /// <summary>Decay factor.</summary>
    public float Gamma { get; } = gamma;
    /// <inheritdoc/>
    public override float Factor(double epoch) => MathF.Pow(Gamma, (int)Math.Floor(epoch / StepSize));
}

/// <summary>Cosine annealing from 1 to <see cref="MinFactor"/> over <see cref="TotalEpochs"/> (Loshchilov and Hutter, 2017).</summary>
public sealed class CosineLr(double totalEpochs, float minFactor = 0f) : LrSchedule
{
    /// <summary>Length of the schedule.</summary>
    public double TotalEpochs { get; } = totalEpochs > 0 ? totalEpochs : throw new ArgumentOutOfRangeException(nameof(totalEpochs));
    /// <summary>Final multiplier.</summary>
    public float MinFactor { get; } = minFactor;
    /// <inheritdoc/>
    public override float Factor(double epoch)
    {
        double t = Math.Clamp(epoch / TotalEpochs, 0, 1);
        return (float)(MinFactor + (1 - MinFactor) * 0.5 * (1 + Math.Cos(Math.PI * t)));
    }
}

/// <summary>Linear warm-up from ~0 to the inner schedule over <see cref="WarmupEpochs"/>.</summary>
public sealed class WarmupLr(double warmupEpochs, LrSchedule inner) : LrSchedule
{
    /// <summary>Warm-up length in epochs.</summary>
    public double WarmupEpochs { get; } = warmupEpochs >= 0 ? warmupEpochs : throw new ArgumentOutOfRangeException(nameof(warmupEpochs));
    /// <summary>Schedule after (and scaled during) warm-up.</summary>
    public LrSchedule Inner { get; } = inner;
    /// <inheritdoc/>
    public override float Factor(double epoch)
        => epoch < WarmupEpochs ? (float)((epoch + 1e-3) / WarmupEpochs) * Inner.Factor(epoch) : Inner.Factor(epoch);
}
