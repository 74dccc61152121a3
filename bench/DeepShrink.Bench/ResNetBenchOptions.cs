namespace DeepShrink.Bench;

/// <summary>Settings of <see cref="ResNetBenchmarks.Run"/>.</summary>
public sealed record ResNetBenchOptions
{
    /// <summary>Threads for both engines (ours and ONNX Runtime's intra-op pool).</summary>
    public int Threads { get; init; } = 2;
    /// <summary>Image sizes measured; the first one gives the unprefixed keys, the others <c>s{size}_</c> keys.</summary>
    public int[] ImageSizes { get; init; } = [224, 64];
    /// <summary>Batch of the throughput measurement.</summary>
    public int Batch { get; init; } = 8;
    /// <summary>Measuring time per engine and measurement (seconds, split into interleaved rounds).</summary>
    public double SecondsPerMeasurement { get; init; } = 2.0;
    /// <summary>Interleaved rounds per measurement (each engine once or a few calls per round).</summary>
    public int Rounds { get; init; } = 15;
    /// <summary>Seed of the weights and inputs.</summary>
    public ulong Seed { get; init; } = 18;
    /// <summary>Also time every runtime step at batch 1 (keys <c>step_{name}_us</c> of the first size).</summary>
    public bool Profile { get; init; }
    /// <summary>Also time every distinct conv shape of the first size alone: packed conv vs im2col + SGEMM (keys <c>conv_*</c>).</summary>
    public bool Layers { get; init; }
    /// <summary>Progress lines (null: silent).</summary>
    public TextWriter? Log { get; init; }

    /// <summary>Throws for out-of-range settings.</summary>
    public void Validate()
    {
        if (Threads < 1) throw new ArgumentOutOfRangeException(nameof(Threads), $"threads must be >= 1, got {Threads}");
        if (ImageSizes is null || ImageSizes.Length == 0 || ImageSizes.Any(s => s < 32 || s > 1024))
            throw new ArgumentOutOfRangeException(nameof(ImageSizes), "image sizes must be 32..1024");
        if (Batch < 2 || Batch > 256) throw new ArgumentOutOfRangeException(nameof(Batch), $"batch must be 2..256, got {Batch}");
        if (Rounds < 1 || Rounds > 1000) throw new ArgumentOutOfRangeException(nameof(Rounds), $"rounds must be 1..1000, got {Rounds}");
        if (!(SecondsPerMeasurement > 0)) throw new ArgumentOutOfRangeException(nameof(SecondsPerMeasurement), "must be > 0");
    }
}
