namespace DeepShrink.Bench;

/// <summary>Inputs and settings of <see cref="ModelBenchmarks.Run"/>.</summary>
public sealed record ModelBenchOptions
{
    /// <summary>Dense LeNet-300-100 checkpoint (.safetensors).</summary>
    public required string Lenet300Dense { get; init; }
    /// <summary>Deep-Compression LeNet-300-100 (.dsz).</summary>
    public required string Lenet300Compressed { get; init; }
    /// <summary>Dense LeNet-5 checkpoint (.safetensors); null skips LeNet-5.</summary>
    public string? Lenet5Dense { get; init; }
    /// <summary>Deep-Compression LeNet-5 (.dsz); null skips LeNet-5.</summary>
    public string? Lenet5Compressed { get; init; }
    /// <summary>Threads for every engine (ours and ONNX Runtime's intra-op pool); 0 = <see cref="Core.Parallelism.Degree"/>.</summary>
    public int Threads { get; init; }
    /// <summary>Measuring time per engine and measurement (seconds, split into interleaved rounds).</summary>
    public double SecondsPerMeasurement { get; init; } = 1.0;
    /// <summary>Batch of the throughput measurement.</summary>
    public int ThroughputBatch { get; init; } = 64;
    /// <summary>Also measure training throughput (images/s at batch 64).</summary>
    public bool Training { get; init; } = true;
    /// <summary>Training steps timed per model.</summary>
    public int TrainingSteps { get; init; } = 30;
    /// <summary>Directory for the ONNX exports (default: a temporary directory, deleted afterwards).</summary>
    public string? WorkDirectory { get; init; }
    /// <summary>Progress lines (null: silent).</summary>
    public TextWriter? Log { get; init; }

    /// <summary>Throws for missing files or out-of-range settings.</summary>
    public void Validate()
    {
        foreach (var (name, path) in new[] { ("lenet-300-100 dense", Lenet300Dense), ("lenet-300-100 compressed", Lenet300Compressed), ("lenet-5 dense", Lenet5Dense), ("lenet-5 compressed", Lenet5Compressed) })
            if (path is not null && !File.Exists(path)) throw new FileNotFoundException($"{name} model not found: {path}", path);
        if ((Lenet5Dense is null) != (Lenet5Compressed is null)) throw new ArgumentException("give both LeNet-5 files or neither");
        if (Threads < 0) throw new ArgumentOutOfRangeException(nameof(Threads), "threads must be >= 0");
        if (!(SecondsPerMeasurement > 0)) throw new ArgumentOutOfRangeException(nameof(SecondsPerMeasurement), "must be > 0");
        if (ThroughputBatch < 2) throw new ArgumentOutOfRangeException(nameof(ThroughputBatch), "must be >= 2");
        if (TrainingSteps < 1) throw new ArgumentOutOfRangeException(nameof(TrainingSteps), "must be >= 1");
    }
}
